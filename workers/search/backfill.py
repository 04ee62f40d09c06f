"""Backfill: read a channel's history again, as bulk work split into chunks (a Celery chord).

Each page of `conversations.history` becomes a chord: a group of chunk-indexing tasks
(`search.index_documents`, the same task that loads knowledge bases) whose
callback fetches the next page, or posts a summary after the last one. Everything runs at bulk
priority, so interactive searches overtake it; Slack's rate limits become retries after
`Retry-After`, never a sleeping worker.

A backfill is started once per request (keyed by its task id, so a retried `/search reindex`
finds the first one), and one that cannot be done says so in the conversation it was asked from.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from typing import Any

from celery import Celery, chord, group
from slack_sdk.errors import SlackApiError

import routing
from estafeta import mrkdwn, tracing
from estafeta.payloads import Context, ReplyTarget
from workers.replies import Reply, SlackReplier, TransientError, conversation_kind
from workers.search.kb import INDEX_TASK
from workers.search.store import BackfillLog
from workers.service import ServiceTask

log = logging.getLogger(__name__)
PAGE_TASK = "search.backfill_page"
DONE_TASK = "search.backfill_page_done"
FAILED_TASK = "search.backfill_failed"
HISTORY_PAGE = 200  # messages per conversations.history call (Slack's recommended maximum)
CHUNK = 50
BULK = int(routing.Priority.BULK)
_SKIPPED_SUBTYPES = {"bot_message", "channel_join", "channel_leave", "channel_topic",
                     "channel_purpose", "channel_name"}

SUMMARY = {
    "en": "Re-indexed <#{channel}>: {indexed} messages from {pages} page(s) of history.",
    "es": "Reindexado <#{channel}>: {indexed} mensajes de {pages} página(s) de historial.",
}
FAILED = {
    "en": "I could not re-index <#{channel}>: {reason}",
    "es": "No pude reindexar <#{channel}>: {reason}",
}
REASONS = {
    "en": {
        "other_workspace": "it does not belong to the workspace I am installed in.",
        "not_in_channel": "I am not a member of it; invite me there first.",
        "channel_not_found": "Slack does not know that channel, or I cannot see it.",
        "retries": "Slack kept failing. Please try again later.",
        "indexing": "part of its history could not be indexed. Please try again later.",
        "other": "Slack refused ({error}).",
    },
    "es": {
        "other_workspace": "no pertenece al espacio de trabajo donde estoy instalado.",
        "not_in_channel": "no soy miembro; invítame primero.",
        "channel_not_found": "Slack no conoce ese canal, o no puedo verlo.",
        "retries": "Slack falló una y otra vez. Vuelve a probar más tarde.",
        "indexing": "parte del historial no se pudo indexar. Vuelve a probar más tarde.",
        "other": "Slack se negó ({error}).",
    },
}


def _reason(lang: str, error: str) -> str:
    reasons = REASONS.get(lang, REASONS["en"])
    return reasons.get(error) or reasons["other"].format(error=mrkdwn.escape(error))


def register_backfill(app: Celery, base: type[ServiceTask], replier: SlackReplier,
                      backfills: BackfillLog) -> Any:
    """Register the backfill tasks; return a function that starts one (see `start`)."""

    def notify(job: dict[str, Any], key: str, text: str) -> None:
        """Tell the person who asked, once: in the conversation they asked from, or by DM
        when the bot cannot post there (it is not a member, say)."""
        if not job.get("notify_channel"):
            return  # asked over HTTP: nobody to tell in Slack; the outcome is recorded
        try:
            replier.deliver(ReplyTarget(kind="channel", channel=job["notify_channel"]),
                            key=key, reply=Reply(text))
        except SlackApiError:
            if not job.get("user"):
                raise
            direct = replier.open_direct(job["user"])
            replier.deliver(ReplyTarget(kind="channel", channel=direct), key=f"{key}:dm",
                            reply=Reply(text))

    def fail(job: dict[str, Any], error: str) -> None:
        """End the backfill: record why and say so (TransientError: retry the caller)."""
        log.warning("backfill %s of %s for team %s failed: %s",
                    job["id"], job["channel"], job["team"], error)
        backfills.finish(job["id"], f"failed:{error}")
        lang = job.get("lang", "en")
        text = FAILED.get(lang, FAILED["en"]).format(channel=job["channel"],
                                                     reason=_reason(lang, error))
        notify(job, f"backfill:{job['id']}:failed", text)

    @app.task(name=PAGE_TASK, bind=True, base=base, shared=False, ignore_result=True)
    def backfill_page(self: ServiceTask, job: dict[str, Any], cursor: str = "") -> None:
        """Fetch one page of history and index it in chunks, then continue."""
        try:
            if not job.get("channel_type"):
                # The bot's token belongs to one workspace: a channel read with it belongs to
                # that team, and must never be indexed under another team's name.
                if replier.bot_team() != job["team"]:
                    fail(job, "other_workspace")
                    return
                job["channel_type"] = conversation_kind(
                    replier.call("conversations_info", channel=job["channel"]))
            page = replier.call("conversations_history", channel=job["channel"],
                                cursor=cursor or None, limit=HISTORY_PAGE)
        except TransientError as exc:
            if self.retries_exhausted:
                with contextlib.suppress(TransientError, SlackApiError):  # Slack is down
                    fail(job, "retries")
            raise self.retry_later(exc) from exc
        except SlackApiError as exc:
            # Permanent (channel_not_found, not_in_channel, missing_scope, ...): a retry
            # would only fail again, so the job ends here, and says so.
            try:
                fail(job, str((exc.response or {}).get("error") or "error"))
            except TransientError as again:
                raise self.retry_later(again) from again
            return
        documents = [
            {"team": job["team"], "channel": job["channel"], "ts": m["ts"],
             "text": m.get("text", ""), "user": m.get("user", ""),
             "channel_type": job["channel_type"], "thread_ts": m.get("thread_ts", "")}
            for m in page.get("messages") or []
            if m.get("user") and not m.get("bot_id") and m.get("subtype") not in _SKIPPED_SUBTYPES
        ]
        next_cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
        job = {**job, "pages": job.get("pages", 0) + 1}
        # Every hop carries the request's trace: its log lines name the request that asked.
        carried = tracing.headers()
        done = backfill_page_done.s(job, next_cursor).set(priority=BULK, headers=carried)
        # A chunk that fails for good never lets the chord call `done`: Celery calls the
        # errback of `done` instead (from `celery.chord_unlock`), and so does `done` failing.
        done.link_error(backfill_failed.s(job).set(priority=BULK, headers=carried))
        chunks = [documents[i:i + CHUNK] for i in range(0, len(documents), CHUNK)]
        if chunks:
            chord(group(app.signature(INDEX_TASK, args=(c,)).set(priority=BULK,
                                                                 headers=carried)
                        for c in chunks))(done)
        else:
            done.apply_async(args=([],))

    @app.task(name=DONE_TASK, bind=True, base=base, shared=False)
    def backfill_page_done(self: ServiceTask, counts: list[int], job: dict[str, Any],
                           next_cursor: str) -> dict[str, Any]:
        """After a page: fetch the next one, or post the summary."""
        job = {**job, "indexed": job.get("indexed", 0) + sum(counts or [0])}
        if next_cursor:
            backfill_page.apply_async((job, next_cursor), priority=BULK,
                                      headers=tracing.headers())
            return job
        backfills.finish(job["id"], "done")
        text = SUMMARY.get(job.get("lang", "en"), SUMMARY["en"]).format(
            channel=job["channel"], indexed=job["indexed"], pages=job["pages"])
        try:  # through the reply ledger: a redelivered last page posts no second summary
            notify(job, f"backfill:{job['id']}", text)
        except TransientError as exc:
            raise self.retry_later(exc) from exc
        return job

    @app.task(name=FAILED_TASK, bind=True, base=base, shared=False, ignore_result=True)
    def backfill_failed(self: ServiceTask, failed_task_id: str, job: dict[str, Any]) -> None:
        """A page's chunk or callback failed for good: end the backfill, and say so."""
        self.guard_redelivery()
        if backfills.outcome(job["id"]) == "done":
            return  # the summary failed to post after the work was done: nothing failed
        log.warning("backfill %s: task %s failed", job["id"], failed_task_id)
        try:
            fail(job, "indexing")
        except TransientError as exc:
            raise self.retry_later(exc) from exc

    def start(context: Context, channel: str, lang: str) -> str:
        """Start the backfill of `channel` for this request, unless it already started one;
        return the channel of the request's backfill."""
        job_id = context.request_id or str(uuid.uuid4())
        channel, first = backfills.claim(job_id, context.team, channel)
        if not first:
            log.info("backfill %s already started; not starting another", job_id)
            return channel
        from_slack = context.source != "api"
        job = {"id": job_id, "team": context.team, "channel": channel, "lang": lang,
               "notify_channel": context.channel if from_slack else "",
               "user": context.user if from_slack else "",
               "channel_type": "", "pages": 0, "indexed": 0}
        try:
            backfill_page.apply_async((job, ""), priority=BULK, headers=tracing.headers())
        except BaseException:
            backfills.unclaim(job_id)
            raise
        return channel

    return start
