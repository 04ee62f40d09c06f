"""The agenda's interactive side: the add form (opened by `/agenda`, the shortcut or the Home
tab's button, then submitted), the "Cancel", "Done" and "Snooze" buttons, its Home section.

Nothing a click carries is trusted: a button's value only names an event, which is looked up
in the clicking person's own team and checked again (may they cancel it, was its reminder
posted where they clicked). Every side effect is keyed by the request id, as the commands'.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError

from estafeta import grammar
from estafeta.grammar import Command
from estafeta.interactions import Interaction
from estafeta.mrkdwn import escape
from estafeta.payloads import Context, ReplyTarget
from workers.agenda import blocks, texts
from workers.agenda.form import FormProblem, modal, read_form
from workers.agenda.handlers import Agenda
from workers.agenda.reminders import reminder_text
from workers.agenda.store import Event
from workers.replies import Reply, TransientError
from workers.service import InteractionHandler

log = logging.getLogger(__name__)

HOME_EVENTS = 5  # the next events the Home tab shows
# What `views.open` answers to a trigger used too late (Slack gives 3 s) or twice.
EXPIRED_TRIGGER = frozenset({"expired_trigger_id", "invalid_trigger_id", "trigger_exchanged"})
SNOOZE_SECONDS = {"10m": 600.0, "1h": 3600.0}
_USER_ID = re.compile(r"^[UW][A-Z0-9]{1,30}$")
_ID = re.compile(r"^\d{1,12}$")


class Interactive:
    """The form, the buttons and the Home section, over the agenda's commands."""

    def __init__(self, agenda: Agenda) -> None:
        self.agenda = agenda
        self.store = agenda.store
        self.replier = agenda.replier

    # -- the form ------------------------------------------------------------------------

    def open_form(self, trigger_id: str, channel: str, lang: str, request_id: str = "") -> str:
        """Open the add form with Slack's trigger; '' when it opened, else what to say.

        Once per request: a re-run (its reply failed) finds the form opened, rather than
        trying a trigger Slack has already taken.
        """
        key = f"{request_id}:form" if request_id else ""
        if key and self.replier.ledger.state(key) == "posted":
            return ""
        try:
            self.replier.call("views_open", trigger_id=trigger_id, view=modal(lang, channel))
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "unknown_error")
            if error in EXPIRED_TRIGGER:
                return texts.get(lang, "form_expired")
            return texts.get(lang, "form_failed").format(error=escape(error[:80]))
        except TransientError:
            # A retry would come after the trigger's 3 s: say so now instead.
            return texts.get(lang, "form_expired")
        if key and self.replier.ledger.claim(key):
            self.replier.ledger.mark_posted(key)
        return ""

    def form_command(self, command: Command, context: Context) -> Reply:
        """`/agenda` alone: open the add form; over HTTP (no trigger), the help."""
        lang = command.lang
        if context.source == "api" or not context.trigger_id:
            declared = grammar.declaration("agenda")
            return Reply(declared.help.get(lang, declared.help["en"]), {"help": True})
        problem = self.open_form(context.trigger_id, context.channel, lang, context.request_id)
        if problem:
            return Reply(problem, {"error": "form_not_opened"})
        return Reply(texts.get(lang, "form_opened"), {"form": "opened"})

    def open_form_click(self, item: Interaction, context: Context, lang: str) -> Reply | None:
        """The global shortcut and the Home tab's button: the form, confirmed by DM."""
        problem = self.open_form(item.trigger_id, context.channel, lang, context.request_id)
        if problem:
            return self._privately(context, Reply(problem, {"error": "form_not_opened"}))
        return None

    def submitted(self, item: Interaction, context: Context, lang: str) -> Reply | None:
        """The add form's submission: the event, added once, in the person's timezone."""
        first = self.store.done_event(context.team, context.request_id, "add")
        if first is not None:
            return self._privately(context, self.agenda.added(first, context))
        person = self.agenda.person(context)
        now = datetime.now(ZoneInfo(person.tz))
        try:
            wanted = read_form(dict(item.values), person.tz, now, lang)
        except FormProblem as problem:
            return self._privately(context, Reply(problem.text, {"error": "invalid"}))
        # Opened from a channel: the channel is reminded, as for `/agenda add` there; from a
        # direct message, the shortcut or the Home tab: the person, by DM.
        reply = self.agenda.store_event(context, wanted.title, wanted.when, lang,
                                        personal=not context.channel)
        return self._privately(context, reply)

    def _privately(self, context: Context, reply: Reply) -> Reply | None:
        """`reply` for the interaction task to post as an ephemeral where the form came from;
        with no such channel (a shortcut, the Home tab), posted here by DM, once."""
        if context.channel:
            return reply
        channel = self.replier.open_direct(context.user)
        self.replier.deliver(ReplyTarget(kind="channel", channel=channel),
                             key=f"{context.request_id}:dm", reply=reply)
        return None

    # -- buttons -------------------------------------------------------------------------

    def cancel_click(self, item: Interaction, context: Context, lang: str) -> Reply:
        """A "Cancel" button: the event cancelled if the person may (checked again here)."""
        if not _ID.match(item.value):
            return Reply(texts.get(lang, "cancel_usage"), {"error": "usage"})
        return self.agenda.cancel_event(int(item.value), context, lang)

    def _reminded(self, item: Interaction, context: Context) -> tuple[Event, float] | None:
        """The event and occurrence of a reminder button, if the reminder was posted where
        the person clicked (the value alone proves nothing)."""
        found = blocks.read_occurrence(item.value)
        if found is None:
            return None
        event = self.store.get(context.team, found[0])
        if event is None or not event.notify or event.notify != context.channel:
            return None
        return event, found[1]

    def done_click(self, item: Interaction, context: Context, lang: str) -> Reply:
        """"Done": the reminder is struck through, with who marked it."""
        found = self._reminded(item, context)
        if found is None:
            return Reply(texts.get(lang, "snooze_gone"), {"error": "not_found"})
        event, occurrence = found
        lang = event.lang if event.lang in grammar.LANGS else lang
        posted = reminder_text(event, occurrence, occurrence).split("\n", 1)[0]
        # Slack's own id of the clicking person; anything else is never written as a mention.
        who = (f"<@{context.user}>" if _USER_ID.match(context.user)
               else escape(context.user[:40]))
        text = texts.get(lang, "done").format(reminder=posted, who=who)
        return Reply(text, {"done": event.id}, blocks=blocks.listing("", [(text, None)], "",
                                                                     lang),
                     replace_original=True)

    def snooze_click(self, item: Interaction, context: Context, lang: str) -> Reply:
        """"Snooze": one more reminder of that occurrence later, once per click."""
        found = self._reminded(item, context)
        if found is None or found[0].cancelled_at is not None:
            return Reply(texts.get(lang, "snooze_gone"), {"error": "not_found"})
        event, occurrence = found
        lang = event.lang if event.lang in grammar.LANGS else lang
        zone = ZoneInfo(event.tz)
        now = time.time()
        how = blocks.SNOOZES[item.id]
        if how in SNOOZE_SECONDS:
            due = now + SNOOZE_SECONDS[how]
        else:  # tomorrow, at the time of the occurrence
            local = datetime.fromtimestamp(occurrence, zone)
            tomorrow = datetime.fromtimestamp(now, zone).date() + timedelta(days=1)
            due = local.replace(year=tomorrow.year, month=tomorrow.month,
                                day=tomorrow.day).timestamp()
        due = self.store.snooze(context.team, event.id, occurrence, due,
                                request_key=context.request_id)
        at = datetime.fromtimestamp(due, zone)
        today = datetime.fromtimestamp(now, zone).date()
        shown = f"{at:%H:%M}" if at.date() == today else f"{at:%Y-%m-%d %H:%M}"
        return Reply(texts.get(lang, "snoozed").format(title=escape(event.title), time=shown),
                     {"snoozed": event.id, "due_at": due})

    # -- the Home tab --------------------------------------------------------------------

    def home(self, context: Context, lang: str) -> list[dict[str, Any]]:
        """The person's next events (or a friendly line) and the button to add one."""
        return blocks.home(self.agenda.upcoming_lines(context, lang, HOME_EVENTS), lang)

    def interactions(self) -> dict[str, InteractionHandler]:
        """The ids `workers/agenda/commands.py` declares, and their handlers."""
        handlers: dict[str, InteractionHandler] = {
            "agenda.add": self.submitted,
            "agenda.new": self.open_form_click,
            blocks.OPEN_FORM: self.open_form_click,
            blocks.CANCEL: self.cancel_click,
            blocks.DONE: self.done_click,
        }
        handlers.update({action: self.snooze_click for action in blocks.SNOOZES})
        return handlers
