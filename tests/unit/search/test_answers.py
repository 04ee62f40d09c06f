from pathlib import Path

from slacksim.fake_slack import FakeSlack
from tests.conftest import BOT_TOKEN
from workers.replies import SlackReplier
from workers.search.answers import Answers
from workers.search.sqlite_store import SqliteSearchState
from workers.search.store import Document
from workers.sqlite_ledger import SqliteLedger


def test_permalinks_use_the_workspace_domain_and_a_slow_slack_is_not_asked_every_time(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    replier = SlackReplier(fake_slack.api_url, BOT_TOKEN, SqliteLedger(tmp_path / "l.sqlite"))
    answers = Answers(SqliteSearchState(tmp_path / "s.sqlite"), replier)
    reply = Document(team="T1", channel="C1", ts="1700000000.000200", text="x",
                     thread_ts="1700000000.000100")
    fake_slack.fail("team.info", 500)
    assert answers.permalink(reply).startswith("https://app.slack.com/archives/C1/")
    assert answers.permalink(reply).startswith("https://app.slack.com/")  # not asked again
    assert len(fake_slack.calls_to("team.info!500")) == 1
    assert fake_slack.calls_to("team.info") == []

    fresh = Answers(SqliteSearchState(tmp_path / "s2.sqlite"), replier)
    link = fresh.permalink(reply)
    assert link == (f"https://{fake_slack.domain}.slack.com/archives/C1/p1700000000000200"
                    "?thread_ts=1700000000.000100&cid=C1")
    fresh.permalink(reply)
    assert len(fake_slack.calls_to("team.info")) == 1  # cached in the service's file
