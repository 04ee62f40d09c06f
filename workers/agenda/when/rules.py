"""The rules that read a phrase: (language, pattern, handler), tried in order."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache

import dateparser  # type: ignore[import-untyped]
from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped]

from workers.agenda.when.facts import _DateFact, _Facts, _Repeat, _TimeFact
from workers.agenda.when.model import MIN_REPEAT_MINUTES
from workers.agenda.when.vocabulary import (
    _ADVERBS,
    _AMPM,
    _AND,
    _FREQUENCIES,
    _FUZZY_NUMBERS,
    _HOUR,
    _MONTH,
    _MONTH_WORDS,
    _NUM,
    _NUMBER_WORDS,
    _ORDINALS,
    _PARTS,
    _RRULE_DAYS,
    _START,
    _UNIT_EN,
    _UNIT_ES,
    _UNITS,
    _WD,
    _WD_EN,
    _WD_EN_PLURAL,
    _WD_ES,
    _WD_LIST,
    _WEEKDAY_WORDS,
    _alt,
)

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
