"""Two hosts that share only RabbitMQ and one PostgreSQL database behave as one system.

Each host has its own `DATA_DIR` and port, a real gunicorn gateway, a worker per service and a
beat; Slack (the fake) may send any request to either host, as a load balancer would.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import parse_qs

import psycopg
import pytest

import routing
from estafeta import grammar
from estafeta.celery_config import celery_client
from estafeta.payloads import Context, ReplyTarget
from estafeta.stores import open_stores
from gateway.jobs import Dispatcher, event_task_id
from gateway.publisher import Publisher
from slacksim.fake_slack import FakeSlack
from slacksim.signing import SlackSigner, mention_event, message_event
from tests.conftest import API_TOKEN, OTHER_API_TOKEN, TEAM, empty_postgres
from tests.integration.broker import Vhost
from tests.integration.hosts import Host, eventually, running, stays, tap, wait_ready

pytestmark = pytest.mark.integration

SETTLE = 2.0  # seconds a second copy of a reply gets to show up before counting
WORKING = "Working on it…"
ALREADY = "Already received; it is being worked on."
APOLOGY = "Sorry, something went wrong"


@dataclass
class System:
    """Hosts A and B on one vhost and one database."""

    vhost: Vhost
    a: Host
    b: Host


@pytest.fixture(scope="module")
def system(rabbitmq: None, postgres_url: str, fake_slack_server: FakeSlack,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """Two hosts with a gateway, a worker per service and a beat each (started once)."""
    empty_postgres(postgres_url)
    vhost = Vhost("two-hosts")
    root = tmp_path_factory.mktemp("two-hosts")
    a = Host("a", vhost, postgres_url, fake_slack_server, root / "a", beat=True)
    b = Host("b", vhost, postgres_url, fake_slack_server, root / "b", beat=True)
    try:
        with running(vhost, [a, b]):
            yield System(vhost, a, b)
    finally:
        vhost.delete()


def _slash(host: Host, signer: SlackSigner, slack: FakeSlack, command: str, text: str,
           **fields: str) -> str:
    """A slash command through `host`; the one answer posted to its response_url."""
    url = slack.response_url()
    answer = host.slash(signer, command, text, url, **fields)
    assert answer.status == 200, answer.body
    (reply,) = slack.wait_for(lambda: slack.responses(url), timeout=20)
    return str(reply["text"])


def _slash_until(expected: str, host: Host, signer: SlackSigner, slack: FakeSlack,
                 command: str, text: str, **fields: str) -> str:
    """Ask again until the answer contains `expected`: heard messages are taken in async."""
    return str(eventually(
        lambda: (answer if expected in (answer := _slash(host, signer, slack, command, text,
                                                         **fields)) else None),
        timeout=20, message=f"{command} {text!r} on host {host.name} never said {expected!r}"))


def _dm(user: str) -> str:
    """The direct conversation the fake Slack opens with `user`."""
    return "D" + user.lstrip("UW")


def test_a_slack_retry_reaching_the_other_host_is_acknowledged_and_not_published_again(
    system: System, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    event = mention_event("search help", channel="C2RETRY")
    with tap(system.vhost) as spy:
        first, event_id = system.a.event(signer, event)
        assert first.status == 200 and first.json == {"ok": True}, first.body
        # Slack did not hear the 200 in time and retries; the balancer sends it to B.
        retried, _ = system.b.event(signer, event, event_id=event_id, retry=1)
        assert retried.status == 200, retried.body
        assert retried.json.get("duplicate") is True, retried.json
        fake_slack.wait_for(lambda: fake_slack.posted("C2RETRY"), timeout=20)
        assert stays(lambda: len(fake_slack.posted("C2RETRY")) == 1, SETTLE), \
            fake_slack.posted("C2RETRY")
        published = spy.of(event_task_id(TEAM, event_id, "command"))
    assert len(published) == 1, published
    (post,) = fake_slack.posted("C2RETRY")
    assert post["thread_ts"] == event["ts"] and "/search" in post["text"]


def test_a_slash_command_replayed_through_both_gateways_at_once_runs_once(
    system: System, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    url = fake_slack.response_url()
    body, headers = signer.slash_command("/search", "help", response_url=url,
                                         channel="C2REPLAY")
    trigger = parse_qs(body.decode())["trigger_id"][0]
    start = threading.Barrier(2)

    def send(host: Host) -> str:
        start.wait()
        answer = host.request("POST", "/slack/commands", body, headers)
        assert answer.status == 200, answer.body
        return str(answer.json["text"])

    with tap(system.vhost) as spy, ThreadPoolExecutor(2) as pool:
        acks = sorted(pool.map(send, [system.a, system.b]))
        assert acks == sorted([WORKING, ALREADY]), acks
        fake_slack.wait_for(lambda: fake_slack.responses(url), timeout=20)
        assert stays(lambda: len(fake_slack.responses(url)) == 1, SETTLE)
        published = spy.of(event_task_id(TEAM, trigger, "command"))
    assert len(published) == 1, published


def test_a_task_delivered_on_both_hosts_at_once_replies_once(
    system: System, fake_slack: FakeSlack
) -> None:
    url = fake_slack.response_url()
    # Slack is slow to take the reply: the copy on the other host finds it claimed, not done.
    fake_slack.stall("response_url", seconds=1.0)
    settings = system.a.settings
    publisher = Publisher(settings.broker_url, declare=routing.declare_all)
    dispatcher = Dispatcher(celery_client(settings), publisher)
    task_id = event_task_id(TEAM, f"copies-{url}", "command")
    try:
        # Two copies of one task, as after a redelivery or a gateway that published twice:
        # the search workers of A and B (one message each, prefetch 1) take one each.
        for _ in range(2):
            dispatcher.command(grammar.parse("search", "help"),
                               Context(team=TEAM, channel="C2COPY", user="U0001",
                                       source="slash"),
                               ReplyTarget(kind="response_url", url=url), task_id=task_id)
    finally:
        publisher.close()
    received = f"search.command[{task_id}] received"
    succeeded = f"search.command[{task_id}] succeeded"
    eventually(lambda: (system.a.worker_logs() + system.b.worker_logs()).count(succeeded) >= 2,
               timeout=30, message="both copies of the task did not finish")
    assert received in system.a.worker_logs() and received in system.b.worker_logs(), \
        "the two copies were not delivered on both hosts"
    assert stays(lambda: len(fake_slack.responses(url)) == 1, SETTLE), \
        fake_slack.responses(url)


def test_a_reminder_is_posted_once_with_workers_and_beats_on_both_hosts(
    system: System, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    users = [f"U2REM{n}" for n in range(4)]
    for n, user in enumerate(users):
        host = system.a if n % 2 == 0 else system.b
        answer = _slash(host, signer, fake_slack, "/agenda",
                        f"remind me to stretch {user} in 4 seconds", user=user)
        assert "stretch" in answer, answer
    agenda = open_stores(system.a.settings, "agenda").events
    due = {user: agenda.owned(TEAM, user)[0].start_at for user in users}
    fake_slack.wait_for(lambda: all(fake_slack.posted(_dm(user)) for user in users), timeout=30)
    assert stays(lambda: all(len(fake_slack.posted(_dm(user))) == 1 for user in users), 3.0), \
        {user: fake_slack.posted(_dm(user)) for user in users}
    for user in users:
        (post,) = fake_slack.posted(_dm(user))
        assert f"stretch {user}" in post["text"] and "Late" not in post["text"], post
        assert float(post["ts"].split(".")[0]) >= int(due[user]), "posted before it was due"
    # Both beats sent scans and both hosts' agenda workers ran them: the race was real.
    for host in (system.a, system.b):
        assert "Sending due task agenda-due-reminders" in host.beat_log(), host.name
        assert "agenda.scan[" in host.worker_logs(), host.name
    assert agenda.pending() == 0


def test_an_http_task_accepted_by_one_gateway_is_read_from_the_other(
    system: System, postgres_url: str
) -> None:
    accepted = system.a.api("POST", "/commands/sentiment", API_TOKEN,
                            {"text": "analyze I love this, it is wonderful"})
    assert accepted.status == 202, accepted.body
    task_id = accepted.json["task_id"]
    # B knows whose task it is from the moment A accepted it, before any result exists.
    assert system.b.api("GET", f"/tasks/{task_id}", OTHER_API_TOKEN).status == 404
    done = eventually(
        lambda: (answer.json if (answer := system.b.api("GET", f"/tasks/{task_id}", API_TOKEN)
                                 ).json.get("state") == "SUCCESS" else None),
        timeout=20, message="host B never saw the task succeed")
    assert done["result"]["data"]["label"] == "positive", done
    assert system.b.api("GET", f"/tasks/{task_id}", OTHER_API_TOKEN).status == 404
    assert system.a.api("GET", f"/tasks/{task_id}", OTHER_API_TOKEN).status == 404
    with psycopg.connect(postgres_url) as connection:
        stored = connection.execute("SELECT count(*) FROM results.celery_taskmeta"
                                    " WHERE task_id = %s", (task_id,)).fetchone()
    assert stored == (1,), "the result is not in the database's `results` schema"
    # Nothing of the system's state is kept on a host: no SQLite store, no SQLite results.
    for host in (system.a, system.b):
        assert sorted(p.name for p in host.data_dir.rglob("*.sqlite*")) == [], host.name


def test_what_one_host_heard_is_searched_and_scored_through_the_other(
    system: System, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    heard_a, _ = system.a.event(signer, message_event(
        "the zeppelin deploy failed on staging", channel="C2SEARCH", user="U0ANA"))
    heard_b, _ = system.b.event(signer, message_event(
        "quokka release notes are ready", channel="C2SEARCH", user="U0BEA"))
    assert heard_a.status == heard_b.status == 200
    found = _slash_until("zeppelin", system.b, signer, fake_slack, "/search", "zeppelin",
                         channel="C2SEARCH")
    assert "<@U0ANA>" in found, found
    found = _slash_until("quokka", system.a, signer, fake_slack, "/search", "quokka",
                         channel="C2SEARCH")
    assert "<@U0BEA>" in found, found
    for text in ("Great work on the release, I love it", "Thanks, this is wonderful"):
        answer, _ = system.a.event(signer, message_event(text, channel="C2MOOD"))
        assert answer.status == 200
    mood = _slash_until("from 2 messages", system.b, signer, fake_slack, "/mood", "",
                        channel="C2MOOD")
    assert "positive" in mood.lower(), mood


def _redeliveries(postgres_url: str) -> int:
    """Redelivered tasks every service's ledger has counted."""
    union = " UNION ALL ".join(f"SELECT task_id FROM {name}.deliveries"
                               for name in routing.SERVICES)
    with psycopg.connect(postgres_url) as connection:
        row = connection.execute(f"SELECT count(*) FROM ({union}) AS counted").fetchone()
    assert row is not None
    return int(row[0])


def test_killing_one_hosts_workers_under_load_loses_nothing_and_repeats_nothing(
    system: System, signer: SlackSigner, fake_slack: FakeSlack, postgres_url: str
) -> None:
    a, b = system.a, system.b
    # Slack answers slowly: every worker is mid-task when host A's are killed, and a killed
    # post reached Slack without the worker hearing back (the hardest case for "once").
    fake_slack.stall("chat.postMessage", seconds=0.3, times=100_000)
    fake_slack.stall("users.info", seconds=0.3, times=100_000)
    before = _redeliveries(postgres_url)
    mentions: dict[str, str] = {}  # channel -> thread ts
    agenda_urls: dict[str, str] = {}  # response_url -> user

    def send(n: int) -> None:
        host = a if n % 2 == 0 else b
        if n % 3 == 2:
            user, url = f"U6AG{n:03d}", fake_slack.response_url()
            agenda_urls[url] = user
            answer = host.slash(signer, "/agenda", f"add sync {n} tomorrow at 9am", url,
                                user=user, channel="C6LOAD")
        else:
            channel = f"C6M{n:03d}"
            text = "search help" if n % 3 == 0 else "mood analyze what a wonderful day"
            event = mention_event(text, channel=channel)
            mentions[channel] = event["ts"]
            answer, _ = host.event(signer, event)
        assert answer.status == 200, (host.name, answer.status, answer.body)

    def answered() -> int:
        return (sum(1 for c in mentions if fake_slack.posted(c))
                + sum(1 for u in agenda_urls if fake_slack.responses(u)))

    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(send, range(30)))
            eventually(lambda: answered() >= 4, timeout=20, message="nothing was answered")
            a.kill_workers()  # kill -9, pool children included, mid-task
            list(pool.map(send, range(30, 60)))
        total = len(mentions) + len(agenda_urls)
        eventually(lambda: answered() == total, timeout=90,
                   message=f"only {answered()} of {total} commands were answered")
        # Time for any second copy (a redelivery that did not see the first post) to appear.
        time.sleep(SETTLE)
    finally:
        a.launch_workers()
        wait_ready(system.vhost, [a, b])

    posts = fake_slack.posted()
    assert len(posts) == len(mentions)
    keys = Counter(str((p.get("metadata") or {}).get("event_payload", {}).get("reply_key"))
                   for p in posts)
    assert [key for key, count in keys.items() if count > 1] == []
    for channel, ts in mentions.items():
        (post,) = fake_slack.posted(channel)
        assert post["thread_ts"] == ts and APOLOGY not in post["text"], post
    agenda = open_stores(b.settings, "agenda").events
    for url, user in agenda_urls.items():
        (reply,) = fake_slack.responses(url)
        assert re.search(r"`#\d+`", reply["text"]) and APOLOGY not in reply["text"], reply
        assert len(agenda.owned(TEAM, user)) == 1, f"{user}'s event was added twice"
    # The kill interrupted work that B then finished: the ledgers counted redeliveries.
    redelivered = _redeliveries(postgres_url) - before
    assert redelivered > 0, "no task was redelivered: nothing was in flight"
    print(f"\n{len(mentions)} mentions and {len(agenda_urls)} slash commands answered once "
          f"each; {redelivered} task(s) redelivered after the kill")
    for service in routing.SERVICES.values():
        assert system.vhost.depth(service.dead_queue.name) == 0, service.name
