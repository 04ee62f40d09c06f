"""The agenda service's commands: add, remind, list, next, search, cancel, export."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.errors import SlackApiError

from estafeta.grammar import Command, fold
from estafeta.mrkdwn import escape
from estafeta.payloads import Context
from workers.agenda import blocks, texts
from workers.agenda.calendar import to_ics
from workers.agenda.store import AgendaStore, Event, NewEvent
from workers.agenda.when import Unclear, When, describe, next_occurrence, parse_event
from workers.replies import Reply, SlackReplier, Upload, conversation_kind
from workers.service import LEDGER_RETENTION, CommandHandler, ServiceHandlers

USER_CACHE_SECONDS = 24 * 3600  # Slack profiles change timezone rarely; travellers wait a day
HORIZON_DAYS = 5 * 366  # `next` and `search` look this far ahead
LIST_LIMIT = 20
PRUNE_AFTER = 90 * 24 * 3600
# A request's record must outlive every retry and redelivery of its message, or a late re-run
# would add a second event; the reply ledger, kept as long, is bounded by the same window.
REQUEST_RETENTION = LEDGER_RETENTION
API_USER = "api"  # every HTTP caller of a team is this one user (gateway/api.py)

_WINDOWS = {"today": "today", "hoy": "today", "tomorrow": "tomorrow", "manana": "tomorrow",
            "mañana": "tomorrow", "week": "week", "semana": "week", "": "week"}
_ID = re.compile(r"^#?(\d{1,12})$")
# What follows "remind" / "recuérdame" before the reminder itself: "me to", "que", "de".
_REMIND_LEAD = re.compile(r"^\s*(?:me\s+)?(?:to|about|que|de)?\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Person:
    """Who asks, as Slack describes them: their timezone and whether they administer Slack."""

    tz: str
    is_admin: bool


@dataclass(frozen=True)
class Occurrence:
    """One start of an event, for listings."""

    start: datetime
    event: Event


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name


class Agenda:
    """The commands, bound to a store and a Slack client."""

    def __init__(self, store: AgendaStore, replier: SlackReplier) -> None:
        self.store = store
        self.replier = replier

    # -- who is asking -------------------------------------------------------------------

    def person(self, context: Context) -> Person:
        """The caller's timezone and admin flag, from `users.info`, cached for a day."""
        if context.source == "api" or not context.user:
            return Person("UTC", False)
        cached = self.store.cached_user(context.team, context.user, USER_CACHE_SECONDS)
        if cached is not None:
            return Person(*cached)
        user = self.replier.call("users_info", user=context.user).get("user") or {}
        tz = _zone(str(user.get("tz") or "UTC"))
        is_admin = bool(user.get("is_admin") or user.get("is_owner"))
        self.store.remember_user(context.team, context.user, tz, is_admin)
        return Person(tz, is_admin)

    def may_cancel(self, event: Event, context: Context, person: Person,
                   creators: dict[str, str] | None = None) -> bool:
        """The owner may cancel; so may the workspace's admins and the creator of the channel
        whose agenda holds the event (Slack's closest thing to a channel's admin).

        `creators`: channel → creator already asked (a listing asks once per channel).
        """
        if event.owner and event.owner == context.user:
            return True
        if not event.channel or context.source == "api":
            return False
        if person.is_admin:
            return True
        if creators is not None and event.channel in creators:
            return creators[event.channel] == context.user
        info = self.replier.call("conversations_info", channel=event.channel).get("channel")
        creator = str((info or {}).get("creator") or "") if isinstance(info, dict) else ""
        if creators is not None:
            creators[event.channel] = creator
        return bool(creator) and creator == context.user

    def api_channel_refusal(self, channel: str, team: str) -> str:
        """Why an HTTP caller of `team` may not have reminders posted in `channel` ('' if it
        may).

        Nothing vouches for a channel named in an HTTP request, so the bot only posts where
        anyone may read anyway: a public, unarchived channel it is a member of, as Slack
        describes it with the bot's own token — and only for a caller of that token's own
        workspace (a token of another team, or of none, has no say over its channels).
        """
        if not texts.is_conversation_id(channel):
            return "not_a_channel"
        try:
            if self.replier.bot_team() != team:
                return "other_workspace"
        except SlackApiError as exc:  # invalid_auth and the like; transient errors retry
            return str(exc.response.get("error") or "other_workspace")
        try:
            info = self.replier.call("conversations_info", channel=channel).get("channel")
        except SlackApiError as exc:  # channel_not_found and the like; transient errors retry
            return str(exc.response.get("error") or "channel_not_found")
        info = info if isinstance(info, dict) else {}
        if (not info.get("is_channel") or info.get("is_private") or info.get("is_im")
                or info.get("is_mpim") or info.get("is_archived")):
            return "not_a_public_channel"
        if not info.get("is_member"):
            return "not_in_channel"
        return ""

    def conversation_kind(self, context: Context) -> str:
        """channel, group, im or mpim: where a Slack request came from. A slash command says
        so; an `app_mention` event does not, nor does a modal (its channel's id is all it
        carries, and private channels' ids start with C too), so Slack is asked
        (`conversations.info`)."""
        asked = context.source == "interaction" or (
            context.source in {"slash", "mention"} and not context.channel_type)
        if not asked or not context.channel:
            return context.channel_type
        try:
            info = self.replier.call("conversations_info", channel=context.channel)
        except SlackApiError:
            return ""  # unknown: the reminder goes to the user's DM, as for any doubt
        return conversation_kind(info)

    # -- commands ------------------------------------------------------------------------

    def add(self, command: Command, context: Context, personal: bool = False) -> Reply:
        """Add an event; `personal` (remind me / recuérdame) sends its reminder by DM.

        Keyed by `context.request_id`: a re-run of the same request answers with the event
        it added the first time, and adds nothing.
        """
        lang = command.lang
        # store.add keeps it once; asking first only spares a re-run its Slack calls.
        first = self.store.done_event(context.team, context.request_id, "add")
        if first is not None:
            return self.added(first, context)
        if not command.args.strip():
            return Reply(texts.get(lang, "add_usage"), {"error": "empty"})
        person = self.person(context)
        now = datetime.now(ZoneInfo(person.tz))
        try:
            parsed = parse_event(command.args, now, person.tz, lang)
        except Unclear as unclear:
            # Answer in the language the phrase was written in, whatever the verb's language.
            return Reply(unclear.question(unclear.lang or lang), {"error": unclear.reason})
        return self.store_event(context, parsed.what, parsed.when, parsed.lang, personal)

    def store_event(self, context: Context, title: str, when: When, lang: str,
                    personal: bool = False) -> Reply:
        """Store an event asked for from `context` and answer with it (once per request)."""
        kind = "" if personal else self.conversation_kind(context)
        in_channel = (not personal and context.source != "api" and bool(context.channel)
                      and kind in {"channel", "group"})
        api_channel = context.source == "api" and bool(context.channel) and not personal
        if api_channel:
            refusal = self.api_channel_refusal(context.channel, context.team)
            if refusal:
                key = ("channel_other_workspace" if refusal == "other_workspace"
                       else "channel_refused")
                return Reply(texts.get(lang, key).format(channel=escape(context.channel)),
                             {"error": "channel_not_allowed", "reason": refusal})
        if in_channel or api_channel:
            channel, notify = context.channel, context.channel
        elif context.source == "api":
            channel, notify = "", ""
        else:
            channel, notify = "", self.replier.open_direct(context.user)
        event = self.store.add(NewEvent(
            team=context.team, channel=channel, owner=context.user, title=title,
            when=when, lang=lang, notify=notify,
            public=api_channel or kind == "channel",
        ), request_key=context.request_id)
        return self.added(event, context)

    @staticmethod
    def added(event: Event, context: Context) -> Reply:
        """The answer to an `add`, from the event as stored (a re-run answers the same); in
        Slack, with a "Cancel" button (the one who added it may always cancel it)."""
        lang = event.lang
        if event.notify and event.notify == event.channel:
            where = "channel"
        else:
            where = "dm" if event.notify else "none"
        when_text = describe(event.when, lang)
        text = texts.get(lang, "added").format(id=event.id, title=escape(event.title),
                                               when=when_text)
        text += " " + texts.get(lang, f"notify_{where}").format(
            channel=texts.channel_link(event.channel))
        cancel = event.id if context.source != "api" and event.owner == context.user else None
        return Reply(text, {"event": _event_data(event), "when": when_text,
                            "notify": where},
                     blocks=None if context.source == "api" else blocks.listing(
                         "", [(text, cancel)], "", lang))

    def remind(self, command: Command, context: Context) -> Reply:
        """`remind me to ...` / `recuérdame ...`: a personal reminder, by DM."""
        text = _REMIND_LEAD.sub("", " " + command.args, count=1)
        return self.add(Command(command.service, command.verb, text, command.lang), context,
                        personal=True)

    def list_events(self, command: Command, context: Context) -> Reply:
        """Occurrences today, tomorrow or in the coming week."""
        window = _WINDOWS.get(fold(command.args.strip()))
        if window is None:
            return Reply(texts.get(command.lang, "list_usage"), {"error": "usage"})
        person = self.person(context)
        now = datetime.now(ZoneInfo(person.tz))
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        since, until = {
            "today": (now, midnight + timedelta(days=1)),
            "tomorrow": (midnight + timedelta(days=1), midnight + timedelta(days=2)),
            "week": (now, now + timedelta(days=7)),
        }[window]
        found = self._occurrences(context, since, until)
        heading = texts.get(command.lang, f"list_{window}")
        if not found:
            return Reply(texts.get(command.lang, "list_none").format(heading=heading),
                         {"window": window, "occurrences": []})
        shown = found[:LIST_LIMIT]
        lines = [self._line(o, person, command.lang) for o in shown]
        more = ""
        if len(found) > LIST_LIMIT:
            # Each event gave at most LIST_LIMIT + 1 occurrences: the count is a lower bound.
            more = texts.get(command.lang, "more").format(count=len(found) - LIST_LIMIT)
        text = "\n".join([f"*{heading}*", *lines, *([more] if more else [])])
        return Reply(text, {
            "window": window, "occurrences": [_occurrence_data(o) for o in shown],
            "more": len(found) > LIST_LIMIT},
            blocks=self._listing(f"*{heading}*", shown, lines, more, context, person,
                                 command.lang))

    def next_event(self, command: Command, context: Context) -> Reply:
        """The next thing on the caller's agenda."""
        person = self.person(context)
        now = datetime.now(ZoneInfo(person.tz))
        upcoming = self._upcoming(self._visible(context, now), now)
        if not upcoming:
            return Reply(texts.get(command.lang, "next_none"), {"next": None})
        first = upcoming[0]
        text = texts.get(command.lang, "next").format(line=self._line(first, person,
                                                                       command.lang))
        return Reply(text, {"next": _occurrence_data(first)},
                     blocks=self._listing("", [first], [text], "", context, person,
                                          command.lang))

    def search(self, command: Command, context: Context) -> Reply:
        """Events whose title contains every word of the text."""
        words = command.args.strip()
        if not words:
            return Reply(texts.get(command.lang, "search_usage"), {"error": "empty"})
        person = self.person(context)
        now = datetime.now(ZoneInfo(person.tz))
        events = self._visible(context, now, words)
        upcoming = self._upcoming(events, now)
        if not upcoming:
            return Reply(texts.get(command.lang, "search_none").format(text=escape(words)),
                         {"occurrences": []})
        shown = upcoming[:LIST_LIMIT]
        lines = [self._line(o, person, command.lang) for o in shown]
        heading = texts.get(command.lang, "search").format(text=escape(words))
        return Reply(heading + "\n" + "\n".join(lines),
                     {"occurrences": [_occurrence_data(o) for o in upcoming]},
                     blocks=self._listing(heading, shown, lines, "", context, person,
                                          command.lang))

    def cancel(self, command: Command, context: Context) -> Reply:
        """Cancel an event by id: its owner, a workspace admin or the channel's creator (a
        re-run of the same request answers as the first run did)."""
        # A re-run finds the event cancelled already: the store's record repeats the answer.
        first = self.store.done_event(context.team, context.request_id, "cancel")
        if first is not None:
            return self._cancelled(first, command.lang)
        match = _ID.match(command.args.strip())
        if match is None:
            return Reply(texts.get(command.lang, "cancel_usage"), {"error": "usage"})
        return self.cancel_event(int(match.group(1)), context, command.lang)

    def cancel_event(self, event_id: int, context: Context, lang: str) -> Reply:
        """Cancel event `event_id` if the person asking may see it and cancel it."""
        first = self.store.done_event(context.team, context.request_id, "cancel")
        if first is not None:
            return self._cancelled(first, lang)
        event = self.store.get(context.team, event_id)
        visible = event is not None and event.cancelled_at is None and (
            event.owner == context.user or (event.channel == context.channel
                                            and (event.public or context.inside == event.channel)))
        if event is None or not visible:
            return Reply(texts.get(lang, "cancel_unknown").format(id=event_id),
                         {"error": "not_found"})
        if not self.may_cancel(event, context, self.person(context)):
            return Reply(texts.get(lang, "cancel_denied").format(id=event_id),
                         {"error": "forbidden"})
        self.store.cancel(context.team, event_id, request_key=context.request_id)
        return self._cancelled(event, lang)

    @staticmethod
    def _cancelled(event: Event, lang: str) -> Reply:
        return Reply(texts.get(lang, "cancelled").format(id=event.id,
                                                         title=escape(event.title)),
                     {"cancelled": event.id})

    def export(self, command: Command, context: Context) -> Reply:
        """The caller's events as an iCalendar file, uploaded to their DM."""
        events = self.store.owned(context.team, context.user)
        calendar = to_ics(events)
        data = {"events": len(events), "ics": calendar.decode()}
        if context.source == "api":
            text = texts.counted(command.lang, "export_api", len(events))
            return Reply(text.format(count=len(events)), data)
        upload = Upload(channel=self.replier.open_direct(context.user),
                        filename="estafeta-agenda.ics", content=calendar,
                        title=texts.get(command.lang, "export_title"))
        text = texts.counted(command.lang, "exported", len(events))
        return Reply(text.format(count=len(events)), data, upload=upload)

    # -- helpers -------------------------------------------------------------------------

    def _visible(self, context: Context, now: datetime, text: str = "") -> list[Event]:
        until = (now + timedelta(days=HORIZON_DAYS)).timestamp()
        return self.store.visible(context.team, context.user, context.channel, context.inside,
                                  until, text)

    def _occurrences(self, context: Context, since: datetime, until: datetime
                     ) -> list[Occurrence]:
        events = self.store.visible(context.team, context.user, context.channel,
                                    context.inside, until.timestamp())
        # Past LIST_LIMIT + 1 starts an event cannot change what is shown (only that there is
        # more): an "every 5 minutes" event costs a listing no more than a weekly one.
        found = [Occurrence(start, event) for event in events
                 for start in event.occurrences(since, until, limit=LIST_LIMIT + 1)]
        return sorted(found, key=lambda o: (o.start.timestamp(), o.event.id))

    @staticmethod
    def _upcoming(events: list[Event], now: datetime) -> list[Occurrence]:
        found = []
        for event in events:
            when = event.when
            start: datetime | None = when.start
            if start is not None and start < now:
                start = next_occurrence(when, now) if when.rrule else None
            if start is not None:
                found.append(Occurrence(start, event))
        return sorted(found, key=lambda o: (o.start.timestamp(), o.event.id))

    def _listing(self, heading: str, shown: list[Occurrence], lines: list[str], footer: str,
                 context: Context, person: Person, lang: str) -> list[dict[str, Any]] | None:
        """The blocks of a listing: each line with a "Cancel" button when the person may
        cancel its event (none for HTTP callers, who get the text and data)."""
        if context.source == "api":
            return None
        creators: dict[str, str] = {}
        allowed: dict[int, bool] = {}
        rows: list[tuple[str, int | None]] = []
        for occurrence, line in zip(shown, lines, strict=True):
            event = occurrence.event
            if event.id not in allowed:
                allowed[event.id] = self.may_cancel(event, context, person, creators)
            rows.append((line, event.id if allowed[event.id] else None))
        return blocks.listing(heading, rows, footer, lang)

    def upcoming_lines(self, context: Context, lang: str, limit: int) -> list[str]:
        """The person's own next `limit` occurrences, as listing lines in their timezone."""
        person = self.person(context)
        now = datetime.now(ZoneInfo(person.tz))
        until = (now + timedelta(days=HORIZON_DAYS)).timestamp()
        events = self.store.visible(context.team, context.user, "", "", until)
        return [self._line(o, person, lang) for o in self._upcoming(events, now)[:limit]]

    @staticmethod
    def _line(occurrence: Occurrence, person: Person, lang: str) -> str:
        local = occurrence.start.astimezone(ZoneInfo(person.tz))
        event = occurrence.event
        clock = local.strftime("%H:%M") if event.time_given else texts.get(lang, "all_day")
        repeat = " :repeat:" if event.rrule else ""
        where = f" {texts.channel_link(event.channel)}" if event.channel else ""
        day = texts.weekday(lang, local.weekday())
        return (f"`#{event.id}` {day} {local:%Y-%m-%d} {clock} – *{escape(event.title)}*"
                f"{repeat}{where}")

    def handlers(self) -> dict[str, CommandHandler]:
        """The verbs `workers/agenda/commands.py` declares, and their handlers."""
        return {"add": self.add, "remind": self.remind, "list": self.list_events,
                "next": self.next_event,
                "search": self.search, "cancel": self.cancel, "export": self.export}


def _event_data(event: Event) -> dict[str, object]:
    return {"id": event.id, "title": event.title, "start": event.when.start.isoformat(),
            "tz": event.tz, "rrule": event.rrule, "channel": event.channel or None,
            "time_given": event.time_given}


def _occurrence_data(occurrence: Occurrence) -> dict[str, object]:
    return {**_event_data(occurrence.event), "at": occurrence.start.isoformat()}


def build_handlers(store: AgendaStore, replier: SlackReplier) -> ServiceHandlers:
    """The agenda's handlers (commands, the form and buttons, its Home section), and its daily
    upkeep (forget long-finished events and old request records)."""
    agenda = Agenda(store, replier)

    def prune() -> dict[str, object]:
        return {"events_pruned": store.prune(PRUNE_AFTER),
                "requests_pruned": store.prune_requests(REQUEST_RETENTION),
                "reminders_pending": store.pending(), "at": time.time()}

    # Imported here: the interactive side is built over `Agenda`, defined in this module.
    from workers.agenda.interactive import Interactive

    interactive = Interactive(agenda)
    return ServiceHandlers(commands={**agenda.handlers(), "form": interactive.form_command},
                           maintenance=[prune], interactions=interactive.interactions(),
                           home=interactive.home)
