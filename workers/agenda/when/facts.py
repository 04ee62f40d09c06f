"""What the rules find in a phrase."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped]


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
