"""The search service on the real broker path: heard through signed events, found by /search."""

import json
import subprocess
import sys
import time
from pathlib import Path

from flask.testing import FlaskClient

from estafeta import mrkdwn
from slacksim.fake_slack import FakeSlack
from slacksim.signing import SlackSigner, message_event, next_ts
from tests.conftest import API_TOKEN, OTHER_API_TOKEN, TEAM
from tests.integration.broker import ROOT
from tests.integration.conftest import Stack
from workers.search.query import parse
from workers.search.sqlite_store import SqliteBackfillLog, SqliteSearchStore
from workers.search.store import Scope


def hear(client: FlaskClient, signer: SlackSigner, event: dict, team: str = TEAM) -> None:
    body, headers, _ = signer.event(event, team=team)
    assert client.post("/slack/events", data=body, headers=headers).status_code == 200


def search(client: FlaskClient, signer: SlackSigner, slack: FakeSlack, text: str,
           channel: str, user: str = "U0001") -> str:
    url = slack.response_url()
    body, headers = signer.slash_command("/search", text, response_url=url, channel=channel,
                                         user=user)
    assert client.post("/slack/commands", data=body, headers=headers).status_code == 200
    return str(slack.wait_for(lambda: slack.responses(url), timeout=20)[0]["text"])


def search_until(predicate, client, signer, slack, text, channel, timeout=20.0) -> str:
    """Heard messages are indexed asynchronously: ask until the answer satisfies `predicate`."""
    deadline = time.monotonic() + timeout
    answer = search(client, signer, slack, text, channel)
    while not predicate(answer) and time.monotonic() < deadline:
        time.sleep(0.2)
        answer = search(client, signer, slack, text, channel)
    return answer


def wait_indexed(stack: Stack, words: str, channel: str, expected: int) -> None:
    """Wait until the search service's file holds `expected` matches (indexing is async)."""
    store = SqliteSearchStore(stack.data_dir / "search.sqlite")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if len(store.search(parse(words), Scope(TEAM, channel), expected + 1)) >= expected:
            return
        time.sleep(0.1)
    raise AssertionError(f"{expected} documents matching {words!r} were not indexed in time")


def test_heard_edited_and_deleted_messages(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    ts = next_ts()
    hear(stack_client, signer, message_event("La reunión de despliegue es el martes",
                                             channel="C0S1", ts=ts))
    answer = search_until(lambda a: "martes" in a, stack_client, signer, fake_slack,
                          "reuniones", "C0S1")
    assert "*reunión*" in answer
    assert f"https://{fake_slack.domain}.slack.com/archives/C0S1/p{ts.replace('.', '')}" in answer

    hear(stack_client, signer, {"type": "message", "subtype": "message_changed",
                                "channel": "C0S1", "channel_type": "channel",
                                "message": {"user": "U0001", "ts": ts,
                                            "text": "La reunión de despliegue es el jueves"}})
    answer = search_until(lambda a: "jueves" in a, stack_client, signer, fake_slack,
                          "despliegue", "C0S1")
    assert "martes" not in answer

    hear(stack_client, signer, {"type": "message", "subtype": "message_deleted",
                                "channel": "C0S1", "deleted_ts": ts})
    answer = search_until(lambda a: "jueves" not in a, stack_client, signer, fake_slack,
                          "despliegue", "C0S1")
    assert "No encontré" in answer or "Nothing found" in answer


def test_redelivered_heard_message_is_indexed_once(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    event = message_event("quokka sighting near the office", channel="C0S2")
    for _ in range(3):  # three deliveries of the same message (new event ids: not deduplicated)
        hear(stack_client, signer, event)
    answer = search_until(lambda a: "sighting" in a, stack_client, signer, fake_slack,
                          "quokka", "C0S2")
    assert answer.count("• ") == 1


def test_private_channels_are_searchable_only_from_inside(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    hear(stack_client, signer, message_event("platypus budget numbers", channel="G0PRIV",
                                             channel_type="group"))
    inside = search_until(lambda a: "budget" in a, stack_client, signer, fake_slack,
                          "platypus", "G0PRIV")
    assert "budget" in inside
    outside = search(stack_client, signer, fake_slack, "platypus", "C0OUT")
    assert "budget" not in outside


def test_http_callers_never_see_private_channels_even_when_naming_one(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    hear(stack_client, signer, message_event("echidna salary table", channel="G0HR",
                                             channel_type="group"))
    search_until(lambda a: "salary" in a, stack_client, signer, fake_slack, "echidna", "G0HR")
    accepted = stack_client.post("/api/v1/commands/search",
                                 json={"text": "echidna", "channel": "G0HR"},
                                 headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert accepted.status_code == 202
    status_url = "/api/v1/tasks/" + accepted.json["task_id"]
    deadline = time.monotonic() + 20
    body = stack_client.get(status_url, headers={"Authorization": f"Bearer {API_TOKEN}"}).json
    while body["state"] != "SUCCESS" and time.monotonic() < deadline:
        time.sleep(0.1)
        body = stack_client.get(status_url,
                                headers={"Authorization": f"Bearer {API_TOKEN}"}).json
    assert body["state"] == "SUCCESS"
    assert body["result"]["data"]["results"] == []
    assert stack_client.get(status_url, headers={
        "Authorization": f"Bearer {OTHER_API_TOKEN}"}).status_code == 404


def test_modifiers_and_more_pages(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    for i in range(7):
        hear(stack_client, signer, message_event(f"wombat incident number {i}",
                                                 channel="C0S3", user=f"U0W{i % 2}"))
    wait_indexed(stack, "wombat", "C0S3", 7)
    first = search(stack_client, signer, fake_slack, "wombat", "C0S3")
    assert first.count("• ") == 5 and "/search more" in first
    more = search(stack_client, signer, fake_slack, "more", "C0S3")
    assert more.count("• ") == 2 and "6–7" in more
    only_one_user = search(stack_client, signer, fake_slack, "wombat from:<@U0W1|x>", "C0S3")
    assert only_one_user.count("• ") == 3
    assert "Nothing found" in search(stack_client, signer, fake_slack,
                                     "wombat in:<#C0ELSE|else>", "C0S3")
    assert "what to look for" in search(stack_client, signer, fake_slack, '"" -', "C0S3")


def test_reindex_backfills_history_at_bulk_priority_with_a_summary(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    base = time.time() - 3600
    fake_slack.history["C0HIST"] = [
        {"type": "message", "user": f"U0H{i % 3}", "ts": f"{base + i:.6f}",
         "text": f"historic capybara report {i}"}
        for i in range(1199, -1, -1)
    ] + [{"type": "message", "subtype": "channel_join", "user": "U0H9", "ts": f"{base:.6f}",
          "text": "joined"}]
    fake_slack.fail("conversations.history", 429, retry_after=1)  # Slack's rate limit, once
    url = fake_slack.response_url()
    body, headers = signer.slash_command("/search", "reindex <#C0HIST|history>",
                                         response_url=url, channel="C0HIST")
    assert stack_client.post("/slack/commands", data=body, headers=headers).status_code == 200
    # An interactive search asked during the backfill is answered before the backfill ends.
    interactive = search(stack_client, signer, fake_slack, "help", "C0HIST")
    assert "search" in interactive
    summary = fake_slack.wait_for(
        lambda: [p for p in fake_slack.posted("C0HIST") if "Re-indexed" in p["text"]],
        timeout=90)
    assert "1200 messages from 7 page(s)" in summary[0]["text"]  # 1201 with the join
    interactive_at = fake_slack.calls_to("response_url")[1].at
    summary_at = next(c.at for c in fake_slack.calls_to("chat.postMessage")
                      if "Re-indexed" in c.params["text"])
    assert interactive_at < summary_at
    assert len(fake_slack.calls_to("conversations.history!429")) == 1
    found = search(stack_client, signer, fake_slack, '"capybara report 1000"', "C0HIST")
    assert "historic *capybara* *report* *1000*" in found


def test_knowledge_base_import_is_searchable(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack,
    tmp_path: Path,
) -> None:
    (tmp_path / "cursos.json").write_text(json.dumps([
        {"id": "ml-1", "title": "Aprendizaje automático", "date": "2026-12-10",
         "description": "Curso de introducción al aprendizaje automático con narvales"},
    ]))
    (tmp_path / "faq.md").write_text("# Parking\nThe narwhal parking spots are on level -2.\n")
    result = subprocess.run(
        [sys.executable, "-m", "estafeta.cli", "import-kb", str(tmp_path), "--team", TEAM,
         "--name", "catalogue"],
        cwd=ROOT, env={**stack.env, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
        timeout=60)
    assert result.returncode == 0, result.stderr
    assert "sent 2 document(s)" in result.stdout
    answer = search_until(lambda a: "Parking" in a, stack_client, signer, fake_slack,
                          "narwhal", "C0ANY")
    assert "(catalogue)" in answer
    answer = search_until(lambda a: "Aprendizaje" in a, stack_client, signer, fake_slack,
                          "cursos narvales", "C0ANY")
    assert "2026-12-10" in answer


def test_two_search_workers_index_into_one_file_without_losing_anything(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    from routing import SEARCH

    second = stack.start_worker(SEARCH)
    try:
        for i in range(120):
            hear(stack_client, signer, message_event(f"ocelot census entry {i}",
                                                     channel="C0PAR"))
        wait_indexed(stack, "ocelot", "C0PAR", 120)
        store = SqliteSearchStore(stack.data_dir / "search.sqlite")
        assert len(store.search(parse("ocelot"), Scope(TEAM, "C0PAR"), 500)) == 120
        assert "database is locked" not in second.log()
        assert "database is locked" not in stack.workers["search"].log()
    finally:
        second.stop()


def test_nothing_echoed_can_ping_or_link(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack,
    tmp_path: Path,
) -> None:
    # A real @channel in a message (Slack sends the markup), and one typed as text.
    hear(stack_client, signer, message_event("manatee alert <!channel> look", channel="C0PING"))
    hear(stack_client, signer, message_event("manatee &lt;!here&gt; typed", channel="C0PING"))
    wait_indexed(stack, "manatee", "C0PING", 2)
    (tmp_path / "kb.json").write_text(json.dumps([
        {"id": "1", "title": "Manatee <!channel> rules", "url": "https://kb.example/a|<!here>",
         "description": "the manatee handbook"}]))
    result = subprocess.run(
        [sys.executable, "-m", "estafeta.cli", "import-kb", str(tmp_path), "--team", TEAM,
         "--name", "pings"],
        cwd=ROOT, env={**stack.env, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
        timeout=60)
    assert result.returncode == 0, result.stderr
    answer = search_until(lambda a: a.count("• ") == 3, stack_client, signer, fake_slack,
                          "manatee", "C0PING")
    assert answer.count("• ") == 3, answer
    echoed = search(stack_client, signer, fake_slack, "manatee <!channel>", "C0PING")
    for text in (answer, echoed):
        for markup in ("<!channel>", "<!here>", "<https://kb.example"):
            assert markup not in text, text
    assert "“manatee &lt;!channel&gt;”" in echoed
    assert "*Manatee &lt;!channel&gt; rules*" in answer
    assert "&lt;!here&gt; typed" in answer
    nothing = search(stack_client, signer, fake_slack, "<!everyone> zzzqqq", "C0PING")
    assert "&lt;!everyone&gt;" in nothing and "<!everyone>" not in nothing


def test_plain_channel_and_people_names_are_resolved(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    fake_slack.channel_names.update({"C0DUGONG": "dugongs", "C0OTHER": "random"})
    fake_slack.users.update({"U0DANA": {"name": "dana", "profile": {"display_name": "Dana"}}})
    for channel, user in [("C0DUGONG", "U0DANA"), ("C0DUGONG", "U0ZED"), ("C0OTHER", "U0DANA")]:
        hear(stack_client, signer, message_event(f"dugong count by {user}", channel=channel,
                                                 user=user))
    wait_indexed(stack, "dugong", "C0DUGONG", 3)
    for plain, escaped, count in [
        ("dugong in:#dugongs", "dugong in:<#C0DUGONG|dugongs>", 2),
        ("dugong from:@dana", "dugong from:<@U0DANA|dana>", 2),
        ("dugong from:Dana in:dugongs", "dugong from:<@U0DANA> in:<#C0DUGONG>", 1),
    ]:
        by_name = search(stack_client, signer, fake_slack, plain, "C0DUGONG")
        by_id = search(stack_client, signer, fake_slack, escaped, "C0DUGONG")
        assert by_name.count("• ") == count, by_name
        assert by_name.replace(plain, mrkdwn.escape(escaped)) == by_id
    unknown = search(stack_client, signer, fake_slack, "dugong in:#nosuchplace", "C0DUGONG")
    assert unknown.startswith("I don't know a channel called #nosuchplace.")
    assert search(stack_client, signer, fake_slack, "dugong from:@nobody",
                  "C0DUGONG").startswith("I don't know anyone called @nobody.")
    # Cached in the service's file: asked once per kind, whatever the number of searches.
    assert len(fake_slack.calls_to("conversations.list")) == 1
    assert len(fake_slack.calls_to("users.list")) == 1


def test_a_retried_reindex_starts_one_backfill(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    base = time.time() - 600
    fake_slack.history["C0ONCE"] = [
        {"type": "message", "user": "U0H1", "ts": f"{base + i:.6f}", "text": f"tapir {i}"}
        for i in range(9, -1, -1)]
    # The reply fails once after the handler started the backfill: the task runs again.
    fake_slack.fail("response_url", 429, retry_after=1)
    url = fake_slack.response_url()
    body, headers = signer.slash_command("/search", "reindex <#C0ONCE|once>",
                                         response_url=url, channel="C0ONCE")
    assert stack_client.post("/slack/commands", data=body, headers=headers).status_code == 200
    (reply,) = fake_slack.wait_for(lambda: fake_slack.responses(url), timeout=30)
    assert "Reading the history of <#C0ONCE>" in reply["text"]
    assert len(fake_slack.calls_to("response_url!429")) == 1
    fake_slack.wait_for(lambda: [p for p in fake_slack.posted("C0ONCE")
                                 if "Re-indexed" in p["text"]], timeout=60)
    time.sleep(2)  # a second backfill, if any, would have posted its summary by now
    summaries = [p for p in fake_slack.posted("C0ONCE") if "Re-indexed" in p["text"]]
    assert len(summaries) == 1
    history = [c for c in fake_slack.calls_to("conversations.history")
               if not c.params.get("oldest")]
    assert len(history) == 1


def test_a_refused_backfill_tells_the_user(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    # A channel Slack does not know (no history in the fake): told where it was asked.
    body, headers = signer.slash_command("/search", "reindex <#C0GONE|gone>",
                                         response_url=fake_slack.response_url(),
                                         channel="C0ASKED")
    assert stack_client.post("/slack/commands", data=body, headers=headers).status_code == 200
    (notice,) = fake_slack.wait_for(lambda: fake_slack.posted("C0ASKED"), timeout=30)
    assert notice["text"].startswith("I could not re-index <#C0GONE>:")
    assert "does not know that channel" in notice["text"]

    # The bot is not in the channel it was asked from, so it cannot post there: by DM.
    fake_slack.refusals["C0NOTIN"] = "not_in_channel"
    body, headers = signer.slash_command("/search", "reindex", user="U0ASKER",
                                         response_url=fake_slack.response_url(),
                                         channel="C0NOTIN")
    assert stack_client.post("/slack/commands", data=body, headers=headers).status_code == 200
    (direct,) = fake_slack.wait_for(lambda: fake_slack.posted("D0ASKER"), timeout=30)
    assert direct["text"].startswith("I could not re-index <#C0NOTIN>:")

    # Slack keeps failing: once the retries are exhausted, the user hears about it too.
    fake_slack.history["C0FLAKYH"] = []
    fake_slack.fail("conversations.history", 429, retry_after=0, times=1000)
    body, headers = signer.slash_command("/search", "reindex", channel="C0FLAKYH",
                                         response_url=fake_slack.response_url())
    assert stack_client.post("/slack/commands", data=body, headers=headers).status_code == 200
    (failed,) = fake_slack.wait_for(lambda: fake_slack.posted("C0FLAKYH"), timeout=60)
    assert "Slack kept failing" in failed["text"]
    time.sleep(1)
    assert len(fake_slack.posted("C0FLAKYH")) == 1
    assert len(fake_slack.posted("C0ASKED")) == 1


def test_a_backfill_whose_chunk_fails_for_good_tells_the_user(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    base = time.time() - 600
    history = [{"type": "message", "user": "U0H1", "ts": f"{base + i:.6f}",
                "text": f"axolotl {i}"} for i in range(79, -1, -1)]
    # A message the store cannot take (a text that is not a string): its chunk fails at
    # every attempt and is dead-lettered, so the page's chord never completes.
    history[70]["text"] = {"poisoned": True}
    fake_slack.history["C0POISON"] = history
    url = fake_slack.response_url()
    body, headers = signer.slash_command("/search", "reindex", response_url=url,
                                         channel="C0POISON")
    assert stack_client.post("/slack/commands", data=body, headers=headers).status_code == 200
    (notice,) = fake_slack.wait_for(lambda: fake_slack.posted("C0POISON"), timeout=60)
    assert notice["text"].startswith("I could not re-index <#C0POISON>: part of its history")
    time.sleep(2)  # a second notice, or a summary, would have been posted by now
    assert len(fake_slack.posted("C0POISON")) == 1
    assert "Reading the history of <#C0POISON>" in fake_slack.responses(url)[0]["text"]
    outcomes = SqliteBackfillLog(stack.data_dir / "search.sqlite").db.execute(
        "SELECT outcome FROM backfills WHERE channel = 'C0POISON'").fetchall()
    assert [row["outcome"] for row in outcomes] == ["failed:indexing"]
