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

from workers.agenda.when.model import (
    DEFAULT_HOUR,
    MAX_YEARS_AHEAD,
    MIN_REPEAT,
    MIN_REPEAT_MINUTES,
    PART_HOURS,
    REASONS,
    Parsed,
    Unclear,
    When,
)
from workers.agenda.when.resolving import (
    RULE_WINDOW_YEARS,
    RuleError,
    check_rule,
    next_occurrence,
    normalize_rule,
    parse_event,
)
from workers.agenda.when.saying import describe

__all__ = [
    "DEFAULT_HOUR",
    "MAX_YEARS_AHEAD",
    "MIN_REPEAT",
    "MIN_REPEAT_MINUTES",
    "PART_HOURS",
    "REASONS",
    "RULE_WINDOW_YEARS",
    "Parsed",
    "RuleError",
    "Unclear",
    "When",
    "check_rule",
    "describe",
    "next_occurrence",
    "normalize_rule",
    "parse_event",
]
