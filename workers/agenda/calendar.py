"""iCalendar and JSON: exporting a user's events, importing a channel's agenda.

Imported events are plain JSON dicts on the wire (`ImportedEvent.as_dict`), so that the
command-line tool parses files where they are and the bulk task carries no file. Their rules
come from files nobody checked: `ImportedEvent.problem` refuses one that cannot be read or
repeats more often than `when.MIN_REPEAT`, for that event alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar

from workers.agenda.store import Event, NewEvent
from workers.agenda.when import DEFAULT_HOUR, RuleError, When, check_rule, normalize_rule

PRODID = "-//Estafeta//agenda//EN"
EVENT_LENGTH = timedelta(minutes=30)  # an event has a start only; calendars want an end


class AgendaFileError(ValueError):
    """A file that is not an agenda this module can read."""


def to_ics(events: Iterable[Event]) -> bytes:
    """An iCalendar file (RFC 5545) of `events`, with their timezones and recurrence rules."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    stamp = datetime.now(ZoneInfo("UTC"))
    for event in events:
        item = icalendar.Event()
        item.add("uid", event.uid or f"{event.team}-{event.id}@estafeta")
        item.add("summary", event.title)
        item.add("dtstamp", stamp)
        start = event.when.start
        if event.time_given:
            item.add("dtstart", start)
            item.add("dtend", start + EVENT_LENGTH)
        else:
            item.add("dtstart", start.date())
        if event.rrule:
            item.add("rrule", icalendar.vRecur.from_ical(event.rrule))
        calendar.add_component(item)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


@dataclass(frozen=True)
class ImportedEvent:
    """One event read from a file: wall-clock start in `tz`, optional rule and uid."""

    title: str
    start_local: str  # ISO date-time without offset
    tz: str
    time_given: bool
    rrule: str | None
    uid: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON form carried by the import task."""
        return asdict(self)

    @property
    def start(self) -> datetime:
        """The first start, in the event's own zone."""
        return datetime.fromisoformat(self.start_local).replace(tzinfo=ZoneInfo(self.tz))

    def problem(self) -> str | None:
        """Why this event cannot be imported (its rule), or None."""
        if self.rrule is None:
            return None
        start = self.start
        try:
            check_rule(self.rrule, start)
        except RuleError as exc:
            return f"RRULE refused: {exc}"
        return None

    def to_new_event(self, team: str, channel: str, remind: bool, public: bool,
                     lang: str = "en") -> NewEvent:
        """The store's form, in the agenda of `channel`."""
        start = self.start
        return NewEvent(team=team, channel=channel, owner="", title=self.title,
                        when=When(start=start, rrule=self.rrule, time_given=self.time_given),
                        lang=lang, notify=channel if remind else "", public=public,
                        uid=self.uid)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportedEvent:
        """Rebuild and check the JSON form (raises `ValueError`/`KeyError` when malformed)."""
        event = cls(title=str(data["title"]).strip(), start_local=str(data["start_local"]),
                    tz=_zone(str(data["tz"])), time_given=bool(data["time_given"]),
                    rrule=normalize_rule(str(data["rrule"])) if data.get("rrule") else None,
                    uid=str(data["uid"]))
        datetime.fromisoformat(event.start_local)
        if not event.title:
            raise ValueError("an event needs a title")
        return event


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise AgendaFileError(f"unknown timezone {name!r}") from exc
    return name


def _local(value: date | datetime, default_tz: str) -> tuple[str, str, bool]:
    """(wall-clock ISO start, timezone, time given) of a DTSTART or a JSON start."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.isoformat(timespec="minutes"), default_tz, True
        key = getattr(value.tzinfo, "key", None)
        if key:  # keep the event's own zone, so that its recurrences keep their wall time
            return value.replace(tzinfo=None).isoformat(timespec="minutes"), key, True
        local = value.astimezone(ZoneInfo(default_tz))
        return local.replace(tzinfo=None).isoformat(timespec="minutes"), default_tz, True
    start = datetime.combine(value, time(DEFAULT_HOUR))
    return start.isoformat(timespec="minutes"), default_tz, False


def read_ics(content: bytes, default_tz: str) -> Iterator[ImportedEvent]:
    """The VEVENTs of an iCalendar file."""
    try:
        calendar = icalendar.Calendar.from_ical(content)
    except ValueError as exc:
        raise AgendaFileError(f"not an iCalendar file: {exc}") from exc
    for index, item in enumerate(calendar.walk("VEVENT")):
        start = item.get("dtstart")
        title = str(item.get("summary") or "").strip()
        if start is None or not title:
            continue
        start_local, tz, time_given = _local(start.dt, default_tz)
        rule = item.get("rrule")
        yield ImportedEvent(
            title=title, start_local=start_local, tz=tz, time_given=time_given,
            rrule=normalize_rule(rule.to_ical().decode()) if rule is not None else None,
            uid=str(item.get("uid") or f"ics-{index}-{start_local}-{title}")[:200],
        )


def read_json(content: bytes, default_tz: str) -> Iterator[ImportedEvent]:
    """A JSON catalogue: a list of `{"title", "start", "tz"?, "rrule"?, "uid"?}` objects, or
    an object with such a list under `events`; `start` is ISO 8601 (a date means all day)."""
    try:
        data = json.loads(content)
    except ValueError as exc:
        raise AgendaFileError(f"not JSON: {exc}") from exc
    items = data.get("events") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise AgendaFileError("expected a list of events (or {\"events\": [...]})")
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("title") or not item.get("start"):
            raise AgendaFileError(f"event {index} needs a `title` and a `start`")
        raw = str(item["start"])
        try:
            value: date | datetime = (datetime.fromisoformat(raw) if "T" in raw or " " in raw
                                      else date.fromisoformat(raw))
        except ValueError as exc:
            raise AgendaFileError(f"event {index}: `start` {raw!r} is not ISO 8601") from exc
        tz = _zone(str(item.get("tz") or default_tz))
        start_local, tz, time_given = _local(value, tz)
        yield ImportedEvent(
            title=str(item["title"]).strip(), start_local=start_local, tz=tz,
            time_given=time_given,
            rrule=normalize_rule(str(item["rrule"])) if item.get("rrule") else None,
            uid=str(item.get("uid") or item.get("id") or f"json-{index}-{raw}-{item['title']}"
                    )[:200],
        )


def read_agenda(path: Path, default_tz: str) -> list[ImportedEvent]:
    """The events of an `.ics` or `.json` file."""
    _zone(default_tz)
    content = path.read_bytes()
    if path.suffix.lower() in {".ics", ".ical", ".ifb", ".icalendar"}:
        return list(read_ics(content, default_tz))
    if path.suffix.lower() == ".json":
        return list(read_json(content, default_tz))
    raise AgendaFileError(f"{path.name}: use an .ics or a .json file")
