"""iCalendar export and import, JSON catalogues."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from workers.agenda.calendar import AgendaFileError, ImportedEvent, read_agenda, read_ics, to_ics
from workers.agenda.imports import check_imported
from workers.agenda.sqlite_store import SqliteAgendaStore
from workers.agenda.store import NewEvent
from workers.agenda.when import When


def test_export_round_trips_through_import(tmp_path: Path) -> None:
    store = SqliteAgendaStore(tmp_path / "agenda.sqlite")
    start = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Madrid"))
    store.add(NewEvent(team="T1", channel="", owner="U1", title="Reunión de equipo",
                       when=When(start, "FREQ=WEEKLY;BYDAY=MO", True), lang="es",
                       notify="D1", public=False))
    store.add(NewEvent(team="T1", channel="", owner="U1", title="Day off",
                       when=When(start.replace(hour=9), None, False), lang="en",
                       notify="D1", public=False))
    content = to_ics(store.owned("T1", "U1"))
    calendar = icalendar.Calendar.from_ical(content)
    assert calendar.walk("VTIMEZONE")  # the zone travels with the file
    events = {e.title: e for e in read_ics(content, "UTC")}
    weekly = events["Reunión de equipo"]
    assert (weekly.start_local, weekly.tz, weekly.rrule, weekly.time_given) == (
        "2026-11-23T09:00", "Europe/Madrid", "FREQ=WEEKLY;BYDAY=MO", True)
    day_off = events["Day off"]
    assert (day_off.start_local, day_off.time_given) == ("2026-11-23T09:00", False)


def test_json_catalogue_with_and_without_timezones(tmp_path: Path) -> None:
    path = tmp_path / "holidays.json"
    path.write_text(json.dumps({"events": [
        {"title": "Año nuevo", "start": "2027-01-01", "uid": "ny"},
        {"title": "Launch", "start": "2027-02-01T16:30", "tz": "America/New_York"},
        {"title": "Review", "start": "2027-03-01T10:00:00+00:00", "rrule": "FREQ=MONTHLY"},
    ]}))
    events = read_agenda(path, "Europe/Madrid")
    assert [(e.title, e.start_local, e.tz, e.time_given, e.rrule) for e in events] == [
        ("Año nuevo", "2027-01-01T09:00", "Europe/Madrid", False, None),
        ("Launch", "2027-02-01T16:30", "America/New_York", True, None),
        ("Review", "2027-03-01T11:00", "Europe/Madrid", True, "FREQ=MONTHLY"),
    ]
    assert events[0].uid == "ny" and events[1].uid  # a stable uid even when none is given
    assert read_agenda(path, "Europe/Madrid") == events


@pytest.mark.parametrize(("name", "content", "message"), [
    ("a.json", "{not json", "not JSON"),
    ("a.json", '[{"title": "x"}]', "needs a `title` and a `start`"),
    ("a.json", '[{"title": "x", "start": "tomorrow"}]', "not ISO 8601"),
    ("a.json", '[{"title": "x", "start": "2027-01-01", "tz": "Mars/Base"}]', "timezone"),
    ("a.txt", "hello", "use an .ics or a .json file"),
])
def test_bad_files_are_refused_with_a_reason(tmp_path: Path, name: str, content: str,
                                             message: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(AgendaFileError, match=message):
        read_agenda(path, "UTC")


def test_imported_event_json_form_is_checked() -> None:
    event = ImportedEvent("x", "2027-01-01T09:00", "UTC", True, None, "u1")
    assert ImportedEvent.from_dict(event.as_dict()) == event
    with pytest.raises(ValueError):
        ImportedEvent.from_dict({**event.as_dict(), "start_local": "soon"})
    with pytest.raises(KeyError):
        ImportedEvent.from_dict({"title": "x"})


@pytest.mark.parametrize(("rule", "reason"), [
    ("FREQ=WEEKLY;BYDAY=XX", "not a valid RRULE"),
    ("FREQ=SOMETIMES", "FREQ must be one of"),
    ("FREQ=DAILY;INTERVAL=0", "INTERVAL"),
    ("FREQ=MINUTELY", "more often than every 5 minutes"),
    ("FREQ=MINUTELY;INTERVAL=4", "more often than every 5 minutes"),
    ("FREQ=SECONDLY;INTERVAL=600", "more often than every 5 minutes"),
    ("FREQ=HOURLY;BYMINUTE=0,1,2", "more often than every 5 minutes"),
    ("FREQ=DAILY;BYHOUR=9;BYMINUTE=0;BYSECOND=0,30", "more often than every 5 minutes"),
    ("FREQ=MINUTELY;INTERVAL=5;BYMONTH=2;BYMONTHDAY=30", "may only be narrowed"),
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "no occurrence"),
    ("FREQ=WEEKLY\nBYDAY=MO", "not an RRULE value"),
])
def test_imported_rules_that_cannot_be_read_or_repeat_too_often_are_refused(
    rule: str, reason: str
) -> None:
    event = ImportedEvent("x", "2027-01-04T09:00", "Europe/Madrid", True, rule, "u1")
    problem = event.problem()
    assert problem is not None and reason in problem


@pytest.mark.parametrize("rule", ["FREQ=WEEKLY;BYDAY=MO", "FREQ=MINUTELY;INTERVAL=5",
                                  "FREQ=HOURLY;BYMINUTE=0,30", "FREQ=DAILY;COUNT=3",
                                  "FREQ=MONTHLY;UNTIL=20271231T230000Z"])
def test_ordinary_imported_rules_are_accepted(rule: str) -> None:
    assert ImportedEvent("x", "2027-01-04T09:00", "UTC", True, rule, "u1").problem() is None


def test_an_import_refuses_the_bad_rule_and_stores_the_others(tmp_path: Path) -> None:
    path = tmp_path / "agenda.json"
    path.write_text(json.dumps([
        {"title": "Standup", "start": "2027-01-04T09:00", "rrule": "RRULE:freq=weekly;byday=MO"},
        {"title": "Flood", "start": "2027-01-04T09:00", "rrule": "FREQ=MINUTELY", "uid": "f"},
        {"title": "Broken", "start": "2027-01-04T09:00", "rrule": "FREQ=WEEKLY;BYDAY=XX",
         "uid": "b"},
        {"title": "Launch", "start": "2027-02-01T16:30"},
    ]))
    wire = [ImportedEvent.from_dict(e.as_dict()) for e in read_agenda(path, "UTC")]
    accepted, refused = check_imported(wire)
    assert [e.title for e in accepted] == ["Standup", "Launch"]
    assert accepted[0].rrule == "FREQ=WEEKLY;BYDAY=MO"  # stored in its plain form
    assert [r["uid"] for r in refused] == ["f", "b"]
    assert "every 5 minutes" in refused[0]["error"] and "BYDAY" in refused[1]["error"]
    store = SqliteAgendaStore(tmp_path / "agenda.sqlite")
    stored = store.upsert_imported(
        (e.to_new_event("T1", "C1", True, True) for e in accepted), remind=True)
    assert stored == 2
