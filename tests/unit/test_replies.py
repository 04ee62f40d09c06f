"""Reply delivery against the fake Slack over real HTTP (no broker needed), and the reply
ledger on both backends."""

import threading
from pathlib import Path

import pytest
from slack_sdk.errors import SlackApiError

from estafeta.payloads import ReplyTarget
from estafeta.settings import Settings
from estafeta.stores import open_stores
from slacksim.fake_slack import FakeSlack
from tests.conftest import BOT_TOKEN
from workers.replies import (
    RefusedResponseUrl,
    Reply,
    ReplyLedger,
    SlackReplier,
    TransientError,
    redacted_url,
    response_url_allowed,
)
from workers.sqlite_ledger import SqliteLedger


@pytest.fixture
def ledger(store_settings: Settings) -> ReplyLedger:
    return open_stores(store_settings, "search").ledger


@pytest.fixture
def replier(ledger: ReplyLedger, fake_slack: FakeSlack) -> SlackReplier:
    return SlackReplier(fake_slack.api_url, BOT_TOKEN, ledger)


THREAD = ReplyTarget(kind="thread", channel="C1", thread_ts="100.1")


def test_thread_reply_is_posted_once_per_key(replier: SlackReplier, fake_slack: FakeSlack) -> None:
    assert replier.deliver(THREAD, "key-1", Reply("hello")) is True
    assert replier.deliver(THREAD, "key-1", Reply("hello")) is False
    posts = fake_slack.posted("C1")
    assert len(posts) == 1
    assert posts[0]["thread_ts"] == "100.1"
    assert posts[0]["metadata"]["event_payload"]["reply_key"] == "key-1"


def test_response_url_reply(replier: SlackReplier, fake_slack: FakeSlack) -> None:
    url = fake_slack.response_url()
    target = ReplyTarget(kind="response_url", url=url)
    assert replier.deliver(target, "key-2", Reply("found 3", in_channel=True)) is True
    assert fake_slack.responses(url) == [{"text": "found 3", "response_type": "in_channel"}]


def test_rate_limit_is_transient_with_retry_after_and_releases_the_claim(
    replier: SlackReplier, fake_slack: FakeSlack
) -> None:
    fake_slack.fail("chat.postMessage", 429, retry_after=7)
    with pytest.raises(TransientError) as caught:
        replier.deliver(THREAD, "key-3", Reply("x"))
    assert caught.value.retry_after == 7
    assert replier.ledger.state("key-3") is None
    assert replier.deliver(THREAD, "key-3", Reply("x")) is True


def test_server_error_is_transient_without_retry_after(
    replier: SlackReplier, fake_slack: FakeSlack
) -> None:
    fake_slack.fail("response_url", 503)
    with pytest.raises(TransientError) as caught:
        replier.deliver(ReplyTarget(kind="response_url", url=fake_slack.response_url()), "k4",
                        Reply("x"))
    assert caught.value.retry_after is None


def test_unreachable_slack_is_transient(tmp_path: Path) -> None:
    replier = SlackReplier("http://127.0.0.1:9/api/", BOT_TOKEN,
                           SqliteLedger(tmp_path / "x.sqlite"))
    with pytest.raises(TransientError):
        replier.deliver(THREAD, "k5", Reply("x"))


def test_permanent_slack_error_is_not_transient(tmp_path: Path, fake_slack: FakeSlack) -> None:
    replier = SlackReplier(fake_slack.api_url, "xoxb-wrong", SqliteLedger(tmp_path / "x.sqlite"))
    with pytest.raises(SlackApiError):
        replier.deliver(THREAD, "k6", Reply("x"))


class _Died(Exception):
    """The worker process ending at the worst moment."""


class _DiesBeforeRecording:
    """A ledger whose worker dies between Slack's answer and the record of the post."""

    def __init__(self, ledger: ReplyLedger) -> None:
        self.ledger = ledger

    def __getattr__(self, name: str) -> object:
        return getattr(self.ledger, name)

    def mark_posted(self, key: str) -> None:
        raise _Died(key)


def test_a_post_that_landed_before_a_crash_is_found_and_not_repeated(
    replier: SlackReplier, fake_slack: FakeSlack
) -> None:
    # The first attempt posted, then died before recording it: only the claim remains.
    dying = SlackReplier(fake_slack.api_url, BOT_TOKEN,
                         _DiesBeforeRecording(replier.ledger))  # type: ignore[arg-type]
    with pytest.raises(_Died):
        dying.deliver(THREAD, "key-7", Reply("once"))
    assert replier.ledger.state("key-7") == "posting"
    assert replier.deliver(THREAD, "key-7", Reply("once")) is False
    assert len(fake_slack.posted("C1")) == 1
    assert fake_slack.calls_to("conversations.replies")
    assert replier.ledger.state("key-7") == "posted"


def test_redeliveries_are_counted(ledger: ReplyLedger) -> None:
    assert [ledger.count_redelivery("t") for _ in range(3)] == [1, 2, 3]
    assert ledger.prune(older_than=-1) == 1


def test_pruning_keeps_recent_records_and_forgets_old_ones(ledger: ReplyLedger) -> None:
    ledger.claim("claimed")
    ledger.mark_posted("posted")
    ledger.count_redelivery("t")
    assert ledger.prune(older_than=3600) == 0
    assert ledger.state("claimed") == "posting" and ledger.state("posted") == "posted"
    assert ledger.prune(older_than=-1) == 3
    assert ledger.state("claimed") is None and ledger.state("posted") is None
    assert ledger.count_redelivery("t") == 1


def test_a_released_claim_can_be_taken_again_but_a_post_is_never_released(
    ledger: ReplyLedger,
) -> None:
    assert ledger.claim("k") is True
    ledger.release("k")
    assert ledger.state("k") is None
    assert ledger.claim("k") is True
    ledger.mark_posted("k")
    ledger.release("k")
    assert ledger.state("k") == "posted"


def test_a_claim_is_taken_once_while_fresh(ledger: ReplyLedger) -> None:
    assert ledger.claim("k") is True
    assert ledger.claim("k") is False  # a concurrent duplicate must not post too
    assert ledger.claim("k", attempt=1) is True  # the task's own retry: the first try is over
    assert ledger.claim("k", attempt=1) is False
    assert ledger.claim("k", attempt=1, stale_after=0) is True  # a redelivery takes over
    ledger.mark_posted("k")
    assert ledger.claim("k", stale_after=0) is False


def _claims_at_once(ledger: ReplyLedger, key: str, attempt: int, copies: int) -> list[bool]:
    start = threading.Barrier(copies)
    taken: list[bool] = []

    def claim() -> None:
        start.wait()
        taken.append(ledger.claim(key, attempt))

    threads = [threading.Thread(target=claim) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return taken


@pytest.mark.parametrize("store_settings", ["postgresql"], indirect=True)
def test_concurrent_copies_of_a_task_on_many_hosts_claim_a_reply_once(
    ledger: ReplyLedger,
) -> None:
    for round_ in range(10):
        key = f"reply-{round_}"
        assert sorted(_claims_at_once(ledger, key, 0, 8)) == [False] * 7 + [True]
        # The task's retry, delivered several times: one copy takes over, the others wait.
        assert sorted(_claims_at_once(ledger, key, 1, 8)) == [False] * 7 + [True]


def test_concurrent_duplicate_waits_instead_of_posting(
    replier: SlackReplier, fake_slack: FakeSlack
) -> None:
    replier.ledger.claim("dup")  # another worker is posting this very reply
    with pytest.raises(TransientError) as caught:
        replier.deliver(THREAD, "dup", Reply("x"))
    assert caught.value.retry_after == 5
    assert fake_slack.posted("C1") == []


SLACK_API = "https://slack.com/api/"


@pytest.mark.parametrize("url", [
    "https://hooks.slack.com/commands/T1/123/abc",
    "https://HOOKS.slack.com:443/actions/T1/1/x",
])
def test_slacks_response_urls_are_allowed(url: str) -> None:
    assert response_url_allowed(url, SLACK_API)


@pytest.mark.parametrize("url", [
    "http://hooks.slack.com/commands/T1/123/abc",  # not TLS
    "https://hooks.slack.com.evil.example/commands/x",
    "https://evil.example/hooks.slack.com/commands",
    "https://hooks.slack.com@evil.example/commands",
    "https://user:pw@hooks.slack.com/commands",
    "https://hooks.slack.com:8443/commands",
    "https://hooks.slack.com:notaport/commands",
    "https://hooks.slack.com",  # no path
    "https://hooks.slack.com/comm ands",
    "https://hooks.slack.com/\u00e9",
    "javascript:alert(1)",
    "file:///etc/passwd",
    "http://127.0.0.1:8089/response/1",  # loopback, but not where SLACK_API_URL points
    "",
])
def test_anything_else_is_refused(url: str) -> None:
    assert not response_url_allowed(url, SLACK_API)


def test_the_simulators_host_is_allowed_only_when_slack_api_url_points_there() -> None:
    simulator = "http://127.0.0.1:8089/api/"
    assert response_url_allowed("http://127.0.0.1:8089/response/7", simulator)
    assert not response_url_allowed("http://127.0.0.1:8090/response/7", simulator)
    assert not response_url_allowed("https://127.0.0.1:8089/response/7", simulator)
    assert not response_url_allowed("http://localhost:8089/response/7", simulator)


def test_a_refused_response_url_is_not_posted_to_and_not_logged(
    tmp_path: Path, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    # A worker talking to real Slack, handed a URL of a server that does listen: the fake.
    replier = SlackReplier(SLACK_API, BOT_TOKEN, SqliteLedger(tmp_path / "svc.sqlite"))
    url = fake_slack.response_url() + "/secret-path-token"
    target = ReplyTarget(kind="response_url", url=url)
    with caplog.at_level("INFO"), pytest.raises(RefusedResponseUrl) as refused:
        replier.deliver(target, "key-refused", Reply("private answer"))
    assert fake_slack.calls == []
    assert replier.ledger.state("key-refused") is None  # nothing claimed: nothing to undo
    assert "secret-path-token" not in str(refused.value)
    assert "secret-path-token" not in caplog.text
    assert "http://127.0.0.1/…" in caplog.text  # the operator still sees where it pointed
    # A permanent error: Celery fails the task and the queue dead-letters the message.
    assert not isinstance(refused.value, TransientError)


def test_redacted_url_keeps_only_scheme_and_host() -> None:
    assert redacted_url("https://hooks.slack.com/commands/T1/2/secret") == (
        "https://hooks.slack.com/…")


def test_against_the_real_slack_only_hooks_slack_com_takes_answers() -> None:
    real = "https://slack.com/api/"
    assert response_url_allowed("https://hooks.slack.com/commands/T1/1/x", real)
    assert not response_url_allowed("https://slack.com/api/chat.postMessage", real)
    assert not response_url_allowed("https://slack.com/commands/T1/1/x", real)
    # The simulator's (or the tests') own host is trusted because it is this machine.
    assert response_url_allowed("http://127.0.0.1:8089/hooks/1", "http://127.0.0.1:8089/api/")


def test_a_key_with_nul_is_kept_on_both_engines(store_settings: Settings) -> None:
    # PostgreSQL text cannot hold NUL; hostile input must not turn into a failed statement.
    ledger = open_stores(store_settings, "search").ledger
    assert ledger.claim("reply\x00key")
    ledger.mark_posted("reply\x00key")
    assert ledger.state("reply\x00key") == "posted"


def test_a_backlog_of_the_ledger_is_pruned_in_batches_on_postgresql(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from estafeta import postgres
    from tests.conftest import empty_postgres
    empty_postgres(postgres_url)
    ledger = open_stores(Settings(data_dir=tmp_path, database_url=postgres_url), "search").ledger
    for n in range(5):
        ledger.mark_posted(f"old-{n}")
        ledger.count_redelivery(f"task-{n}")
    monkeypatch.setattr(postgres, "PRUNE_BATCH", 2)  # each statement deletes two rows at most
    assert ledger.prune(older_than=-1) == 10
    assert [ledger.state(f"old-{n}") for n in range(5)] == [None] * 5
