"""The agenda end to end: signed slash commands, real agenda workers and beats, the fake Slack."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient

import routing
from estafeta.celery_config import celery_client
from gateway import create_app
from slacksim.fake_slack import FakeSlack
from slacksim.signing import SlackSigner
from tests.conftest import API_TOKEN, OTHER_API_TOKEN, OTHER_TEAM, TEAM
from tests.integration.broker import BeatProcess, Vhost, WorkerProcess
from tests.integration.conftest import settings_for, worker_env
from workers import droppable  # noqa: F401  (its publish hook, as in beat)
from workers.agenda.sqlite_store import SqliteAgendaStore

LATE_SECONDS = 3
LEASE_CHECK = 3  # seconds to watch for a failed batch coming back


@dataclass
class AgendaStack:
    """Agenda workers and beats on a vhost of their own, and a gateway publishing to them."""

    vhost: Vhost
    data_dir: Path
    env: dict[str, str]
    app: Flask
    workers: list[WorkerProcess] = field(default_factory=list)
    beats: list[BeatProcess] = field(default_factory=list)

    @property
    def store(self) -> SqliteAgendaStore:
        return SqliteAgendaStore(self.data_dir / "agenda.sqlite")

    def start(self, workers: int = 1, beats: int = 1) -> None:
        """Start more agenda workers and beats."""
        log_dir = self.data_dir / "logs"
        log_dir.mkdir(exist_ok=True)
        started = [WorkerProcess(routing.AGENDA, self.env, log_dir) for _ in range(workers)]
        for worker in started:
            worker.wait_consuming(self.vhost)
        self.workers += started
        self.beats += [BeatProcess(self.env, log_dir) for _ in range(beats)]

    def halt(self, crash: bool = False) -> None:
        """Stop every worker (kill -9 when `crash`) and beat."""
        for beat in self.beats:
            beat.stop()
        for worker in self.workers:
            worker.kill() if crash else worker.stop()
        self.workers, self.beats = [], []


@contextmanager
def agenda_stack(tmp_path: Path, slack: FakeSlack) -> Iterator[AgendaStack]:
    vhost = Vhost("agenda")
    env = {**worker_env(vhost, tmp_path, slack), "REMINDER_LATE_SECONDS": str(LATE_SECONDS)}
    app = create_app({"SETTINGS": settings_for(vhost, tmp_path, slack)})
    stack = AgendaStack(vhost, tmp_path, env, app)
    try:
        yield stack
    finally:
        stack.halt()
        app.extensions["estafeta"].publisher.close()
        vhost.delete()


@pytest.fixture
def two_of_each(rabbitmq: None, tmp_path: Path, fake_slack: FakeSlack
                ) -> Iterator[AgendaStack]:
    """Two agenda workers and, by mistake, two beats."""
    with agenda_stack(tmp_path, fake_slack) as stack:
        stack.start(workers=2, beats=2)
        yield stack


def _slash(client: FlaskClient, signer: SlackSigner, slack: FakeSlack, text: str,
           user: str = "U0001", channel: str = "C0001") -> str:
    url = slack.response_url()
    body, headers = signer.slash_command("/agenda", text, response_url=url, user=user,
                                         channel=channel)
    response = client.post("/slack/commands", data=body, headers=headers)
    assert response.status_code == 200
    answers = slack.wait_for(lambda: slack.responses(url), timeout=20)
    assert len(answers) == 1
    return str(answers[0]["text"])


def _event_id(answer: str) -> int:
    match = re.search(r"`#(\d+)`", answer)
    assert match, answer
    return int(match.group(1))


def test_add_list_search_and_cancel_through_slash_commands(
    two_of_each: AgendaStack, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    client = two_of_each.app.test_client()
    added = _slash(client, signer, fake_slack, "add standup every monday at 9")
    event_id = _event_id(added)
    assert "09:00" in added and "Europe/Madrid" in added
    spanish = _slash(client, signer, fake_slack, "añade revisión del despliegue mañana a las 10")
    assert "10:00" in spanish and "Añadido" in spanish
    listed = _slash(client, signer, fake_slack, "list week")
    assert "standup" in listed and "revisión del despliegue" in listed
    assert "standup" in _slash(client, signer, fake_slack, "search STANDUP")
    # Someone else may not cancel it; its owner may.
    denied = _slash(client, signer, fake_slack, f"cancel {event_id}", user="U0002")
    assert "Only the person" in denied
    assert "Cancelled" in _slash(client, signer, fake_slack, f"cancel {event_id}")
    assert "standup" not in _slash(client, signer, fake_slack, "list week")
    unclear = _slash(client, signer, fake_slack, "add send the report")
    assert "/agenda" in unclear  # an example, not a guessed date


def test_reminders_are_posted_at_their_time_exactly_once_with_two_workers_and_two_beats(
    two_of_each: AgendaStack, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    client = two_of_each.app.test_client()
    users = [f"UREM{n}" for n in range(6)]
    for user in users:
        _slash(client, signer, fake_slack, f"remind me to stretch {user} in 5 seconds",
               user=user)
    due = {user: two_of_each.store.owned(TEAM, user)[0].start_at for user in users}
    dms = {f"D{user.lstrip('U')}": user for user in users}
    fake_slack.wait_for(lambda: all(fake_slack.posted(dm) for dm in dms), timeout=30)
    time.sleep(3)  # time enough for any second copy to show up
    for dm, user in dms.items():
        posts = fake_slack.posted(dm)
        assert len(posts) == 1, posts
        assert f"stretch {user}" in posts[0]["text"] and "Late" not in posts[0]["text"]
        posted_at = float(posts[0]["ts"].split(".")[0])
        assert posted_at >= int(due[user])  # never early
    assert two_of_each.store.pending() == 0


def test_a_worker_killed_mid_delivery_loses_nothing_and_posts_once(
    rabbitmq: None, tmp_path: Path, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    with agenda_stack(tmp_path, fake_slack) as stack:
        stack.start(workers=1, beats=1)
        client = stack.app.test_client()
        _slash(client, signer, fake_slack, "remind me to check the oven in 3 seconds",
               user="UOVEN")
        # Slack takes the post but answers slowly: the worker dies before it hears back.
        fake_slack.stall("chat.postMessage", seconds=8)
        fake_slack.wait_for(lambda: fake_slack.posted("DOVEN"), timeout=20)
        stack.halt(crash=True)
        stack.start(workers=1, beats=1)
        stack.vhost.wait_for_depth(routing.AGENDA.command_queue.name, 0, timeout=20)
        deadline = time.monotonic() + 20
        while stack.store.pending() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert stack.store.pending() == 0
        assert len(fake_slack.posted("DOVEN")) == 1


def test_reminders_missed_while_everything_was_down_are_delivered_late_on_recovery(
    rabbitmq: None, tmp_path: Path, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    with agenda_stack(tmp_path, fake_slack) as stack:
        stack.start(workers=1, beats=0)  # no beat yet: nothing is delivered
        client = stack.app.test_client()
        _slash(client, signer, fake_slack, "recuérdame regar las plantas dentro de 2 segundos",
               user="UPLANTS")
        _slash(client, signer, fake_slack, "remind me to stand up every day at 9am",
               user="UDAILY")
        stack.halt(crash=True)
        (daily,) = stack.store.owned(TEAM, "UDAILY")
        # The daily reminder's last occurrence was missed too (as after a long outage).
        missed = daily.start_at - 86400
        stack.store.db.execute("UPDATE agenda_events SET due_at = ?, ready_at = ? WHERE id = ?",
                               (missed, missed, daily.id))
        time.sleep(LATE_SECONDS + 2)
        stack.start(workers=1, beats=1)
        posts = fake_slack.wait_for(lambda: fake_slack.posted("DPLANTS"), timeout=30)
        assert len(posts) == 1 and "Con retraso" in posts[0]["text"]
        daily_posts = fake_slack.wait_for(lambda: fake_slack.posted("DDAILY"), timeout=30)
        assert len(daily_posts) == 1 and "Late" in daily_posts[0]["text"]
        # Posted first, then moved on to the next occurrence still to come: tomorrow 09:00.
        deadline = time.monotonic() + 10
        while (stack.store.by_id(daily.id) or daily).due_at == missed:
            assert time.monotonic() < deadline, "the daily reminder was not rescheduled"
            time.sleep(0.1)
        rescheduled = stack.store.by_id(daily.id)
        assert rescheduled is not None and rescheduled.due_at == daily.start_at


def test_each_user_gets_times_in_their_own_slack_timezone(
    two_of_each: AgendaStack, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    fake_slack.users["UTOKYO"] = {"tz": "Asia/Tokyo"}
    fake_slack.users["UNY"] = {"tz": "America/New_York"}
    client = two_of_each.app.test_client()
    tokyo = _slash(client, signer, fake_slack, "add sync tomorrow at 9am", user="UTOKYO")
    new_york = _slash(client, signer, fake_slack, "add sync every monday at 9am", user="UNY")
    assert "09:00" in tokyo and "Asia/Tokyo" in tokyo
    assert "09:00" in new_york and "America/New_York" in new_york
    stored = {user: two_of_each.store.owned(TEAM, user)[0] for user in ("UTOKYO", "UNY")}
    tomorrow = datetime.now(ZoneInfo("Asia/Tokyo")).date() + timedelta(days=1)
    expected = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9,
                        tzinfo=ZoneInfo("Asia/Tokyo"))
    assert stored["UTOKYO"].start_at == expected.timestamp()
    # The New York reminder recurs at 09:00 local across the change to summer time on
    # 14 March 2027: 14:00 UTC the Monday before, 13:00 UTC the Monday after.
    weekly = stored["UNY"]
    around_dst = list(weekly.occurrences(datetime(2027, 3, 8, tzinfo=ZoneInfo("UTC")),
                                         datetime(2027, 3, 16, tzinfo=ZoneInfo("UTC"))))
    assert [o.astimezone(ZoneInfo("UTC")).hour for o in around_dst] == [14, 13]
    assert [o.hour for o in around_dst] == [9, 9]


def test_an_add_retried_after_slack_failed_its_reply_adds_one_event(
    rabbitmq: None, tmp_path: Path, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    with agenda_stack(tmp_path, fake_slack) as stack:
        stack.start(workers=1, beats=0)
        client = stack.app.test_client()
        fake_slack.fail("response_url", 500)  # the first reply attempt: the task is retried
        answer = _slash(client, signer, fake_slack, "add deploy review in 2 hours",
                        user="URETRY")
        assert len(fake_slack.calls_to("response_url!500")) == 1
        (event,) = stack.store.owned(TEAM, "URETRY")
        assert _event_id(answer) == event.id


def _api_add(client: FlaskClient, text: str, channel: str, token: str = API_TOKEN) -> str:
    response = client.post("/api/v1/commands/agenda", json={"text": text, "channel": channel},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 202, response.get_json()
    return str(response.get_json()["task_id"])


def _api_result(client: FlaskClient, task_id: str, token: str) -> dict[str, object]:
    """The finished task's result, as its HTTP caller reads it."""
    url, headers = f"/api/v1/tasks/{task_id}", {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 20
    body = client.get(url, headers=headers).get_json()
    while body["state"] != "SUCCESS" and time.monotonic() < deadline:
        time.sleep(0.1)
        body = client.get(url, headers=headers).get_json()
    assert body["state"] == "SUCCESS", body
    result: dict[str, object] = body["result"]
    return result


def test_http_reminders_only_reach_a_public_channel_the_bot_is_in(
    rabbitmq: None, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    with agenda_stack(tmp_path, fake_slack) as stack:
        stack.start(workers=1, beats=1)
        client = stack.app.test_client()
        fake_slack.bot_channels.update({"CJOINED", "GSECRET"})
        refused = ["CSTRANGER", "GSECRET", "DSOMEONE"]
        # A token of another team may not use the bot's workspace, even its joined channel.
        elsewhere = _api_add(client, "add ping elsewhere in 3 seconds", "CJOINED",
                             OTHER_API_TOKEN)
        assert _api_result(client, elsewhere, OTHER_API_TOKEN)["data"] == {
            "error": "channel_not_allowed", "reason": "other_workspace"}
        for channel in [*refused, "CJOINED"]:
            _api_add(client, f"add ping {channel} in 3 seconds", channel)
        posts = fake_slack.wait_for(lambda: fake_slack.posted("CJOINED"), timeout=30)
        assert len(posts) == 1 and "ping CJOINED" in posts[0]["text"]
        assert stack.store.owned(OTHER_TEAM, "api") == []
        asked = {c.params["channel"] for c in fake_slack.calls_to("conversations.info")}
        assert asked == {*refused, "CJOINED"}
        for channel in refused:
            assert fake_slack.posted(channel) == []
        (stored,) = stack.store.owned(TEAM, "api")  # the refused ones stored nothing
        assert stored.channel == "CJOINED"


def test_a_reminder_slack_refuses_is_paused_and_the_others_are_posted(
    rabbitmq: None, tmp_path: Path, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    with agenda_stack(tmp_path, fake_slack) as stack:
        stack.start(workers=1, beats=0)
        client = stack.app.test_client()
        users = ["UGONE", "UOK1", "UOK2"]
        for user in users:
            _slash(client, signer, fake_slack, f"remind me to stretch {user} in 3 seconds",
                   user=user)
        fake_slack.refusals["DGONE"] = "user_not_found"  # deactivated since
        stack.start(workers=0, beats=1)
        fake_slack.wait_for(lambda: fake_slack.posted("DOK1") and fake_slack.posted("DOK2"),
                            timeout=30)
        (gone,) = stack.store.owned(TEAM, "UGONE")
        deadline = time.monotonic() + 10
        while (stack.store.by_id(gone.id) or gone).paused_at is None:
            assert time.monotonic() < deadline, "the refused reminder was not paused"
            time.sleep(0.1)
        time.sleep(LEASE_CHECK)  # a batch that kept failing would come back: it must not
        assert stack.store.pending() == 0
        assert len(fake_slack.calls_to("chat.postMessage!user_not_found")) == 2  # + notice
        assert len(fake_slack.posted("DOK1")) == 1 and len(fake_slack.posted("DOK2")) == 1


def test_an_expired_scan_is_dropped_not_dead_lettered_and_the_worker_goes_on(
    rabbitmq: None, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    commands, dead = routing.AGENDA.command_queue.name, routing.AGENDA.dead_queue.name
    with agenda_stack(tmp_path, fake_slack) as stack:
        client = celery_client(settings_for(stack.vhost, tmp_path, fake_slack))
        past = datetime.now(ZoneInfo("UTC")) - timedelta(minutes=5)
        # Published while no agenda worker runs, as beat publishes: no broker TTL to run out.
        stale = [client.send_task(routing.REMINDER_SCAN_TASK, expires=past,
                                  priority=int(routing.Priority.REMINDER)).id for _ in range(3)]
        time.sleep(1)
        assert stack.vhost.depth(commands) == 3 and stack.vhost.depth(dead) == 0
        stack.start(beats=0)
        assert stack.vhost.wait_for_depth(commands, 0) == 0
        fresh = client.send_task(routing.REMINDER_SCAN_TASK,
                                 priority=int(routing.Priority.REMINDER)).id
        worker = stack.workers[0]
        deadline = time.monotonic() + 15
        while f"agenda.scan[{fresh}] succeeded" not in worker.log():
            assert time.monotonic() < deadline, worker.log()[-3000:]
            time.sleep(0.2)
        assert stack.vhost.depth(dead) == 0
        log = worker.log()
        assert all(f"agenda.scan[{task_id}] succeeded" not in log for task_id in stale)
        assert log.count("dropping expired agenda.scan") == 1  # once per burst at INFO
        client.close()
