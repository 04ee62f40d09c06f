"""Backfill: read a channel's history again, as bulk work split into chunks (a Celery chord).

Each page of `conversations.history` becomes a chord: a group of chunk-indexing tasks
(`search.index_documents`, the same task that loads knowledge bases) whose
callback fetches the next page, or posts a summary after the last one. Everything runs at bulk
priority, so interactive searches overtake it; Slack's rate limits become retries after
`Retry-After`, never a sleeping worker.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery import Celery, chord, group

import routing
from payloads import Context, ReplyTarget
from workers.replies import Reply, SlackReplier, TransientError
from workers.search.kb import INDEX_TASK
from workers.service import ServiceTask

log = logging.getLogger(__name__)
PAGE_TASK = "search.backfill_page"
DONE_TASK = "search.backfill_page_done"
HISTORY_PAGE = 200  # messages per conversations.history call (Slack's recommended maximum)
CHUNK = 50
BULK = int(routing.Priority.BULK)
_SKIPPED_SUBTYPES = {"bot_message", "channel_join", "channel_leave", "channel_topic",
                     "channel_purpose", "channel_name"}

SUMMARY = {
    "en": "Re-indexed <#{channel}>: {indexed} messages from {pages} page(s) of history.",
    "es": "Reindexado <#{channel}>: {indexed} mensajes de {pages} página(s) de historial.",
}


def _channel_type(info: dict[str, Any]) -> str:
    channel = info.get("channel") or {}
    if channel.get("is_im"):
        return "im"
    if channel.get("is_mpim"):
        return "mpim"
    return "group" if channel.get("is_private") else "channel"


def register_backfill(app: Celery, base: type[ServiceTask], replier: SlackReplier) -> Any:
    """Register the backfill tasks; return a function that starts one."""

    @app.task(name=PAGE_TASK, bind=True, base=base, shared=False, ignore_result=True)
    def backfill_page(self: ServiceTask, job: dict[str, Any], cursor: str = "") -> None:
        """Fetch one page of history and index it in chunks, then continue."""
        try:
            if not job.get("channel_type"):
                # The bot's token belongs to one workspace: a channel read with it belongs to
                # that team, and must never be indexed under another team's name.
                if replier.call("auth_test").get("team_id") != job["team"]:
                    log.warning("refusing to backfill %s for team %s: not the bot's workspace",
                                job["channel"], job["team"])
                    return
                job["channel_type"] = _channel_type(
                    replier.call("conversations_info", channel=job["channel"]))
            page = replier.call("conversations_history", channel=job["channel"],
                                cursor=cursor or None, limit=HISTORY_PAGE)
        except TransientError as exc:
            raise self.retry_later(exc) from exc
        documents = [
            {"team": job["team"], "channel": job["channel"], "ts": m["ts"],
             "text": m.get("text", ""), "user": m.get("user", ""),
             "channel_type": job["channel_type"], "thread_ts": m.get("thread_ts", "")}
            for m in page.get("messages") or []
            if m.get("user") and not m.get("bot_id") and m.get("subtype") not in _SKIPPED_SUBTYPES
        ]
        next_cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
        job = {**job, "pages": job.get("pages", 0) + 1}
        done = backfill_page_done.s(job, next_cursor).set(priority=BULK)
        chunks = [documents[i:i + CHUNK] for i in range(0, len(documents), CHUNK)]
        if chunks:
            chord(group(app.signature(INDEX_TASK, args=(c,)).set(priority=BULK)
                        for c in chunks))(done)
        else:
            done.apply_async(args=([],))

    @app.task(name=DONE_TASK, bind=True, base=base, shared=False)
    def backfill_page_done(self: ServiceTask, counts: list[int], job: dict[str, Any],
                           next_cursor: str) -> dict[str, Any]:
        """After a page: fetch the next one, or post the summary."""
        job = {**job, "indexed": job.get("indexed", 0) + sum(counts or [0])}
        if next_cursor:
            backfill_page.apply_async((job, next_cursor), priority=BULK)
            return job
        if job.get("notify_channel"):
            text = SUMMARY.get(job.get("lang", "en"), SUMMARY["en"]).format(
                channel=job["channel"], indexed=job["indexed"], pages=job["pages"])
            target = ReplyTarget(kind="thread", channel=job["notify_channel"])
            try:  # through the reply ledger: a redelivered last page posts no second summary
                replier.deliver(target, key=f"backfill:{job['id']}", reply=Reply(text))
            except TransientError as exc:
                raise self.retry_later(exc) from exc
        return job

    def start(context: Context, channel: str, lang: str) -> None:
        job = {"id": str(uuid.uuid4()), "team": context.team, "channel": channel, "lang": lang,
               "notify_channel": context.channel if context.source != "api" else "",
               "channel_type": "", "pages": 0, "indexed": 0}
        backfill_page.apply_async((job, ""), priority=BULK)

    return start
