"""The words of dates and times in both languages, and the regex pieces built from them.

Everything is matched on folded text: lower case, accents removed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_EN_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_ES_WEEKDAYS = ["lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo"]
# No "sat"/"sun": they are too often plain words.
_EN_WEEKDAY_SHORT = {"mon": 0, "tue": 1, "tues": 1, "wed": 2, "thu": 3, "thur": 3, "thurs": 3,
                     "fri": 4}
_WEEKDAY_WORDS: dict[str, int] = dict(_EN_WEEKDAY_SHORT)
for _index, _word in enumerate(_EN_WEEKDAYS):
    _WEEKDAY_WORDS[_word] = _WEEKDAY_WORDS[_word + "s"] = _index
for _index, _word in enumerate(_ES_WEEKDAYS):
    _WEEKDAY_WORDS[_word] = _WEEKDAY_WORDS[_word if _word.endswith("s") else _word + "s"] = _index
_RRULE_DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]

_MONTH_WORDS: dict[str, tuple[int, str]] = {}
for _index, (_english, _spanish) in enumerate(
    [
        ("january jan", "enero ene"),
        ("february feb", "febrero feb"),
        ("march mar", "marzo mar"),
        ("april apr", "abril abr"),
        ("may", "mayo may"),
        ("june jun", "junio jun"),
        ("july jul", "julio jul"),
        ("august aug", "agosto ago"),
        ("september sept sep", "septiembre setiembre sept sep"),
        ("october oct", "octubre oct"),
        ("november nov", "noviembre nov"),
        ("december dec", "diciembre dic"),
    ],
    start=1,
):
    for _word in _spanish.split():
        _MONTH_WORDS[_word] = (_index, "es")
    for _word in _english.split():
        _MONTH_WORDS[_word] = (_index, "en")  # a shared abbreviation counts as English

_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50,
    "un": 1, "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
    "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "quince": 15,
    "veinte": 20, "treinta": 30, "cuarenta": 40, "cincuenta": 50,
}  # fmt: skip
_FUZZY_NUMBERS = {"a": 1, "an": 1, "a couple of": 2, "un par de": 2, "other": 2,
                  "half an": 0.5, "half a": 0.5, "media": 0.5}

_UNITS = {
    "minute": "minutes", "minutes": "minutes", "min": "minutes", "mins": "minutes",
    "minuto": "minutes", "minutos": "minutes",
    "second": "seconds", "seconds": "seconds", "sec": "seconds", "secs": "seconds",
    "segundo": "seconds", "segundos": "seconds",
    "hour": "hours", "hours": "hours", "hr": "hours", "hrs": "hours", "h": "hours",
    "hora": "hours", "horas": "hours",
    "day": "days", "days": "days", "dia": "days", "dias": "days",
    "week": "weeks", "weeks": "weeks", "semana": "weeks", "semanas": "weeks",
    "month": "months", "months": "months", "mes": "months", "meses": "months",
    "year": "years", "years": "years", "ano": "years", "anos": "years",
}  # fmt: skip
_FREQUENCIES = {"minutes": "MINUTELY", "hours": "HOURLY", "days": "DAILY", "weeks": "WEEKLY",
                "months": "MONTHLY", "years": "YEARLY"}
_ADVERBS = {"daily": "DAILY", "diariamente": "DAILY", "a diario": "DAILY", "hourly": "HOURLY",
            "weekly": "WEEKLY", "semanalmente": "WEEKLY", "monthly": "MONTHLY",
            "mensualmente": "MONTHLY", "yearly": "YEARLY", "annually": "YEARLY",
            "anualmente": "YEARLY"}

_PARTS = {
    "morning": "morning", "afternoon": "afternoon", "evening": "evening", "night": "night",
    "manana": "morning", "mananas": "morning", "tarde": "afternoon", "tardes": "afternoon",
    "noche": "night", "noches": "night", "madrugada": "early",
}  # fmt: skip

_ORDINALS = {
    "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
    "last": -1, "primer": 1, "primero": 1, "segundo": 2, "tercer": 3, "tercero": 3,
    "cuarto": 4, "ultimo": -1,
}  # fmt: skip

# Function words that tell the languages apart in what is left as the title.
_STOP_WORDS = {
    "en": set("the an to and of for with my our your at on in is it this that".split()),
    "es": set("el la los las de del y con para un una al mi mis su que en es por lo".split()),
}

# Words left dangling at the edges of the title once the time words are gone.
_TRAILING = set(
    "on at in by for from the this next and to of around every each starting until "
    "el la los las a al de del en para por y e este esta sobre hacia desde cada todos todas "
    "que hasta".split()
)
_LEADING = set("on at in by to for and that about then para por en y que de luego".split())


def _alt(words: Iterable[str]) -> str:
    # Longest first, so that "mondays" is not cut short at "monday".
    return "|".join(re.escape(word) for word in sorted(set(words), key=len, reverse=True))


_WD = rf"(?:{_alt(_WEEKDAY_WORDS)})\b"
_WD_EN = rf"(?:{_alt(_EN_WEEKDAYS + list(_EN_WEEKDAY_SHORT))})\b"
_WD_EN_PLURAL = rf"(?:{_alt(day + 's' for day in _EN_WEEKDAYS)})\b"
_WD_ES = rf"(?:{_alt(_ES_WEEKDAYS)})\b"
_AND = r"\s*(?:,|&|\band\b|\by\b|\be\b)\s*"
_WD_LIST = rf"{_WD}(?:{_AND}(?:(?:every|each|cada|los|el|on)\s+)?{_WD})*"
_MONTH = rf"(?:{_alt(_MONTH_WORDS)})\b\.?"
_NUM = rf"(?:\d{{1,3}}(?:[.,]5)?|{_alt([*_NUMBER_WORDS, *_FUZZY_NUMBERS])})"
_HOUR = rf"(?:\d{{1,2}}|{_alt(word for word, number in _NUMBER_WORDS.items() if number <= 12)})"
_UNIT_EN = r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|h|days?|weeks?|months?|years?)\b"
_UNIT_ES = r"(?:segundos?|minutos?|mins?|horas?|h|dias?|semanas?|mes|meses|anos?)\b"
_AMPM = r"(?P<mer>[ap])\.?\s?m\b\.?"
_START = r"(?<![\w/:.-])"  # not in the middle of a word, a number or a date
