"""Turning the facts into a `When`; RRULE checks and the next occurrence."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from itertools import islice, pairwise
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped]
from dateutil.rrule import rrulestr  # type: ignore[import-untyped]

from workers.agenda.when.facts import _Clock, _DateFact, _Facts, _Repeat, _TimeFact
from workers.agenda.when.model import (
    _RECENTLY_PAST,
    DEFAULT_HOUR,
    MAX_YEARS_AHEAD,
    MIN_REPEAT,
    MIN_REPEAT_MINUTES,
    PART_HOURS,
    Parsed,
    Unclear,
    When,
)
from workers.agenda.when.reading import _language, _read
from workers.agenda.when.vocabulary import _RRULE_DAYS


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
    return dict(part.split("=", 1) for part in normalize_rule(text).split(";") if "=" in part)


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
