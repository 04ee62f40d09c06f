"""Backfill upkeep: a backfill whose chunk failed for good says so; old rows are forgotten."""

import time
from pathlib import Path

from celery import Celery

import routing
from estafeta.settings import Settings
from estafeta.stores import open_stores
from slacksim.fake_slack import FakeSlack
from tests.conftest import BOT_TOKEN, TEAM
from workers.replies import SlackReplier
from workers.search.backfill import FAILED_TASK, register_backfill
from workers.search.handlers import BACKFILL_RETENTION, build_handlers
from workers.search.sqlite_store import SqliteBackfillLog
from workers.service import task_base
from workers.sqlite_ledger import SqliteLedger


def _app(tmp_path: Path, fake_slack: FakeSlack) -> tuple[Celery, SqliteBackfillLog]:
    app = Celery("test-backfill", set_as_current=False)
    app.conf.update(task_always_eager=True, task_eager_propagates=False)
    replier = SlackReplier(fake_slack.api_url, BOT_TOKEN,
                           SqliteLedger(tmp_path / "search.sqlite"))
    backfills = SqliteBackfillLog(tmp_path / "search.sqlite")
    register_backfill(app, task_base(routing.SEARCH, replier), replier, backfills)
    return app, backfills


def _job(job_id: str) -> dict[str, object]:
    return {"id": job_id, "team": TEAM, "channel": "C0HIST", "lang": "en",
            "notify_channel": "C0ASKED", "user": "U1", "channel_type": "channel",
            "pages": 1, "indexed": 0}


def test_a_failed_chunk_ends_the_backfill_and_tells_the_user_once(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    app, backfills = _app(tmp_path, fake_slack)
    backfills.claim("job-1", TEAM, "C0HIST")
    errback = app.tasks[FAILED_TASK]
    for _ in range(2):  # Celery may call the errback again (a redelivery): said once
        assert errback.apply(("chord-callback-id", _job("job-1"))).successful()
    assert backfills.outcome("job-1") == "failed:indexing"
    (notice,) = fake_slack.posted("C0ASKED")
    assert notice["text"].startswith("I could not re-index <#C0HIST>: part of its history")


def test_a_done_backfill_is_not_reported_as_failed(tmp_path: Path,
                                                   fake_slack: FakeSlack) -> None:
    app, backfills = _app(tmp_path, fake_slack)
    backfills.claim("job-2", TEAM, "C0HIST")
    backfills.finish("job-2", "done")  # then the summary's post failed for good
    assert app.tasks[FAILED_TASK].apply(("cb", _job("job-2"))).successful()
    assert backfills.outcome("job-2") == "done"
    assert fake_slack.posted("C0ASKED") == []


def test_maintenance_forgets_backfills_that_ended_long_ago(tmp_path: Path,
                                                          fake_slack: FakeSlack) -> None:
    stores = open_stores(Settings(data_dir=tmp_path), "search")
    backfills = stores.backfills
    for job_id in ("old-done", "old-failed", "old-running", "new-done"):
        backfills.claim(job_id, TEAM, "C1")
    backfills.finish("old-done", "done")
    backfills.finish("old-failed", "failed:not_in_channel")
    backfills.finish("new-done", "done")
    log = SqliteBackfillLog(tmp_path / "search.sqlite")
    log.db.execute("UPDATE backfills SET updated_at = ? WHERE job_id LIKE 'old-%'",
                   (time.time() - BACKFILL_RETENTION - 60,))
    replier = SlackReplier(fake_slack.api_url, BOT_TOKEN, stores.ledger)
    handlers = build_handlers(stores, replier, lambda context, channel, lang: channel)
    report: dict[str, object] = {}
    for step in handlers.maintenance:
        report.update(step())
    assert report["backfills_pruned"] == 2
    assert backfills.outcome("old-done") is None and backfills.outcome("old-failed") is None
    assert backfills.outcome("old-running") == ""  # still running: a retry must find it
    assert backfills.outcome("new-done") == "done"
