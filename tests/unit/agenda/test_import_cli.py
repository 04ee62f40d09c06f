"""`estafeta import-agenda`: what it checks and sends, without a broker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from estafeta import celery_config as worker_app
from estafeta import cli
from estafeta.settings import Settings
from workers.agenda import calendar


class _Client:
    """A Celery client that keeps what it is asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[Any, ...]] = []

    def send_task(self, name: str, args: tuple[Any, ...], **_: Any) -> None:
        self.sent.append(args)


def test_each_event_is_checked_once_and_only_the_good_ones_are_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "agenda.json"
    path.write_text(json.dumps([
        {"title": "Standup", "start": "2027-01-04T09:00", "rrule": "FREQ=WEEKLY;BYDAY=MO",
         "uid": "s"},
        {"title": "Flood", "start": "2027-01-04T09:00", "rrule": "FREQ=MINUTELY", "uid": "f"},
        {"title": "Launch", "start": "2027-02-01T16:30", "uid": "l"},
    ]))
    checked: list[str] = []
    real_check = calendar.check_rule

    def counting_check(text: str, start: Any) -> None:
        checked.append(text)
        real_check(text, start)

    client = _Client()
    monkeypatch.setattr(calendar, "check_rule", counting_check)
    monkeypatch.setattr(worker_app, "celery_client", lambda settings: client)
    settings = Settings.from_env({"DATA_DIR": str(tmp_path)})
    assert cli.import_agenda(settings, path, "T1", "C1", "UTC", remind=True,
                                      private=False) == 0
    # A rule check may walk many occurrences: each rule is checked once, not once per use.
    assert sorted(checked) == ["FREQ=MINUTELY", "FREQ=WEEKLY;BYDAY=MO"]
    ((team, channel, events),) = client.sent
    assert (team, channel) == ("T1", "C1")
    assert [e["uid"] for e in events] == ["s", "l"]
    assert "not importing 'f'" in capsys.readouterr().err
