"""Natural-language dates and times for the agenda, in Spanish and English.

`parse_event("send the report tomorrow at 10am", now, "Europe/Madrid")` splits a phrase into
the event title (`send the report`) and a `When`: the first start, timezone-aware in the
user's zone, and an RFC 5545 RRULE for repeating events. A reminder at the wrong time is worse
than a question, so whatever could reasonably mean two things raises `Unclear`, whose
`question()` is what to ask the user.

How phrases are read:

* Hours. `5am`, `5pm`, `5 de la mañana`, `5 de la tarde`, `17:00`, `05:00`, `5h`, `17h` and
  `a las 17 horas` are exact. A bare hour from 1 to 6 (`at 5`, `a las 5`, `5:30`, `a las 5 y
  media`) is ambiguous — 05:00 and 17:00 are both plausible — unless the phrase names the part
  of the day (`tonight`, `this afternoon`, `esta tarde`, `por la mañana`); only a zero-padded
  hour (`05:30`) or an `h` counts as the 24-hour clock. From 7 to 12 the hour is taken as
  written (`at 8` is 08:00, `a las 12` is noon) and from 13 to 23 as the 24-hour clock.
  `noon`/`mediodía` is 12:00; `midnight`/`medianoche` alone or with `today`/`tonight` is the
  00:00 that ends today, while midnight of a named day (`friday at midnight`) is ambiguous
  (the start or the end of Friday).
* A date without a time gets `DEFAULT_HOUR`:00 and `time_given=False` (the echo says so); a
  part of the day without a time gets its own hour (`PART_HOURS`: morning 09:00, afternoon
  15:00, evening 19:00, night 20:00), which the echo shows as it is.
* Weekdays. `monday`/`el lunes`/`on monday` is the next Monday after today (said on a Monday it
  is the one a week later; today would be `today`/`hoy`); `this monday`/`este lunes` is today
  or the coming one; `el próximo lunes`/`el lunes que viene` is the coming one, while English
  `next friday` said earlier in the same week is ambiguous (this week's Friday or the next
  week's) unless a date settles it; `friday next week`/`el viernes de la semana que viene` is
  the Friday of next week. A weekday next to a date must agree with it (`mañana viernes`).
  `next week`, `next month`, `this weekend` with no day are ambiguous.
* Dates. Month names are read by `dateparser` (`3 de diciembre`, `december 3rd`, `March 3,
  2027`) and ISO dates (`2026-12-03`) directly. Numeric dates (`3/4`) are ambiguous unless a
  number above 12 (`25/12`, `12/25`) or two equal numbers settle the order. A date without a
  year is the next one from today; one that fell within the last month is refused as past
  rather than moved to next year. `the 15th`/`el día 15` is the next 15th.
* A bare time or part of the day is the next one (`at 8` said at 09:00 is tomorrow 08:00);
  anything else in the past (`yesterday`, `today at 8` said at 09:00, `tonight` said at 23:00)
  is refused, and so is anything more than `MAX_YEARS_AHEAD` years ahead.
* `in 2 hours`/`dentro de 2 horas` count elapsed time; `in 3 days`/`en 3 días` count calendar
  days and keep the current clock time unless a time is given.
* Repeating events (`every monday`, `todos los lunes`, `de lunes a viernes`, `every 2 weeks on
  friday`, `cada mes el día 1`, `every year on march 3`, `el primer lunes de cada mes`) start
  at their first occurrence after now, or after the date given with `starting`/`from`/`a
  partir de`; `until`/`hasta <date>` ends them (an UNTIL in UTC at the end of that local day).
  `every week`/`every month`/`every year` need the day, and a date that is not one of the
  occurrences (`la reunión de los lunes mañana`) is ambiguous. Nothing repeats more often than
  every `MIN_REPEAT` (5 minutes): `every minute` or `every 10 seconds` is refused (`too_often`),
  and `check_rule` applies the same floor to rules from imported calendars.
* Daylight saving. Repeating events keep their wall-clock time: occurrences are computed on
  naive local datetimes, then placed in the zone. A wall time that does not exist (the
  spring-forward gap) moves forward by the gap; a repeated one (fall-back) is the first one.
  When the first occurrence itself falls in a gap, the rule gets BYHOUR/BYMINUTE so that the
  next ones keep the time asked for.
* Language. Both languages are always tried; the words that matched and the function words
  left in the title decide, and the caller's hint only breaks a tie. `Unclear.lang` carries
  the language found, for the question.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from itertools import islice, pairwise
from typing import Any
from zoneinfo import ZoneInfo

import dateparser  # type: ignore[import-untyped]
from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped]
from dateutil.rrule import rrulestr  # type: ignore[import-untyped]

DEFAULT_HOUR = 9
MAX_YEARS_AHEAD = 5
# A reminder is for a person: anything more frequent is a flood of messages (and makes every
# listing walk thousands of occurrences).
MIN_REPEAT = timedelta(minutes=5)
MIN_REPEAT_MINUTES = int(MIN_REPEAT.total_seconds() // 60)

REASONS = frozenset({"no_time", "past", "ambiguous_hour", "ambiguous_date", "no_title", "too_far",
                     "too_often"})

# Hours assumed for a part of the day named without a time ("tonight", "esta tarde").
PART_HOURS = {"morning": DEFAULT_HOUR, "afternoon": 15, "evening": 19, "night": 20}

# A date without a year that fell this recently is more likely a slip than a date next year.
_RECENTLY_PAST = timedelta(days=31)


@dataclass(frozen=True)
class When:
    """When an event starts and, if it repeats, how."""

    start: datetime  # timezone-aware, in the user's timezone (zoneinfo.ZoneInfo)
    rrule: str | None  # RFC 5545 RRULE value without DTSTART, e.g. "FREQ=WEEKLY;BYDAY=MO"
    time_given: bool  # False when the user gave a date but no time (DEFAULT_HOUR was assumed)


@dataclass(frozen=True)
class Parsed:
    """A phrase split into the event title and its time."""

    what: str  # the title with the time words removed; never empty
    when: When
    lang: str  # "en" or "es": the language the phrase was written in


class Unclear(ValueError):
    """The phrase cannot be turned into a date safely; `question()` says what to ask the user."""

    reason: str  # one of REASONS
    options: tuple[datetime, ...]  # naive local readings to offer, or the time found in the past
    lang: str  # the language the phrase seemed to be written in

    def __init__(
        self, reason: str, options: tuple[datetime, ...] = (), *, with_time: bool = True
    ) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        super().__init__(reason)
        self.reason = reason
        self.options = options
        self.lang = "en"
        self._with_time = with_time

    def question(self, lang: str) -> str:
        """What to ask the user, in `lang` ("en" or "es")."""
        es = lang == "es"
        shown = [self._show(option, lang) for option in self.options]
        if self.reason == "no_time":
            if es:
                return ("No encuentro ninguna fecha ni hora. Prueba: "
                        "`/agenda añade enviar el informe mañana a las 10`")
            return ("I could not find a date or time in that. Try: "
                    "`/agenda add send the report tomorrow at 10am`")
        if self.reason == "no_title":
            if es:
                return ("¿De qué te lo recuerdo? Pon el asunto y la fecha, por ejemplo: "
                        "`/agenda añade enviar el informe mañana a las 10`")
            return ("What should I remind you about? Give a title and the time, for example: "
                    "`/agenda add send the report tomorrow at 10am`")
        if self.reason == "past":
            found = f" ({shown[0]})" if shown else ""
            if es:
                return (f"Esa fecha ya ha pasado{found}. ¿Para cuándo? "
                        "Por ejemplo: `mañana a las 10`")
            return (f"That time has already passed{found}. When should it be? "
                    "For example: `tomorrow at 10am`")
        if self.reason == "too_often":
            if es:
                return (f"Como mucho puedo repetir un recordatorio cada {MIN_REPEAT_MINUTES} "
                        "minutos. Prueba por ejemplo `cada 15 minutos` o `cada hora`.")
            return (f"A reminder can repeat at most every {MIN_REPEAT_MINUTES} minutes. Try, "
                    "for example, `every 15 minutes` or `every hour`.")
        if self.reason == "too_far":
            if es:
                return (f"Eso es dentro de más de {MAX_YEARS_AHEAD} años. "
                        "Elige una fecha más cercana.")
            return (f"That is more than {MAX_YEARS_AHEAD} years ahead. "
                    "Please choose an earlier date.")
        if self.reason == "ambiguous_hour":
            if len(self.options) == 2:
                low, high = sorted(self.options, key=lambda option: option.hour)
                say = f"{low.hour}:{low.minute:02d}" if low.minute else str(low.hour)
                if es:
                    return (f"¿A las {low:%H:%M} o a las {high:%H:%M}? "
                            f"Di `{say} de la mañana` o `{say} de la tarde`.")
                return f"Did you mean {low:%H:%M} or {high:%H:%M}? Say `{say}am` or `{say}pm`."
            if es:
                return "¿A qué hora exactamente? Escribe una sola hora, por ejemplo `a las 17:00`."
            return "At what time exactly? Give one time, for example `at 17:00`."
        if len(shown) >= 2:  # ambiguous_date with readings to offer
            if es:
                return (f"¿{_capital(shown[0])} o {shown[1]}? Escribe la fecha con el nombre del "
                        "mes, por ejemplo `el 3 de diciembre`.")
            return (f"Did you mean {shown[0]} or {shown[1]}? Write the date with the month name, "
                    "for example `on 3 december`.")
        if es:
            return "¿Qué día exactamente? Por ejemplo: `el lunes`, `el 3 de diciembre`."
        return "Which day exactly? For example: `on monday`, `on 3 december`."

    def _show(self, option: datetime, lang: str) -> str:
        text = _format_day(option.date(), lang)
        if lang == "es":
            text = "el " + text
        return f"{text} {_format_clock(option, lang)}" if self._with_time else text


# ---------------------------------------------------------------------------------------------
# Vocabulary. Everything is matched on folded text: lower case, accents removed.

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


# ---------------------------------------------------------------------------------------------
# What the rules find in a phrase.


@dataclass
class _DateFact:
    month: int
    day: int
    year: int | None
    kind: str  # "today" (today, tonight), "day" (tomorrow, ISO), "calendar" (written date)
    swapped: tuple[int, int] | None = None  # the other (month, day) reading of "3/4"
    starting: bool = False  # "starting/a partir de ...": where a repeating event begins


@dataclass
class _TimeFact:
    hour: int
    minute: int = 0
    meridiem: str | None = None  # "a" or "p"
    exact: bool = False  # written in the 24-hour form
    part: str | None = None  # "de la tarde", "in the evening"... written next to it
    shift: int = 0  # minutes added once the hour is settled: "menos cuarto" is -15
    special: str | None = None  # "noon" or "midnight"


@dataclass
class _Repeat:
    freq: str
    interval: int = 1
    byday: tuple[str, ...] = ()
    bymonthday: int | None = None
    part: str | None = None


@dataclass
class _Facts:
    today: date
    dates: list[_DateFact] = field(default_factory=list)
    weekdays: list[tuple[int, str]] = field(default_factory=list)  # (weekday, how it was said)
    times: list[_TimeFact] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    offsets: list[relativedelta] = field(default_factory=list)  # in calendar days and more
    elapsed: list[timedelta] = field(default_factory=list)  # in minutes and hours
    repeats: list[_Repeat] = field(default_factory=list)
    monthdays: list[int] = field(default_factory=list)
    until: list[_DateFact] = field(default_factory=list)  # "until 31 december": the last day
    past: bool = False
    vague: bool = False  # "next week": a date, but not which day
    invalid_date: bool = False  # "31 november"
    too_often: bool = False  # "every minute", "every 10 seconds"
    votes: dict[str, int] = field(default_factory=lambda: {"en": 0, "es": 0})

    def found(self) -> bool:
        return bool(self.dates or self.weekdays or self.times or self.parts or self.offsets
                    or self.elapsed or self.repeats or self.monthdays)

    def add_date(self, day: date, kind: str, match: re.Match[str] | None = None) -> None:
        starting = bool(match and _STARTING.match(match[0]))
        self.dates.append(_DateFact(day.month, day.day, day.year, kind, starting=starting))

    def add_written_date(self, match: re.Match[str], fact: _DateFact) -> None:
        fact.starting = bool(_STARTING.match(match[0]))
        (self.until if match.groupdict().get("until") else self.dates).append(fact)


_STARTING = re.compile(r"(?:starting|from|a\s+partir\s+del?|desde)\b")


@dataclass(frozen=True)
class _Clock:
    hour: int
    minute: int
    given: bool  # said by the user, not assumed
    midnight: bool = False


# ---------------------------------------------------------------------------------------------
# The rules: (language, pattern, handler), tried in this order on the folded phrase. What a
# rule matches is consumed, so later rules never see it: recurrences go before weekdays,
# "a las 10 de la mañana" before "mañana" (tomorrow), and so on.

# A handler records what its match means; returning False leaves the words to the title.
_Handler = Callable[[re.Match[str], _Facts], bool | None]


def _number(text: str) -> float:
    text = re.sub(r"\s+", " ", text.strip())
    if text in _FUZZY_NUMBERS:
        return _FUZZY_NUMBERS[text]
    if text in _NUMBER_WORDS:
        return _NUMBER_WORDS[text]
    return float(text.replace(",", "."))


def _nothing(match: re.Match[str], facts: _Facts) -> None:
    """The words are only consumed ("remind me to")."""


def _iso(match: re.Match[str], facts: _Facts) -> None:
    year, month, day = int(match["y"]), int(match["mo"]), int(match["d"])
    facts.add_written_date(match, _DateFact(month, day, year, "day"))
    if match["h"]:
        facts.times.append(_TimeFact(int(match["h"]), int(match["mi"]), exact=True))


def _repeat_ordinal(match: re.Match[str], facts: _Facts) -> None:
    position = _ORDINALS[match["ord"]]
    weekday = _RRULE_DAYS[_WEEKDAY_WORDS[match["wd"]]]
    facts.repeats.append(_Repeat("MONTHLY", byday=(f"{position}{weekday}",)))


def _repeat_monthday(match: re.Match[str], facts: _Facts) -> None:
    day = int(match["d"])
    if not 1 <= day <= 31:
        facts.invalid_date = True
    facts.repeats.append(_Repeat("MONTHLY", bymonthday=day))


def _repeat_workdays(match: re.Match[str], facts: _Facts) -> None:
    facts.repeats.append(_Repeat("WEEKLY", byday=tuple(_RRULE_DAYS[:5])))


def _repeat_weekends(match: re.Match[str], facts: _Facts) -> None:
    facts.repeats.append(_Repeat("WEEKLY", byday=("SA", "SU")))


def _repeat_weekdays(match: re.Match[str], facts: _Facts) -> None:
    found = {_WEEKDAY_WORDS[word] for word in re.findall(_WD, match["list"])}
    part = match.groupdict().get("part")
    facts.repeats.append(
        _Repeat(
            "WEEKLY",
            interval=2 if match.groupdict().get("other") else 1,
            byday=tuple(_RRULE_DAYS[day] for day in sorted(found)),
            part=_PARTS[part] if part else None,
        )
    )


def _repeat_unit(match: re.Match[str], facts: _Facts) -> None:
    count = _number(match["n"]) if match["n"] else 1
    unit = _UNITS[match["u"]]
    if unit == "seconds" or (unit == "minutes" and count < MIN_REPEAT_MINUTES):
        facts.too_often = True  # "every 5 seconds", "every minute": a flood, not a reminder
        count, unit = 1, "days"
    elif count != int(count) or count < 1 or unit not in _FREQUENCIES:
        facts.invalid_date = True  # "every 1.5 days"
        count, unit = 1, "days"
    facts.repeats.append(_Repeat(_FREQUENCIES[unit], interval=int(count)))


def _repeat_part(match: re.Match[str], facts: _Facts) -> None:
    facts.repeats.append(_Repeat("DAILY", part=_PARTS[match["part"]]))


def _repeat_adverb(match: re.Match[str], facts: _Facts) -> bool:
    if facts.repeats:
        return False  # "weekly review every sunday": the adverb belongs to the title
    facts.repeats.append(_Repeat(_ADVERBS[re.sub(r"\s+", " ", match[0])]))
    return True


def _repeat_fortnight(match: re.Match[str], facts: _Facts) -> None:
    facts.repeats.append(_Repeat("WEEKLY", interval=2))


def _past(match: re.Match[str], facts: _Facts) -> None:
    facts.past = True


def _vague(match: re.Match[str], facts: _Facts) -> bool:
    if facts.found():
        return False  # "plan the weekend tomorrow": part of the title
    facts.vague = True
    return True


def _relative(match: re.Match[str], facts: _Facts) -> None:
    count = _number(match["n"])
    unit = _UNITS[match["u"]]
    groups = match.groupdict()
    if groups.get("half"):
        count += 0.5
    if groups.get("n2"):  # "in 1 hour and 30 minutes"
        if unit != "hours":
            facts.invalid_date = True
            return
        unit, count = "minutes", count * 60 + _number(groups["n2"])
    if unit in ("seconds", "minutes", "hours") or count != int(count):
        minutes = {"seconds": 1 / 60, "minutes": 1, "hours": 60, "days": 1440,
                   "weeks": 10080}.get(unit)
        if minutes is None:  # "in 1.5 months" has no exact meaning
            facts.invalid_date = True
            return
        facts.elapsed.append(timedelta(minutes=count * minutes))
    else:
        facts.offsets.append(relativedelta(**{unit: int(count)}))


def _hour_number(text: str) -> tuple[int, bool]:
    """The hour written as digits or a word, and whether it is zero-padded (24-hour form)."""
    if text.isdigit():
        return int(text), len(text) == 2 and text.startswith("0")
    return _NUMBER_WORDS[text], False


def _minutes_word(text: str) -> int:
    return {"media": 30, "cuarto": 15}.get(text) or int(_number(text))


def _noon(match: re.Match[str], facts: _Facts) -> None:
    word = match["w"]
    special = "midnight" if word in ("midnight", "medianoche") else "noon"
    facts.times.append(_TimeFact(0 if special == "midnight" else 12, special=special, exact=True))


def _time_es(match: re.Match[str], facts: _Facts) -> None:
    hour, padded = _hour_number(match["h"])
    minute = int(match["m"]) if match["m"] else 0
    shift = 0
    if match["plus"]:
        minute += _minutes_word(match["plus"])
    if match["minus"]:
        shift = -_minutes_word(match["minus"])
    facts.times.append(
        _TimeFact(hour, minute, exact=padded or bool(match["h24"]), shift=shift,
                  part=_PARTS[match["part"]] if match["part"] else None)
    )


def _time_quarter(match: re.Match[str], facts: _Facts) -> None:
    hour, _ = _hour_number(match["h"])
    how = match["q"].split()[-2:]
    meridiem = match["mer"]
    if how == ["half", "past"]:
        facts.times.append(_TimeFact(hour, 30, meridiem=meridiem))
    elif how[-1] == "past":
        facts.times.append(_TimeFact(hour, 15, meridiem=meridiem))
    else:
        facts.times.append(_TimeFact(hour, 0, meridiem=meridiem, shift=-15))


def _time_en(match: re.Match[str], facts: _Facts) -> None:
    hour, padded = _hour_number(match["h"])
    minute = int(match["m"]) if match["m"] else 0
    groups = match.groupdict()
    facts.times.append(
        _TimeFact(hour, minute, meridiem=groups.get("mer"), exact=padded or bool(groups.get("h24")))
    )


def _part_today(match: re.Match[str], facts: _Facts) -> None:
    facts.add_date(facts.today, "today")
    facts.parts.append(_PARTS[match.groupdict().get("p") or "night"])  # "tonight" is night


def _part(match: re.Match[str], facts: _Facts) -> None:
    facts.parts.append(_PARTS[match["p"]])


def _day_word(match: re.Match[str], facts: _Facts) -> None:
    if match["tod"]:
        facts.add_date(facts.today, "today", match)
    else:
        facts.add_date(facts.today + timedelta(days=1 if match["tom"] else 2), "day", match)
    if match.groupdict().get("p"):
        facts.parts.append(_PARTS[match["p"]])


@lru_cache(maxsize=1024)
def _read_calendar_date(day: str, month: str, year: str, lang: str) -> tuple[int, int] | None:
    """(month, day) of a written date, or None when there is no such day."""
    # dateparser reads the month name and checks the day exists; the year is settled by the
    # caller, so a leap year stands in when none was written (29 February must pass).
    settings = {"REQUIRE_PARTS": ["day", "month", "year"], "RETURN_AS_TIMEZONE_AWARE": False,
                "PREFER_DAY_OF_MONTH": "first"}
    found = dateparser.parse(f"{day} {month} {year or 2000}", languages=[lang], settings=settings)
    if found is None:
        return None
    return found.month, found.day


def _calendar(match: re.Match[str], facts: _Facts) -> None:
    month_word = match["m"].rstrip(".")
    lang = _MONTH_WORDS[month_word][1]
    read = _read_calendar_date(match["d"], month_word, match["y"] or "", lang)
    if read is None:
        facts.invalid_date = True
        return
    year = int(match["y"]) if match["y"] else None
    facts.add_written_date(match, _DateFact(read[0], read[1], year, "calendar"))
    facts.votes[lang] += 1


def _numeric_date(match: re.Match[str], facts: _Facts) -> None:
    first, second = int(match["a"]), int(match["b"])
    year = int(match["y"]) if match["y"] else None
    if year is not None and year < 100:
        year += 2000
    readings = [(month, day) for day, month in ((first, second), (second, first))
                if 1 <= month <= 12 and 1 <= day <= 31]
    if not readings:
        facts.invalid_date = True
        return
    (month, day), *others = list(dict.fromkeys(readings))
    facts.add_written_date(
        match, _DateFact(month, day, year, "calendar", others[0] if others else None))


def _monthday(match: re.Match[str], facts: _Facts) -> None:
    day = int(match["d"] if "d" in match.groupdict() else match["md"])
    if not 1 <= day <= 31:
        facts.invalid_date = True
        return
    facts.monthdays.append(day)


_EN_MODES = {None: "bare", "on": "bare", "for": "bare", "by": "bare", "starting": "bare",
             "from": "bare", "this": "this", "next": "next", "coming": "coming",
             "this coming": "coming", "the following": "coming", "following": "coming",
             "next week": "next_week", "of next week": "next_week", "this week": "this_week",
             "of this week": "this_week"}
_ES_MODES = {None: "bare", "el": "bare", "para el": "bare", "desde el": "bare",
             "a partir del": "bare", "este": "this", "el proximo": "coming",
             "proximo": "coming", "el siguiente": "coming", "que viene": "coming",
             "de la semana que viene": "next_week", "de la proxima semana": "next_week",
             "la semana que viene": "next_week", "la proxima semana": "next_week",
             "de esta semana": "this_week", "esta semana": "this_week"}


def _weekday_en(match: re.Match[str], facts: _Facts) -> None:
    modifier = match["mod"] and re.sub(r"\s+", " ", match["mod"])
    week = match["wk"] and re.sub(r"\s+", " ", match["wk"])
    mode = _EN_MODES[week] if week else _EN_MODES[modifier]
    facts.weekdays.append((_WEEKDAY_WORDS[match["wd"]], mode))
    _weekday_monthday(match, facts)
    if match["p"]:
        facts.parts.append(_PARTS[match["p"]])


def _weekday_es(match: re.Match[str], facts: _Facts) -> None:
    modifier = match["mod"] and re.sub(r"\s+", " ", match["mod"])
    post = match["post"] and re.sub(r"\s+", " ", match["post"])
    mode = _ES_MODES[post] if post else _ES_MODES[modifier]
    facts.weekdays.append((_WEEKDAY_WORDS[match["wd"]], mode))
    _weekday_monthday(match, facts)


def _weekday_monthday(match: re.Match[str], facts: _Facts) -> None:
    """A day number after a weekday ("el jueves 26"): that day, which must be that weekday."""
    if match.groupdict().get("md"):
        _monthday(match, facts)


def _compile(lang: str | None, pattern: str, handler: _Handler) -> tuple[
    str | None, re.Pattern[str], _Handler
]:
    return lang, re.compile(pattern), handler


_UNTIL = r"(?:(?P<until>until|till|through|thru|hasta)\s+)?"
_DAY_PREFIX_EN = r"(?:(?:on|for|by|starting|from)\s+)?"
_DAY_PREFIX_ES = r"(?:(?:el|del|para\s+el|desde\s+el|a\s+partir\s+del?)\s+)?"
_ORDINAL_SUFFIX = r"(?:st|nd|rd|th|o|a)?"

_RULES = [
    # "remind me to", "recuérdame que": only at the start.
    _compile("en", r"^\s*(?:please\s+)?remind\s+me(?:\s+(?:to|about|that|of))?\b[\s,:]*", _nothing),
    _compile("es", r"^\s*(?:por\s+favor\s+)?(?:recuerdame|recordarme|recuerdeme|avisame)"
                   r"(?:\s+(?:que|de))?\b[\s,:]*", _nothing),
    # ISO dates, with an optional 24-hour time.
    _compile(None, rf"\b{_UNTIL}(?:(?:on|el|the|for|para\s+el)\s+)?{_START}(?P<y>\d{{4}})"
                   r"[-/](?P<mo>\d{1,2})[-/](?P<d>\d{1,2})"
                   r"(?:(?:t|\s+)(?P<h>\d{1,2}):(?P<mi>\d{2})(?::\d{2})?)?\b", _iso),
    # Repeating events.
    _compile("en", rf"(?:(?:on|every)\s+)?(?:the\s+)?(?P<ord>first|1st|second|2nd|third|3rd|"
                   rf"fourth|4th|last)\s+(?P<wd>{_WD})\s+(?:of\s+)?(?:every|each|the|a)\s+month\b",
             _repeat_ordinal),
    _compile("es", rf"(?:(?:el|cada|todos\s+los)\s+)?(?P<ord>primer|primero|segundo|tercer|"
                   rf"tercero|cuarto|ultimo)s?\s+(?P<wd>{_WD})\s+(?:de\s+)?(?:cada\s+mes|todos\s+"
                   r"los\s+meses|del\s+mes|de\s+mes)\b", _repeat_ordinal),
    _compile("en", r"(?:(?:on|every)\s+)?the\s+(?P<d>\d{1,2})(?:st|nd|rd|th)\s+(?:day\s+)?of\s+"
                   r"(?:every|each|the)\s+month\b", _repeat_monthday),
    _compile("es", r"(?:(?:el|los|cada)\s+)?(?:dias?\s+)?(?P<d>\d{1,2})\s+de\s+(?:cada\s+mes|"
                   r"todos\s+los\s+meses)\b", _repeat_monthday),
    _compile("en", r"\b(?:(?:every|each)\s+(?:weekday|work\s?day|business\s+day)\b|(?:on\s+)?"
                   r"(?:weekdays|work\s?days|business\s+days)\b|(?:from\s+)?(?:monday|mon)\s*"
                   r"(?:to|through|thru|-)\s*(?:friday|fri)\b)", _repeat_workdays),
    _compile("es", r"\b(?:de\s+lunes\s+a\s+viernes|entre\s+semana|"
                   r"(?:todos\s+los\s+|cada\s+|los\s+)?dias?\s+(?:laborables|habiles|de\s+diario))\b",
             _repeat_workdays),
    _compile("en", r"\b(?:(?:every|each)\s+weekend|(?:on\s+)?weekends)\b", _repeat_weekends),
    _compile("es", r"\b(?:todos\s+los|cada|los)\s+fines?\s+de\s+semana\b", _repeat_weekends),
    _compile("en", rf"\b(?:every|each)\s+(?P<other>other\s+)?(?P<list>{_WD_LIST})"
                   r"(?:\s+(?P<part>morning|afternoon|evening|night)s?\b)?", _repeat_weekdays),
    _compile("en", rf"\b(?:on\s+)?(?P<list>{_WD_EN_PLURAL}(?:{_AND}{_WD_EN_PLURAL})*)"
                   r"(?:\s+(?P<part>morning|afternoon|evening|night)s?\b)?", _repeat_weekdays),
    _compile("es", rf"\b(?:todos\s+los|cada|los)\s+(?P<list>{_WD_LIST})", _repeat_weekdays),
    _compile("es", r"\b(?:cada\s+(?:quince|15)\s+dias|quincenalmente)\b", _repeat_fortnight),
    _compile("en", r"\b(?:fortnightly|every\s+fortnight)\b", _repeat_fortnight),
    _compile("en", rf"\b(?:every|each)\s+(?:(?P<n>\d+|other|{_alt(_NUMBER_WORDS)})\s+)?"
                   rf"(?P<u>{_UNIT_EN})", _repeat_unit),
    _compile("es", rf"\b(?:cada|todos\s+los|todas\s+las)\s+(?:(?P<n>\d+|{_alt(_NUMBER_WORDS)})\s+)?"
                   rf"(?P<u>{_UNIT_ES})", _repeat_unit),
    _compile("en", r"\b(?:every|each)\s+(?P<part>morning|afternoon|evening|night)\b",
             _repeat_part),
    _compile("es", r"\b(?:cada|todas\s+las)\s+(?P<part>mananas?|tardes?|noches?)\b", _repeat_part),
    _compile("en", r"\b(?:daily|hourly|weekly|monthly|yearly|annually)\b", _repeat_adverb),
    _compile("es", r"\b(?:a\s+diario|diariamente|semanalmente|mensualmente|anualmente)\b",
             _repeat_adverb),
    # The past.
    _compile("en", rf"\b(?:yesterday|last\s+night|(?:last|past)\s+(?:week|month|year|{_WD})|"
                   rf"{_NUM}\s+{_UNIT_EN}\s+ago)\b", _past),
    _compile("es", rf"\b(?:ayer|anteayer|antier|anoche|(?:el|la)\s+(?:{_WD}|semana|mes)\s+"
                   rf"pasad[oa]|el\s+ano\s+pasado|hace\s+{_NUM}\s+{_UNIT_ES})\b", _past),
    # Offsets from now.
    _compile("en", rf"\b(?:in|within)\s+(?P<n>{_NUM})\s*(?P<u>{_UNIT_EN})(?P<half>\s+and\s+a\s+"
                   rf"half\b)?(?:\s+and\s+(?P<n2>{_NUM})\s*(?P<u2>minutes?|mins?)\b)?"
                   r"(?:\s+from\s+now\b)?", _relative),
    _compile("en", rf"\b(?P<n>{_NUM})\s+(?P<u>{_UNIT_EN})\s+from\s+(?:now|today)\b", _relative),
    _compile("es", rf"\b(?:en|dentro\s+de|de\s+aqui\s+a)\s+(?P<n>{_NUM})\s*(?P<u>{_UNIT_ES})"
                   rf"(?P<half>\s+y\s+media\b)?(?:\s+y\s+(?P<n2>{_NUM})\s*(?P<u2>minutos?|mins?)\b)?",
             _relative),
    # Times of day.
    _compile("en", r"(?:\b(?:at|around|by)\s+(?:the\s+)?)?\b(?P<w>noon|midday|midnight)\b", _noon),
    _compile("es", r"(?:\b(?:a|al|a\s+la|sobre\s+la|hacia\s+la|para\s+la)\s+)?\b"
                   r"(?P<w>mediodia|medianoche)\b", _noon),
    _compile("es", rf"\b(?:(?:a|sobre|hacia|para|desde)\s+las?|a\s+eso\s+de\s+las?)\s+"
                   rf"(?P<h>{_HOUR})\b(?:[:.](?P<m>\d{{2}}))?(?P<h24>\s*(?:h|hs|hrs|horas)\b)?"
                   rf"(?:\s+(?:y\s+(?P<plus>media|cuarto|\d{{1,2}}|{_alt(_NUMBER_WORDS)})|menos\s+"
                   rf"(?P<minus>cuarto|\d{{1,2}}|{_alt(_NUMBER_WORDS)}))\b)?(?:\s+en\s+punto)?"
                   r"(?:\s+(?:de|por|en)\s+la\s+(?P<part>manana|tarde|noche|madrugada)\b)?",
             _time_es),
    _compile("en", rf"(?:\b(?:at|around|by)\s+)?\b(?P<q>half\s+past|(?:a\s+)?quarter\s+past|"
                   rf"(?:a\s+)?quarter\s+to)\s+(?P<h>{_HOUR})\b(?:\s*{_AMPM})?", _time_quarter),
    _compile("en", rf"(?:(?:\b(?:at|around|by|for|from)|@)\s*)?{_START}(?P<h>\d{{1,2}}|"
                   rf"{_alt(w for w, n in _NUMBER_WORDS.items() if n <= 12 and w.isascii())})"
                   rf"(?:[:.](?P<m>\d{{2}}))?\s*{_AMPM}", _time_en),
    _compile("en", rf"(?:\b(?:at|around)|@)\s*(?P<h>{_HOUR})\b(?:[:.](?P<m>\d{{2}}))?"
                   r"(?P<h24>\s*(?:h|hrs)\b)?(?:\s*o'?\s?clock\b)?(?![/\d])", _time_en),
    _compile(None, rf"{_START}(?P<h>\d{{1,2}}):(?P<m>\d{{2}})(?P<h24>\s*(?:h|hs|hrs)\b)?(?![\d:])",
             _time_en),
    _compile(None, rf"{_START}(?P<h24>(?P<h>\d{{1,2}})h(?P<m>\d{{2}})?)\b", _time_en),
    # Parts of the day.
    _compile("en", r"\b(?:tonight|tonite)\b", _part_today),
    _compile("en", r"\bthis\s+(?P<p>morning|afternoon|evening)\b", _part_today),
    _compile("es", r"\besta\s+(?P<p>manana|tarde|noche)\b", _part_today),
    _compile("en", r"\b(?:in|during)\s+the\s+(?P<p>morning|afternoon|evening)\b", _part),
    _compile("en", r"\b(?:at|by)\s+(?P<p>night)\b", _part),
    _compile("es", r"\b(?:por|en|a)\s+la\s+(?P<p>manana|tarde|noche)\b", _part),
    # Days said as words.
    _compile("en", rf"\b{_DAY_PREFIX_EN}(?:(?P<dat>(?:the\s+)?day\s+after\s+tomorrow)|"
                   r"(?P<tom>tomorrow|tmrw|tmr|tomorow|tommorow|tommorrow)|(?P<tod>today))\b"
                   r"(?:\s+(?P<p>morning|afternoon|evening|night)\b)?", _day_word),
    _compile("es", r"\b(?:(?:para|desde|a\s+partir\s+de)\s+)?(?:(?P<dat>pasado\s+manana)|"
                   r"(?<!la\s)(?P<tom>manana)|(?P<tod>hoy))\b", _day_word),
    # Written dates.
    _compile(None, rf"\b{_UNTIL}(?:{_DAY_PREFIX_EN}|{_DAY_PREFIX_ES})(?:the\s+)?(?P<d>\d{{1,2}})"
                   rf"{_ORDINAL_SUFFIX}\s*(?:de\s+|of\s+)?(?P<m>{_MONTH})"
                   r"(?:,?\s*(?:de\s+|del\s+)?(?P<y>\d{4})\b)?", _calendar),
    _compile(None, rf"\b{_UNTIL}{_DAY_PREFIX_EN}(?P<m>{_MONTH})\s+(?:the\s+)?(?P<d>\d{{1,2}})"
                   r"(?:st|nd|rd|th)?\b(?!\s*(?::|[ap]\.?m\b|h\b))(?:,?\s*(?P<y>\d{4})\b)?",
             _calendar),
    _compile(None, rf"(?:\b{_UNTIL}(?:(?:on|for|el|the|para\s+el)\s+)?)?{_START}(?P<a>\d{{1,2}})"
                   r"/(?P<b>\d{1,2})(?:/(?P<y>\d{4}|\d{2}))?(?![\d/])", _numeric_date),
    _compile(None, rf"(?:\b(?:on|for|el|para\s+el)\s+)?{_START}(?P<a>\d{{1,2}})\.(?P<b>\d{{1,2}})"
                   r"\.(?P<y>\d{4}|\d{2})(?![\d.])", _numeric_date),
    _compile("en", r"\b(?:on\s+)?the\s+(?P<d>\d{1,2})(?:st|nd|rd|th)\b", _monthday),
    _compile("es", r"\b(?:(?:el|los)\s+)?dia\s+(?P<d>\d{1,2})\b", _monthday),
    _compile("es", r"\bel\s+(?P<d>\d{1,2})\b(?!\s*(?:%|[:.,/]\d|h\b|de\b|[ap]\.?m\b))", _monthday),
    # Weekdays.
    _compile("en", rf"\b(?:(?P<mod>next|this\s+coming|coming|this|on|the\s+following|following|"
                   rf"for|by|starting|from)\s+)?(?P<wd>{_WD_EN})(?:,?\s+(?:the\s+)?(?P<md>\d{{1,2}})"
                   r"(?:st|nd|rd|th)?\b(?![:.]\d|\s*(?:[ap]\.?m\b|h\b)))?(?:,?\s+(?P<wk>(?:of\s+)?"
                   r"(?:next|this)\s+week)\b)?(?:\s+(?P<p>morning|afternoon|evening|night)\b)?",
             _weekday_en),
    _compile("en", rf"\b(?P<wk>next\s+week|this\s+week),?\s+(?:on\s+)?(?P<wd>{_WD_EN})"
                   r"(?P<mod>)(?:\s+(?P<p>morning|afternoon|evening|night)\b)?", _weekday_en),
    _compile("es", rf"\b(?:(?P<mod>el\s+proximo|el\s+siguiente|este|el|proximo|para\s+el|"
                   rf"desde\s+el|a\s+partir\s+del)\s+)?(?P<wd>{_WD_ES})(?:\s+(?:dia\s+)?"
                   r"(?P<md>\d{1,2})\b(?![:.]\d|\s*h\b))?(?:\s+(?P<post>que\s+viene|proximo|"
                   r"de\s+la\s+semana\s+que\s+viene|de\s+la\s+proxima\s+semana|de\s+esta\s+semana)"
                   r"\b)?", _weekday_es),
    _compile("es", rf"\b(?P<post>la\s+semana\s+que\s+viene|la\s+proxima\s+semana|esta\s+semana),?"
                   rf"\s+el\s+(?P<wd>{_WD_ES})(?P<mod>)", _weekday_es),
    # A week or a month, but not which day.
    _compile("en", rf"\b(?:(?:next|this|the)\s+(?:week|month|weekend|year)|weekend|in\s+{_MONTH}"
                   r"(?!\s*\d))", _vague),
    _compile("es", r"\b(?:la\s+semana\s+que\s+viene|la\s+proxima\s+semana|esta\s+semana|"
                   r"el\s+mes\s+que\s+viene|el\s+proximo\s+mes|este\s+mes|(?:el|este)\s+fin\s+de\s+"
                   rf"semana|el\s+finde|el\s+ano\s+que\s+viene)\b|\ben\s+{_MONTH}(?!\s*\d)",
             _vague),
]


# ---------------------------------------------------------------------------------------------
# Reading a phrase.


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _fold_char(char: str) -> str:
    if char in "\u2019\u2018`´":
        return "'"
    if char.isspace():
        return " "
    lowered = char.lower()
    if len(lowered) != 1:
        return char
    folded = _strip_marks(lowered)
    return folded if len(folded) == 1 else lowered


# One character in, one character out: positions in the folded text are positions in the
# original, which is how the title keeps its accents and capitals.
_FOLD_TABLE = {code: _fold_char(chr(code)) for code in range(0x80, 0x2100)}


def _fold(text: str) -> str:
    lowered = text.lower()
    if len(lowered) != len(text):
        return "".join(_fold_char(char) for char in text)
    return lowered.translate(_FOLD_TABLE)


# The word in front of a date says the language when the date itself does not ("el 5/5").
_LEADING_LANGUAGE = {"on": "en", "for": "en", "el": "es", "para": "es", "del": "es"}


def _read(text: str, today: date) -> tuple[_Facts, str]:
    """The facts found in `text` and the words left over for the title."""
    facts = _Facts(today)
    folded = _fold(text)
    consumed = [False] * len(text)
    for lang, pattern, handler in _RULES:
        matched = False
        for match in pattern.finditer(folded):
            if not match.group(0).strip() or handler(match, facts) is False:
                continue
            voter = lang or _LEADING_LANGUAGE.get(match.group(0).split(maxsplit=1)[0])
            if voter:
                facts.votes[voter] += 2
            start, end = match.span()
            consumed[start:end] = [True] * (end - start)
            matched = True
        if matched:
            # A NUL stands for consumed text: no later rule can match across or into it.
            folded = "".join("\0" if gone else char
                             for char, gone in zip(folded, consumed, strict=True))
    title = "".join(" " if gone else char for char, gone in zip(text, consumed, strict=True))
    return facts, _clean_title(title)


def _clean_title(text: str) -> str:
    text = " ".join(text.split())
    text = re.sub(r"\s+([,;:.!?])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    while True:
        text = text.strip(" ,;:.-–—")
        words = text.split(" ")
        if len(words) > 1 and _fold(words[-1]) in _TRAILING:
            text = " ".join(words[:-1])
        elif len(words) > 1 and _fold(words[0]) in _LEADING:
            text = " ".join(words[1:])
        elif len(words) == 1 and (_fold(words[0]) in _TRAILING | _LEADING):
            return ""
        else:
            return text


def _language(facts: _Facts, title: str, hint: str) -> str:
    votes = dict(facts.votes)
    for word in re.findall(r"\w+", _fold(title)):
        for lang, stop_words in _STOP_WORDS.items():
            if word in stop_words:
                votes[lang] += 1
    if votes["en"] == votes["es"]:
        return hint if hint in ("en", "es") else "en"
    return "en" if votes["en"] > votes["es"] else "es"


# ---------------------------------------------------------------------------------------------
# Turning the facts into a When.


def _localize(naive: datetime, zone: tzinfo) -> datetime:
    """A wall time in `zone`: moved forward across a gap, the first one of a repeated hour."""
    # fold=0 reads a missing time with the offset from before the gap, so the round trip
    # through UTC lands after the gap by exactly its length.
    return naive.replace(tzinfo=zone, fold=0).astimezone(UTC).astimezone(zone)


def _settle(fact: _TimeFact, part: str | None) -> list[_Clock]:
    """The readings of a time: one, or two when the hour could be morning or afternoon."""
    if fact.special == "midnight":
        return [_Clock(0, 0, True, midnight=True)]
    hour, minute = fact.hour, fact.minute
    if hour > 23 or minute > 59:
        raise Unclear("ambiguous_hour")
    readings: list[int]
    if fact.special == "noon":
        readings = [12]
    elif fact.meridiem:
        if 1 <= hour <= 12:
            readings = [hour % 12 + (12 if fact.meridiem == "p" else 0)]
        elif hour >= 13 and fact.meridiem == "p":
            readings = [hour]  # "17pm" is odd but says the same thing twice
        else:
            raise Unclear("ambiguous_hour")
    elif part in ("morning", "early"):
        if hour >= 13:
            raise Unclear("ambiguous_hour")
        readings = [0 if hour == 12 and part == "early" else hour]
    elif part in ("afternoon", "evening"):
        readings = [hour + 12 if 1 <= hour <= 11 else hour]
        if hour in (0, 12) and part == "evening":
            raise Unclear("ambiguous_hour")
    elif part == "night":
        if hour == 12:
            return [_Clock(0, minute, True, midnight=True)]
        if 1 <= hour <= 4:  # "a la una de la noche": tonight or the night after?
            raise Unclear("ambiguous_hour")
        readings = [hour + 12 if 5 <= hour <= 11 else hour]
    elif fact.exact or hour == 0 or hour >= 7:
        readings = [hour]
    else:
        readings = [hour, hour + 12]
    clocks = []
    for reading in readings:
        total = (reading * 60 + minute + fact.shift) % (24 * 60)
        clocks.append(_Clock(total // 60, total % 60, True))
    return clocks


def _clocks(facts: _Facts) -> list[_Clock]:
    """The readings of the time of day, or [] when none was said."""
    parts = set(facts.parts) | {repeat.part for repeat in facts.repeats if repeat.part}
    if len(parts) > 1:
        raise Unclear("ambiguous_hour")
    part = next(iter(parts), None)
    if not facts.times:
        if part is None:
            return []
        if part == "early":
            raise Unclear("ambiguous_hour")
        return [_Clock(PART_HOURS[part], 0, True)]  # "tonight" is a time, if a loose one
    readings = {tuple(_settle(fact, fact.part or part)) for fact in facts.times}
    if len(readings) > 1:
        raise Unclear("ambiguous_hour")
    return list(readings.pop())


def _this_year_or_next(month: int, day: int, today: date, *, strict: bool) -> date:
    """The next `day` of `month` from today; refuses one that passed within the last month."""
    for year in range(today.year, today.year + 9):
        try:
            candidate = date(year, month, day)
        except ValueError:  # 29 February outside leap years
            continue
        if candidate >= today:
            return candidate
        if strict and today - candidate <= _RECENTLY_PAST:
            raise Unclear("past", (datetime(year, month, day, DEFAULT_HOUR),), with_time=False)
    raise Unclear("ambiguous_date")


def _dates_of(fact: _DateFact, today: date) -> list[date]:
    """The days a written date can be: one, or two for "3/4"."""
    readings = [(fact.month, fact.day)] + ([fact.swapped] if fact.swapped else [])
    days = []
    for month, day in readings:
        if fact.year is not None:
            try:
                days.append(date(fact.year, month, day))
            except ValueError:
                raise Unclear("ambiguous_date") from None
        else:
            days.append(_this_year_or_next(month, day, today, strict=len(readings) == 1))
    return days


def _next_monthday(day: int, today: date) -> date:
    month_start = today.replace(day=1)
    for ahead in range(13):
        first = month_start + relativedelta(months=ahead)
        try:
            candidate = first.replace(day=day)
        except ValueError:  # no 31st in this month
            continue
        if candidate >= today:
            return candidate
    raise Unclear("ambiguous_date")


def _weekday_dates(weekday: int, mode: str, today: date) -> list[date]:
    """The days a weekday can mean; two when it is unclear which week."""
    ahead = (weekday - today.weekday()) % 7
    monday = today - timedelta(days=today.weekday())
    if mode == "this":
        return [today + timedelta(days=ahead)]
    if mode == "next_week":
        return [monday + timedelta(days=7 + weekday)]
    if mode == "this_week":
        return [monday + timedelta(days=weekday)]
    coming = today + timedelta(days=ahead or 7)
    if mode == "next" and weekday > today.weekday():
        # "next friday" on a Tuesday: this Friday, or the one of next week?
        return [coming, coming + timedelta(days=7)]
    return [coming]


def _as_options(days: Iterable[date], clocks: list[_Clock]) -> tuple[datetime, ...]:
    hour, minute = (clocks[0].hour, clocks[0].minute) if clocks else (DEFAULT_HOUR, 0)
    return tuple(datetime(d.year, d.month, d.day, hour, minute) for d in sorted(set(days)))


def _day(facts: _Facts, today: date, clocks: list[_Clock]) -> date | None:
    """The one day the phrase names, or None when it names none."""
    with_time = bool(clocks and clocks[0].given)
    named: list[list[date]] = [_dates_of(fact, today) for fact in facts.dates]
    named += [[_next_monthday(day, today)] for day in facts.monthdays]
    named += [[today + offset] for offset in facts.offsets]
    weekdays = [_weekday_dates(weekday, mode, today) for weekday, mode in facts.weekdays]
    if named:
        # A weekday next to a date only has to agree with it ("mañana viernes").
        chosen = set(named[0]).intersection(*named[1:])
        chosen = {d for d in chosen if all(d.weekday() == wd for wd, _ in facts.weekdays)}
        everything = [d for days in named + weekdays for d in days]
    elif weekdays:
        chosen = set(weekdays[0]).intersection(*weekdays[1:])
        everything = [d for days in weekdays for d in days]
    elif facts.vague:
        raise Unclear("ambiguous_date")
    else:
        return None
    if len(chosen) == 1:
        return chosen.pop()
    raise Unclear("ambiguous_date", _as_options(everything, clocks), with_time=with_time)


def _too_far(start: datetime, now: datetime) -> bool:
    return start > now + relativedelta(years=MAX_YEARS_AHEAD)


def _one_off(facts: _Facts, now: datetime, zone: tzinfo) -> When:
    today = now.date()
    if facts.until:  # "until friday" with nothing repeating: a deadline, or a typo?
        raise Unclear("ambiguous_date")
    if facts.elapsed:
        if facts.dates or facts.weekdays or facts.monthdays or facts.offsets or facts.vague:
            raise Unclear("ambiguous_date")
        if facts.times or facts.parts:
            raise Unclear("ambiguous_hour")
        elapsed = sum(facts.elapsed, timedelta())
        moment = now.astimezone(UTC) + elapsed
        # Whole minutes land on the minute; "in 30 seconds" keeps its seconds.
        start = moment.astimezone(zone).replace(microsecond=0)
        if not elapsed.total_seconds() % 60:
            start = start.replace(second=0)
        if start <= now:  # "in 0 minutes"
            raise Unclear("past", (start.replace(tzinfo=None),))
        if _too_far(start, now):
            raise Unclear("too_far", (start.replace(tzinfo=None),))
        return When(start, None, True)
    clocks = _clocks(facts)
    day = _day(facts, today, clocks)
    if not clocks:
        if facts.offsets:  # "in 3 days" keeps the time it is now
            clocks = [_Clock(now.hour, now.minute, True)]
        else:
            clocks = [_Clock(DEFAULT_HOUR, 0, False)]
    starts = []
    for clock in clocks:
        if day is None:
            # A bare time is the next one: "at 8" said at 09:00 is tomorrow.
            candidate = datetime.combine(today, datetime.min.time()).replace(
                hour=clock.hour, minute=clock.minute)
            if _localize(candidate, zone) <= now:
                candidate += timedelta(days=1)
        else:
            candidate = datetime(day.year, day.month, day.day, clock.hour, clock.minute)
            if clock.midnight:
                kinds = {fact.kind for fact in facts.dates}
                if facts.dates and kinds <= {"today"} and not facts.weekdays:
                    candidate += timedelta(days=1)  # "tonight at midnight"
                else:  # the midnight that starts the day, or the one that ends it?
                    raise Unclear("ambiguous_date", (candidate, candidate + timedelta(days=1)))
        starts.append(candidate)
    if len(starts) == 2:
        raise Unclear("ambiguous_hour", (starts[0], starts[1]))
    start = _localize(starts[0], zone)
    if start <= now:
        raise Unclear("past", (starts[0],), with_time=clocks[0].given or day == today)
    if _too_far(start, now):
        raise Unclear("too_far", (starts[0],))
    return When(start, None, clocks[0].given)


def _rule_text(freq: str, interval: int = 1, bymonth: int | None = None,
               bymonthday: int | None = None, byday: tuple[str, ...] = (),
               byhour: int | None = None, byminute: int | None = None,
               until: datetime | None = None) -> str:
    parts = [f"FREQ={freq}"]
    if interval != 1:
        parts.append(f"INTERVAL={interval}")
    if bymonth is not None:
        parts.append(f"BYMONTH={bymonth}")
    if bymonthday is not None:
        parts.append(f"BYMONTHDAY={bymonthday}")
    if byday:
        parts.append("BYDAY=" + ",".join(byday))
    if byhour is not None:
        parts.append(f"BYHOUR={byhour};BYMINUTE={byminute}")
    if until is not None:
        parts.append(f"UNTIL={until.astimezone(UTC):%Y%m%dT%H%M%SZ}")
    return ";".join(parts)


_UNTIL_PART = re.compile(r";?UNTIL=(\d{8})(?:T(\d{6}))?(Z?)", re.IGNORECASE)


def _split_until(text: str, zone: tzinfo) -> tuple[str, datetime | None]:
    """The rule without its UNTIL, and the UNTIL as an aware datetime."""
    # UNTIL is written in UTC as RFC 5545 asks when DTSTART has a zone, but occurrences are
    # computed on naive local times, so the limit is applied to the placed occurrences.
    found = _UNTIL_PART.search(text)
    if found is None:
        return text, None
    # A bare date (from an imported calendar) includes that whole day.
    moment = datetime.strptime(found[1] + (found[2] or "235959"), "%Y%m%d%H%M%S")
    until = moment.replace(tzinfo=UTC) if found[3] else _localize(moment, zone)
    return (text[: found.start()] + text[found.end():]).strip(";"), until


def _rule_fields(text: str) -> dict[str, str]:
    """The parts of a rule: `FREQ=WEEKLY;BYDAY=MO` as {"FREQ": "WEEKLY", "BYDAY": "MO"}."""
    text = text.strip().upper().removeprefix("RRULE:")
    return dict(part.split("=", 1) for part in text.split(";") if "=" in part)


@lru_cache(maxsize=512)
def _rrule(text: str, dtstart: datetime) -> Any:
    return rrulestr(text, dtstart=dtstart)


class RuleError(ValueError):
    """An RRULE the agenda refuses: unreadable, never occurring, or too frequent."""


_RULE_CHARS = re.compile(r"[A-Z0-9=;,+\-]{1,500}")
_FREQ_NAMES = {"SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
# Day-level filters on a sub-daily rule can match no day for centuries (BYMONTH=2 with
# BYMONTHDAY=30), and dateutil would walk every hour or minute until the year 9999 to find out.
_DAY_FILTERS = {"BYMONTH", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYSETPOS"}
_RULE_SAMPLE = 200  # occurrences looked at for the shortest gap between two of them
# A rule must occur within this many years of its start. dateutil only stops at an occurrence
# (or at the year 9999), so a rule that never occurs is walked at the years just before 9999.
RULE_WINDOW_YEARS = 10
_CYCLE_YEARS = 400  # the Gregorian calendar, weekdays included, repeats every 400 years
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def normalize_rule(text: str) -> str:
    """An RRULE value as stored: upper case, without a leading `RRULE:`."""
    return text.strip().upper().removeprefix("RRULE:")


def check_rule(text: str, start: datetime) -> None:
    """Raise `RuleError` unless `text` (normalized) is an RRULE that dateutil reads, that
    occurs, and whose occurrences from `start` are never closer than `MIN_REPEAT`."""
    if not _RULE_CHARS.fullmatch(text):
        raise RuleError("not an RRULE value (letters, digits and = ; , + - only)")
    fields = _rule_fields(text)
    freq = fields.get("FREQ", "")
    if freq not in _FREQ_NAMES:
        raise RuleError(f"FREQ must be one of {', '.join(sorted(_FREQ_NAMES))}")
    interval = fields.get("INTERVAL", "1")
    if not interval.isdigit() or int(interval) < 1:
        raise RuleError("INTERVAL must be a whole number from 1")
    floor = f"repeats more often than every {MIN_REPEAT_MINUTES} minutes"
    if freq == "SECONDLY" or "," in fields.get("BYSECOND", ""):
        raise RuleError(floor)
    if freq == "MINUTELY" and int(interval) < MIN_REPEAT_MINUTES:
        raise RuleError(floor)
    if freq in ("HOURLY", "MINUTELY") and _DAY_FILTERS & fields.keys():
        raise RuleError(f"a {freq} rule may only be narrowed by BYDAY, BYHOUR and BYMINUTE")
    never = f"the rule has no occurrence within {RULE_WINDOW_YEARS} years of its start"
    if _no_such_day(fields):
        raise RuleError(never)
    zone = start.tzinfo or UTC
    bare, _ = _split_until(text, zone)
    dtstart = _late_twin(start.replace(tzinfo=None))
    window_end = dtstart + relativedelta(years=RULE_WINDOW_YEARS)
    try:
        rule = rrulestr(bare, dtstart=dtstart)
        if "COUNT" not in fields:  # dateutil warns about COUNT with UNTIL; COUNT ends it anyway
            rule = rule.replace(until=window_end)
        sample = list(islice(rule, _RULE_SAMPLE))
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise RuleError(f"not a valid RRULE: {exc}") from exc
    if not sample or sample[0] > window_end:
        raise RuleError(never)
    if any(later - earlier < MIN_REPEAT for earlier, later in pairwise(sample)):
        raise RuleError(floor)


def _late_twin(start: datetime) -> datetime:
    """`start` moved by whole 400-year cycles to just before the year 9999 (same weekdays,
    same leap years), so that a walk through a rule that never occurs ends within a bounded
    number of years instead of walking every day until 9999."""
    cycles = max(0, (datetime.max.year - RULE_WINDOW_YEARS - start.year) // _CYCLE_YEARS)
    return start.replace(year=start.year + cycles * _CYCLE_YEARS)


def _no_such_day(fields: dict[str, str]) -> bool:
    """True when BYMONTH and BYMONTHDAY name no day that exists (30 February): refused at
    once rather than walked."""
    if "BYMONTHDAY" not in fields:
        return False
    try:
        months = [int(m) for m in fields.get("BYMONTH", "1,2,3,4,5,6,7,8,9,10,11,12").split(",")]
        days = [abs(int(d)) for d in fields["BYMONTHDAY"].split(",")]
    except ValueError:
        return False  # dateutil says what is wrong with it
    if not all(1 <= m <= 12 for m in months) or not all(1 <= d <= 31 for d in days):
        return False
    return not any(d <= _MONTH_DAYS[m - 1] for m in months for d in days)


_PERIODS = {"MINUTELY": timedelta(minutes=1), "HOURLY": timedelta(hours=1),
            "DAILY": timedelta(days=1), "WEEKLY": timedelta(weeks=1)}


def _skip_ahead(text: str, dtstart: datetime, begin: datetime) -> datetime:
    """A later DTSTART in step with the rule, so that a walk need not start years back."""
    # dateutil walks every occurrence from DTSTART: "every 15 minutes" set a year ago would
    # take seconds. Moving DTSTART by whole periods (interval x unit, in wall time) keeps the
    # phase of the rule; COUNT counts from the real start, so it is left alone.
    fields = _rule_fields(text)
    period = _PERIODS.get(fields.get("FREQ", ""))
    if period is None or "COUNT" in fields or begin <= dtstart:
        return dtstart
    period *= int(fields.get("INTERVAL", "1") or 1)
    return dtstart + period * ((begin - dtstart) // period)


def _occurrence_after(
    text: str, dtstart: datetime, zone: tzinfo, after: datetime
) -> tuple[datetime, datetime] | None:
    """The first occurrence strictly after `after`: as the rule made it, and placed in `zone`."""
    text, until = _split_until(text, zone)
    # Walk from a little before `after` in wall time: a gap or a repeated hour can move an
    # occurrence across it, so the comparison that counts is the aware one.
    begin = max(dtstart, after.astimezone(zone).replace(tzinfo=None) - timedelta(hours=3))
    rule = _rrule(text, _skip_ahead(text, dtstart, begin))
    for count, occurrence in enumerate(rule.xafter(begin, inc=True)):
        placed = _localize(occurrence, zone)
        if until is not None and placed > until:
            return None
        if placed > after:
            return occurrence, placed
        if count > 10_000:
            break
    return None


def _merge_repeats(repeats: list[_Repeat]) -> _Repeat:
    merged = repeats[0]
    for other in repeats[1:]:
        # "every week ... on mondays": one rule said twice.
        if other.freq != merged.freq or (other.byday and merged.byday and
                                         other.byday != merged.byday):
            raise Unclear("ambiguous_date")
        merged = _Repeat(merged.freq, max(merged.interval, other.interval),
                         merged.byday or other.byday, merged.bymonthday or other.bymonthday,
                         merged.part or other.part)
    return merged


def _repeating(facts: _Facts, now: datetime, zone: tzinfo) -> When:
    today = now.date()
    repeat = _merge_repeats(facts.repeats)
    freq, byday, bymonthday = repeat.freq, repeat.byday, repeat.bymonthday
    bymonth: int | None = None
    anchor: date | None = None
    if facts.offsets or facts.elapsed or facts.vague or len(facts.dates) > 1:
        raise Unclear("ambiguous_date")
    if facts.weekdays:
        if freq != "WEEKLY" or byday:
            raise Unclear("ambiguous_date")
        byday = tuple(_RRULE_DAYS[day] for day in sorted({wd for wd, _ in facts.weekdays}))
    if facts.monthdays:
        if freq != "MONTHLY" or byday or bymonthday or len(set(facts.monthdays)) > 1:
            raise Unclear("ambiguous_date")
        bymonthday = facts.monthdays[0]
    if facts.dates:
        fact = facts.dates[0]
        if fact.swapped:
            raise Unclear("ambiguous_date", _as_options(_dates_of(fact, today), []),
                          with_time=False)
        if freq == "YEARLY":
            bymonth, bymonthday = fact.month, fact.day
            if fact.year is not None:
                anchor = _dates_of(fact, today)[0]
        else:
            anchor = _dates_of(_DateFact(fact.month, fact.day, fact.year, fact.kind), today)[0]
            if freq == "MONTHLY" and not byday and bymonthday is None:
                bymonthday = anchor.day
            if freq == "WEEKLY" and not byday:
                byday = (_RRULE_DAYS[anchor.weekday()],)
            # "la reunión de los lunes mañana": a date that is not one of the occurrences is
            # only where the series begins when the phrase says so ("starting", "a partir de").
            if not fact.starting and (
                    (freq == "WEEKLY" and _RRULE_DAYS[anchor.weekday()] not in byday)
                    or (freq == "MONTHLY" and bymonthday not in (None, anchor.day))):
                raise Unclear("ambiguous_date")
    if anchor is None and ((freq == "WEEKLY" and not byday) or (
            freq == "MONTHLY" and not byday and bymonthday is None) or (
            freq == "YEARLY" and bymonth is None)):
        raise Unclear("ambiguous_date")  # "every month": on which day?
    until: datetime | None = None
    if facts.until:
        if len(facts.until) > 1 or facts.until[0].swapped:
            raise Unclear("ambiguous_date")
        last = _dates_of(facts.until[0], today)[0]
        until = _localize(datetime(last.year, last.month, last.day, 23, 59, 59), zone)
    clocks = _clocks(facts)
    naive_now = now.replace(tzinfo=None, second=0, microsecond=0)
    rule = _rule_text(freq, repeat.interval, bymonth, bymonthday, byday, until=until)
    firsts: list[datetime] = []
    if freq in ("HOURLY", "MINUTELY") and not clocks:
        step = {"HOURLY": timedelta(hours=repeat.interval),
                "MINUTELY": timedelta(minutes=repeat.interval)}[freq]
        firsts.append(naive_now + step)
        clocks = [_Clock(firsts[0].hour, firsts[0].minute, True)]
    else:
        if not clocks:
            clocks = [_Clock(DEFAULT_HOUR, 0, False)]
        # The first occurrence is the first match after now whatever the interval: "every 2
        # weeks on friday" said on a Saturday starts next Friday, not in a fortnight.
        probe = rule if freq in ("HOURLY", "MINUTELY") else _rule_text(
            freq, 1, bymonth, bymonthday, byday)
        day = anchor or today
        for clock in clocks:
            dtstart = datetime(day.year, day.month, day.day, clock.hour, clock.minute)
            found = _occurrence_after(probe, dtstart, zone, now)
            if found is None:
                raise Unclear("ambiguous_date")
            firsts.append(found[0])
    if len(firsts) == 2:
        raise Unclear("ambiguous_hour", (firsts[0], firsts[1]))
    start = _localize(firsts[0], zone)
    if start.replace(tzinfo=None) != firsts[0] and freq not in ("HOURLY", "MINUTELY"):
        # The first one fell in a DST gap and was moved: the rule keeps the asked-for time.
        rule = _rule_text(freq, repeat.interval, bymonth, bymonthday, byday,
                          byhour=firsts[0].hour, byminute=firsts[0].minute, until=until)
    if until is not None and start > until:  # "every monday until yesterday"
        raise Unclear("ambiguous_date")
    if _too_far(start, now):
        raise Unclear("too_far", (firsts[0],))
    return When(start, rule, clocks[0].given)


def parse_event(text: str, now: datetime, tz: str, lang: str = "en") -> Parsed:
    """Split a phrase into the event title and when it happens; raises `Unclear`."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    zone = ZoneInfo(tz)
    local_now = now.astimezone(zone)
    original = unicodedata.normalize("NFC", text)
    facts, title = _read(original, local_now.date())
    detected = _language(facts, title, lang)
    try:
        if facts.past:
            raise Unclear("past")
        if facts.too_often:
            raise Unclear("too_often")
        if facts.invalid_date:
            raise Unclear("ambiguous_date")
        if not facts.found():
            raise Unclear("ambiguous_date" if facts.vague else "no_time")
        when = (_repeating if facts.repeats else _one_off)(facts, local_now, zone)
        if not title:
            raise Unclear("no_title")
    except Unclear as unclear:
        unclear.lang = detected
        raise
    return Parsed(title, when, detected)


def next_occurrence(when: When, after: datetime) -> datetime | None:
    """The next start strictly after `after`; None if it does not repeat or has no more."""
    if when.rrule is None:
        return None
    zone = when.start.tzinfo
    if zone is None:
        raise ValueError("when.start must be timezone-aware")
    if when.start > after:
        return when.start  # the start is always the first occurrence (RFC 5545 DTSTART)
    found = _occurrence_after(when.rrule, when.start.replace(tzinfo=None), zone, after)
    return found[1] if found else None


# ---------------------------------------------------------------------------------------------
# Saying it back.

_DAY_NAMES = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "es": ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
}
_DAY_PLURALS_ES = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábados", "domingos"]
_MONTH_NAMES = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
    "es": ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"],
}
_ORDINAL_NAMES = {
    "en": {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"},
    "es": {1: "primer", 2: "segundo", 3: "tercer", 4: "cuarto", -1: "último"},
}


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _format_day(day: date, lang: str, *, with_year: bool = True) -> str:
    weekday = _DAY_NAMES[lang][day.weekday()]
    month = _MONTH_NAMES[lang][day.month - 1]
    if lang == "es":
        return f"{weekday} {day.day} de {month}" + (f" de {day.year}" if with_year else "")
    return f"{weekday} {day.day} {month}" + (f" {day.year}" if with_year else "")


def _format_clock(moment: datetime, lang: str) -> str:
    clock = f"{moment:%H:%M:%S}" if moment.second else f"{moment:%H:%M}"  # "in 30 seconds"
    if lang == "es":
        return f"{'a la' if moment.hour == 1 else 'a las'} {clock}"  # "a la una"
    return f"at {clock}"


def _join(words: list[str], lang: str) -> str:
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + (" y " if lang == "es" else " and ") + words[-1]


def _english_ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10,
                                                                                     "th")
    return f"{number}{suffix}"


def _describe_rule(text: str, lang: str) -> str:
    """An RRULE in words: "every Monday", "todos los lunes"; the raw rule if it is unusual."""
    fields = _rule_fields(text)
    fields.pop("UNTIL", None)  # said apart, as a day in the user's zone
    clock = ""
    if fields.get("BYHOUR", "").isdigit() and fields.get("BYMINUTE", "").isdigit():
        # Only written when the first one fell in a DST gap: say the time the rule keeps.
        moment = datetime(2000, 1, 1, int(fields.pop("BYHOUR")), int(fields.pop("BYMINUTE")))
        clock = " " + _format_clock(moment, lang)
    words = _describe_fields(fields, lang)
    return f"RRULE {text}" if words is None else words + clock


def _describe_fields(fields: dict[str, str], lang: str) -> str | None:
    es = lang == "es"
    freq = fields.pop("FREQ", "")
    interval = int(fields.pop("INTERVAL", "1"))
    days = [day for day in fields.pop("BYDAY", "").split(",") if day]
    monthday = fields.pop("BYMONTHDAY", None)
    month = fields.pop("BYMONTH", None)
    if fields:  # COUNT, BYSETPOS...: not worth putting into words
        return None
    if freq in ("MINUTELY", "HOURLY", "DAILY") and not (days or monthday or month):
        if interval == 1:
            english = {"MINUTELY": "every minute", "HOURLY": "every hour", "DAILY": "every day"}
            spanish = {"MINUTELY": "cada minuto", "HOURLY": "cada hora", "DAILY": "todos los días"}
            return (spanish if es else english)[freq]
        english = {"MINUTELY": "minutes", "HOURLY": "hours", "DAILY": "days"}
        spanish = {"MINUTELY": "minutos", "HOURLY": "horas", "DAILY": "días"}
        return f"cada {interval} {spanish[freq]}" if es else f"every {interval} {english[freq]}"
    if freq == "WEEKLY" and all(day in _RRULE_DAYS for day in days) and not (monthday or month):
        numbers = sorted(_RRULE_DAYS.index(day) for day in days)
        if numbers == [0, 1, 2, 3, 4] and interval == 1:
            return "de lunes a viernes" if es else "every weekday (Monday to Friday)"
        if numbers == [5, 6] and interval == 1:
            return "todos los fines de semana" if es else "every weekend"
        if es:
            names = _join([_DAY_PLURALS_ES[n] for n in numbers], "es")
            if interval == 1:
                return f"todos los {names}" if names else "todas las semanas"
            return f"cada {interval} semanas" + (f", los {names}" if names else "")
        names = _join([_DAY_NAMES["en"][n] for n in numbers], "en")
        if interval == 1:
            return f"every {names}" if names else "every week"
        return f"every {interval} weeks" + (f" on {names}" if names else "")
    if freq == "MONTHLY" and not month:
        if es:
            every = "todos los meses" if interval == 1 else f"cada {interval} meses"
        else:
            every = "every month" if interval == 1 else f"every {interval} months"
        if monthday and monthday.isdigit() and not days:
            if es:
                return f"{every}, el día {monthday}"
            return f"{every} on the {_english_ordinal(int(monthday))}"
        position = re.fullmatch(r"(-?\d)(MO|TU|WE|TH|FR|SA|SU)", days[0]) if days else None
        if position and len(days) == 1 and not monthday and int(position[1]) in (1, 2, 3, 4, -1):
            which = _ORDINAL_NAMES[lang][int(position[1])]
            weekday = _DAY_NAMES[lang][_RRULE_DAYS.index(position[2])]
            return f"el {which} {weekday} de cada mes" if es and interval == 1 else (
                f"{every}, el {which} {weekday}" if es else f"{every} on the {which} {weekday}")
        return every if not (days or monthday) else None
    if freq == "YEARLY" and not days:
        if es:
            every = "todos los años" if interval == 1 else f"cada {interval} años"
        else:
            every = "every year" if interval == 1 else f"every {interval} years"
        if month and monthday and month.isdigit() and monthday.isdigit():
            name = _MONTH_NAMES[lang][int(month) - 1]
            return f"{every}, el {monthday} de {name}" if es else f"{every} on {monthday} {name}"
        return every if not (month or monthday) else None
    return None


def describe(when: When, lang: str) -> str:
    """The exact time in words, in the user's timezone: what to echo back before saving."""
    lang = lang if lang in ("en", "es") else "en"
    start = when.start
    zone = start.tzinfo
    zone_name = getattr(zone, "key", None) or start.tzname() or "UTC"
    text = f"{_format_day(start.date(), lang)} {_format_clock(start, lang)} ({zone_name})"
    if when.rrule:
        text += ", " + _describe_rule(when.rrule, lang)
        if zone is not None:
            until = _split_until(when.rrule, zone)[1]
            if until is not None:
                last = _format_day(until.astimezone(zone).date(), lang)
                text += f", hasta el {last}" if lang == "es" else f", until {last}"
    if not when.time_given:
        if lang == "es":
            assumed = f"la {start:%H:%M}" if start.hour == 1 else f"las {start:%H:%M}"
            text += f" — no se indicó la hora, se asume{'' if start.hour == 1 else 'n'} {assumed}"
        else:
            text += f" — no time was given, {start:%H:%M} assumed"
    return text
