"""Plain channel and people names through the Web API, cached per team in the service file."""

from pathlib import Path

import pytest

from slacksim.fake_slack import FakeSlack
from tests.conftest import BOT_TOKEN, OTHER_TEAM, TEAM
from workers.replies import SlackReplier, TransientError
from workers.search import names as names_module
from workers.search.names import SlackNames
from workers.search.query import QueryError
from workers.search.sqlite_store import SqliteNameCache
from workers.sqlite_ledger import SqliteLedger


@pytest.fixture
def names(tmp_path: Path, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> SlackNames:
    monkeypatch.setattr(names_module, "PAGE_LIMIT", 2)  # every listing takes several pages
    replier = SlackReplier(fake_slack.api_url, BOT_TOKEN, SqliteLedger(tmp_path / "s.sqlite"))
    fake_slack.channel_names.update({"C0A": "alpha", "C0B": "beta", "C0G": "general",
                                     "C0Z": "zeta", "C0Y": "ypsilon"})
    fake_slack.users.update({"U0ANA": {"name": "ana.perez",
                                       "profile": {"display_name": "Ana"}},
                             "U0BOB": {"name": "bob"}, "U0CAL": {"name": "cal"},
                             "U0OLD": {"name": "old", "deleted": True}})
    return SlackNames(SqliteNameCache(tmp_path / "s.sqlite"), replier)


def test_names_are_resolved_across_pages_and_cached(names: SlackNames,
                                                    fake_slack: FakeSlack) -> None:
    team = names.resolver(TEAM)
    assert team.channel("#zeta") == ["C0Z"] and team.channel("General") == ["C0G"]
    assert len(fake_slack.calls_to("conversations.list")) == 3  # 5 channels, 2 a page
    assert team.user("@ana") == ["U0ANA"] and team.user("ana.perez") == ["U0ANA"]
    assert team.user("bob") == ["U0BOB"] and team.user("old") == []
    assert len(fake_slack.calls_to("users.list")) == 2
    fake_slack.reset()
    # Another process of the service reads the same file: no new listing.
    cache = names.cache
    assert isinstance(cache, SqliteNameCache)
    again = SlackNames(SqliteNameCache(cache.path), names.replier).resolver(TEAM)
    assert again.channel("alpha") == ["C0A"] and again.user("cal") == ["U0CAL"]
    assert fake_slack.calls_to("conversations.list") == fake_slack.calls_to("users.list") == []


def test_stale_lists_and_misses_are_fetched_again_but_not_on_every_search(
    names: SlackNames, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    team = names.resolver(TEAM)
    assert team.channel("new") == []
    fake_slack.channel_names["C0N"] = "new"
    assert team.channel("new") == []  # a miss right after a listing: not asked again
    assert len(fake_slack.calls_to("conversations.list")) == 3
    monkeypatch.setattr(names_module, "MISS_REFRESH_AFTER", -1.0)
    assert team.channel("new") == ["C0N"]
    monkeypatch.setattr(names_module, "NAMES_TTL", -1.0)
    del fake_slack.channel_names["C0N"]
    assert team.channel("new") == []  # expired: the list is read again


def test_another_team_never_gets_the_bot_workspace_names(names: SlackNames,
                                                         fake_slack: FakeSlack) -> None:
    assert names.resolver(OTHER_TEAM).channel("general") == []
    assert fake_slack.calls_to("conversations.list") == []


def test_slack_failures_are_retried_or_explained(names: SlackNames,
                                                 fake_slack: FakeSlack) -> None:
    fake_slack.fail("conversations.list", 429, retry_after=3)
    with pytest.raises(TransientError):
        names.resolver(TEAM).channel("general")
    assert names.resolver(TEAM).channel("general") == ["C0G"]  # the retry finds it
    names.replier.client.token = "xoxb-wrong"  # Slack refuses: a reply that says why
    with pytest.raises(QueryError, match="invalid_auth"):
        names.resolver(TEAM).user("ana")
