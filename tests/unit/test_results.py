"""What results and task logs keep: no task arguments, no return values in INFO logs, expiry."""

import logging
from pathlib import Path

import pytest
from celery import Celery

from estafeta.celery_config import RESULT_EXPIRES, base_config
from estafeta.settings import Settings
from workers.app import TRACE_LOGGER


def test_results_keep_no_task_arguments_and_expire(tmp_path: Path) -> None:
    config = base_config(Settings.from_env({"DATA_DIR": str(tmp_path)}))
    assert config["result_extended"] is False  # kwargs (response_url, texts) are not stored
    assert config["result_expires"] == RESULT_EXPIRES > 0


def test_a_stored_result_has_no_kwargs(tmp_path: Path) -> None:
    app = Celery(set_as_current=False)
    app.conf.update(base_config(Settings.from_env({"DATA_DIR": str(tmp_path)})))
    app.conf.result_backend = f"db+sqlite:///{tmp_path / 'results.sqlite'}"
    app.backend.store_result("00000000-0000-0000-0000-00000000000a", {"ok": 1}, "SUCCESS",
                             request=_Request())
    stored = app.backend.get_task_meta("00000000-0000-0000-0000-00000000000a")
    assert stored["result"] == {"ok": 1}
    assert stored.get("kwargs") is None and stored.get("args") is None


class _Request:
    """What a worker passes to the backend: the task's arguments among the rest."""

    id = "00000000-0000-0000-0000-00000000000a"
    task = "search.command"
    args = ()
    kwargs = {"reply": {"kind": "response_url", "url": "https://hooks.slack.com/x/secret"}}
    hostname = "worker"
    retries = 0
    delivery_info = {"routing_key": "search"}
    ignore_result = False
    group = None
    parent_id = None
    root_id = None
    chord = None


def test_task_success_lines_do_not_log_the_return_value(caplog: pytest.LogCaptureFixture) -> None:
    app = Celery(set_as_current=False)

    @app.task(name="search.secretive")
    def secretive() -> dict[str, str]:
        return {"text": "salary of the whole team"}

    with caplog.at_level(logging.INFO, logger=TRACE_LOGGER):
        assert secretive.apply().get() == {"text": "salary of the whole team"}
    lines = [r for r in caplog.records if r.name == TRACE_LOGGER]
    assert lines and "succeeded" in lines[0].getMessage()
    assert "salary" not in caplog.text
    assert all("salary" not in repr(getattr(r, "data", "")) for r in lines)
