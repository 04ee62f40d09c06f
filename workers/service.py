"""Turns a service's plain handlers into its Celery tasks: commands, heard messages, upkeep.

A service module only writes pure handlers (`Command` + `Context` -> `Reply`); this module adds
what every service needs: payload validation, the reply posted once, retries with backoff for
Slack's transient failures, and a guard that dead-letters a message that keeps killing workers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from celery import Celery, Task
from celery.exceptions import Reject, TaskPredicate
from celery.utils.time import get_exponential_backoff_interval

import routing
from estafeta import grammar, metrics, mrkdwn, tracing
from estafeta.grammar import Command
from estafeta.interactions import Interaction
from estafeta.payloads import Context, HeardMessage, ReplyTarget
from estafeta.settings import Settings
from estafeta.stores import StoreUnavailable, open_stores
from workers.droppable import DROPPABLE_TASKS
from workers.home import home_view
from workers.locale import Locales
from workers.replies import (
    CURRENT_ATTEMPT,
    CURRENT_TEAM,
    NotInstalled,
    Reply,
    ReplyLedger,
    SlackReplier,
    TransientError,
)

log = logging.getLogger(__name__)

CommandHandler = Callable[[Command, Context], Reply]
# A click, modal submission or shortcut, in the person's language; None: nothing to say.
InteractionHandler = Callable[[Interaction, Context, str], Reply | None]
# The service's section of a person's App Home tab (Block Kit blocks), in their language.
HomeHandler = Callable[[Context, str], list[dict[str, Any]]]
HeardHandler = Callable[[HeardMessage], None]
MaintenanceHandler = Callable[[], dict[str, Any]]
# Where a Slack request came from: a person is there, with a Slack locale to ask.
_FROM_SLACK = frozenset({"slash", "mention", "interaction", "home"})

MAX_RETRIES = 8
RETRY_BACKOFF_FACTOR = 2  # seconds: 2, 4, 8, ... with full jitter
RETRY_BACKOFF_MAX = 300
# The database away (a restart, a failover): retried for as long as it takes, never
# dead-lettered, at most this far apart so that work resumes soon after it is back.
STORE_RETRY_BACKOFF_MAX = 30
STORE_RETRIES = 100_000
STORE_RETRIES_HEADER = "estafeta_store_retries"  # message header: retries that waited for it
MAX_REDELIVERIES = 5  # a message redelivered this often after worker crashes is dead-lettered
LEDGER_RETENTION = 14 * 24 * 3600

# Said once, under its own reply key, when a command cannot be done: never silence.
APOLOGY = {
    "en": "Sorry, something went wrong and I could not do that. "
          "Please try again in a few minutes.",
    "es": "Lo siento, algo falló y no pude hacerlo. Vuelve a probar en unos minutos.",
}


@dataclass
class ServiceHandlers:
    """The domain code of one service."""

    commands: Mapping[str, CommandHandler]
    on_heard: HeardHandler | None = None
    maintenance: list[MaintenanceHandler] = field(default_factory=list)
    # action_id / callback_id → handler, for every id the service declares.
    interactions: Mapping[str, InteractionHandler] = field(default_factory=dict)
    home: HomeHandler | None = None


def team_of(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
    """The team a task works for, from its own arguments: a context, a heard message, a
    backfill job (passed by keyword or in place), whichever names one."""
    for value in (kwargs.get("context"), kwargs.get("message"), kwargs.get("job"), *args):
        if isinstance(value, dict) and isinstance(value.get("team"), str):
            return str(value["team"])
    return ""


class ServiceTask(Task):
    """Base task of the services: retries go back to the service's own command queue."""

    abstract = True
    max_retries = MAX_RETRIES
    service: routing.Service
    ledger: ReplyLedger

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the task with its attempt known to every reply posted inside it."""
        # A reply claimed by an earlier attempt that failed (a Slack 5xx) stays claimed: this
        # attempt's number lets the retry take the claim over, and post.
        token = CURRENT_ATTEMPT.set((self.request.retries or 0, self.redelivered))
        # Every Web API call inside uses this team's token (`SlackReplier.client`); a task that
        # works for several teams (a batch of reminders) says so with `acting_for`.
        team = CURRENT_TEAM.set(team_of(args, kwargs))
        try:
            return super().__call__(*args, **kwargs)
        except StoreUnavailable as exc:
            if self.name in DROPPABLE_TASKS:  # the next one (a second later) does its work
                log.warning("%s skipped: %s", self.name, exc)
                return None
            raise self.retry_later(exc) from exc
        except NotInstalled as exc:
            # Never another team's token: the message waits in the dead letters, to be
            # replayed once the team installs the app again.
            log.warning("%s: %s; nothing sent to Slack, message dead-lettered", self.name, exc)
            raise Reject(str(exc), requeue=False) from exc
        finally:
            CURRENT_TEAM.reset(team)
            CURRENT_ATTEMPT.reset(token)

    def retry_later(self, exc: TransientError | StoreUnavailable) -> Exception:
        """Schedule a retry after Slack's `Retry-After`, or after exponential backoff; a
        store that is unavailable is waited for without a limit on retries."""
        countdown = exc.retry_after
        store_down = isinstance(exc, StoreUnavailable)
        waited = self.store_retries
        if countdown is None:
            countdown = get_exponential_backoff_interval(
                RETRY_BACKOFF_FACTOR, waited if store_down else self.slack_retries,
                STORE_RETRY_BACKOFF_MAX if store_down else RETRY_BACKOFF_MAX, full_jitter=True
            )
        # Heard messages came through the topic exchange: retrying there would reach every
        # listening service again, so a retry always goes to this service's command queue.
        queue = self.service.command_queue.name
        # `headers=` replaces the message's custom headers: the trace is passed on with it
        # (the current one, restored from this task's message by workers/task_signals.py).
        carried = tracing.headers()
        if store_down:
            log.warning("store unavailable (%s); retry %d in %.1fs", exc, waited + 1, countdown)
            metrics.TASK_RETRIES.labels(self.service.name, self.name, "store").inc()
            return self.retry(exc=exc, countdown=countdown, max_retries=STORE_RETRIES,
                              queue=queue, headers={**carried, STORE_RETRIES_HEADER: waited + 1})
        if self.retries_exhausted:
            log.error("transient failure (%s); retries exhausted, dead-lettering", exc)
        else:
            log.warning("transient failure (%s); retry %d in %.1fs",
                        exc, self.slack_retries + 1, countdown)
            reason = "rate_limited" if getattr(exc, "rate_limited", False) else "slack"
            metrics.TASK_RETRIES.labels(self.service.name, self.name, reason).inc()
        # Waiting for the database spent none of the retries Slack's failures get.
        return self.retry(exc=exc, countdown=countdown, queue=queue,
                          max_retries=self.max_retries + waited,
                          headers={**carried, STORE_RETRIES_HEADER: waited})

    @property
    def store_retries(self) -> int:
        """How many of this task's retries waited for the database."""
        value = getattr(self.request, STORE_RETRIES_HEADER, None)
        if value is None:  # run in-process (eager), the header stays in `headers`
            value = (self.request.headers or {}).get(STORE_RETRIES_HEADER)
        return int(value or 0)

    @property
    def slack_retries(self) -> int:
        """How many of this task's retries followed a transient failure of Slack."""
        return (self.request.retries or 0) - self.store_retries

    @property
    def redelivered(self) -> bool:
        """Whether the broker redelivered this message (its earlier consumer is gone)."""
        return bool((self.request.delivery_info or {}).get("redelivered"))

    @property
    def retries_exhausted(self) -> bool:
        """Whether a retry now would exceed `max_retries` (so the message will dead-letter)."""
        return self.max_retries is not None and self.slack_retries >= self.max_retries

    def guard_redelivery(self) -> None:
        """Dead-letter a message that has been redelivered too often (it crashes workers)."""
        if not self.redelivered:
            return
        count = self.ledger.count_redelivery(self.request.id)
        if count > MAX_REDELIVERIES:
            log.error("task %s redelivered %d times; dead-lettering it", self.request.id, count)
            raise Reject(f"redelivered {count} times", requeue=False)


class HandlersMismatch(RuntimeError):
    """A service's handlers and its declared verbs (`workers/<svc>/commands.py`) differ."""


def check_handlers(service: str, declared: grammar.ServiceCommands,
                   handlers: ServiceHandlers) -> None:
    """Refuse to start a service with a declared verb that has no handler, or the reverse."""
    handled = set(handlers.commands) - grammar.BUILT_IN_VERBS
    where = grammar.commands_module(service)
    if unhandled := sorted(declared.handled_verbs - handled):
        raise HandlersMismatch(f"service {service!r}: verbs declared in {where} have no "
                               f"handler: {', '.join(unhandled)}")
    if undeclared := sorted(handled - declared.handled_verbs):
        raise HandlersMismatch(f"service {service!r}: handlers have no verb declared in "
                               f"{where}: {', '.join(undeclared)}")
    ids = set(declared.interaction_ids)
    if unhandled := sorted(ids - set(handlers.interactions)):
        raise HandlersMismatch(f"service {service!r}: interaction ids declared in {where} "
                               f"have no handler: {', '.join(unhandled)}")
    if undeclared := sorted(set(handlers.interactions) - ids):
        raise HandlersMismatch(f"service {service!r}: interaction handlers have no id "
                               f"declared in {where}: {', '.join(undeclared)}")
    if declared.home != (handlers.home is not None):
        raise HandlersMismatch(f"service {service!r}: `home` in {where} and its home "
                               "handler must come together")


def _help(declared: grammar.ServiceCommands) -> CommandHandler:
    def answer(command: Command, context: Context) -> Reply:
        text = declared.help.get(command.lang, declared.help["en"])
        if command.args:  # the usage reply to something the service did not understand
            # The grammar built this reason as mrkdwn, with the user's word already escaped
            # (`grammar.parse`); escaping it again would show `&lt;` to the user.
            text = f"{command.args}\n\n{text}"
        return Reply(text, {"help": True})

    return answer


def _overview(command: Command, context: Context) -> Reply:
    return Reply(grammar.help_text(None, command.lang), {"help": True})


def make_replier(settings: Settings, service: routing.Service,
                 ledger: ReplyLedger | None = None) -> SlackReplier:
    """The Slack client of a service, with its reply ledger (from `open_stores` by default)
    and its teams' tokens (the installations with OAuth, else `SLACK_BOT_TOKEN`)."""
    from workers.tokens import token_source  # the installations' code only where it is used

    if ledger is None:
        ledger = open_stores(settings, service.name).ledger
    return SlackReplier(settings.slack_api_url, settings.slack_bot_token, ledger,
                        tokens=token_source(settings), service=service.name)


def task_base(service: routing.Service, replier: SlackReplier) -> type[ServiceTask]:
    """The base class of every task of `service`."""
    return type(f"{service.name.title()}Task", (ServiceTask,), {
        "service": service, "ledger": replier.ledger,
    })


def register_service(
    app: Celery, service: routing.Service, handlers: ServiceHandlers,
    replier: SlackReplier | None = None, base: type[ServiceTask] | None = None,
    declared: grammar.ServiceCommands | None = None,
) -> None:
    """Register `service`'s command, heard-message and maintenance tasks on `app`.

    `declared` defaults to the service's own declaration; a handler without a declared verb,
    or a declared verb without a handler, raises `HandlersMismatch` here, at start-up.
    """
    declared = declared or grammar.declaration(service.name)
    check_handlers(service.name, declared, handlers)
    if replier is None:
        replier = make_replier(app.conf.estafeta_settings, service)
    ledger = replier.ledger
    if base is None:
        base = task_base(service, replier)
    help_handler = _help(declared)
    commands: dict[str, CommandHandler] = {
        grammar.HELP: help_handler,
        grammar.OVERVIEW: _overview,
        **handlers.commands,
    }

    def apologize(task: ServiceTask, target: ReplyTarget, lang: str) -> None:
        """Tell the caller once that the command failed (best effort: Slack may be down)."""
        text = APOLOGY.get(lang, APOLOGY["en"])
        try:  # under the running attempt (`ServiceTask.__call__`), like every reply
            replier.deliver(target, key=f"{task.request.id}:failed", reply=Reply(text))
        except Exception as exc:  # the failure being reported matters more than this one
            log.warning("could not tell the caller that task %s failed: %s",
                        task.request.id, type(exc).__name__)

    locales = Locales(replier)

    def language(lang: str, known: bool, context: Context) -> str:
        """`lang` when the words decided it, else the person's Slack locale (cached)."""
        if known or context.source not in _FROM_SLACK or not context.user:
            return lang
        return locales.lang_of(context.user) or lang

    def answer(task: ServiceTask, target: ReplyTarget, lang: str,
               produce: Callable[[], Reply | None]) -> tuple[Reply | None, bool]:
        """Run a handler (`produce`) and post its reply once; (the reply, posted now)."""
        try:
            # Side effects are keyed by the task id: a retry or a redelivery finds the first.
            reply = produce()
        except TransientError as exc:
            # Slack failed inside the handler (users.info, conversations.open, ...): retry the
            # whole request like a failed reply; once retries run out it dead-letters.
            if task.retries_exhausted:
                apologize(task, target, lang)
            raise task.retry_later(exc) from exc
        except (TaskPredicate, StoreUnavailable, NotInstalled):
            # A handler's own Retry/Reject/Ignore is Celery's business; the database being
            # away is retried by `ServiceTask.__call__`, with no apology (it will be done).
            raise
        except Exception:
            # A permanent failure dead-letters at once; the user still hears about it.
            apologize(task, target, lang)
            raise
        if reply is None:
            return None, False
        try:
            # The attempt and whether it is a redelivery come from `ServiceTask.__call__`.
            return reply, replier.deliver(target, key=task.request.id, reply=reply)
        except TransientError as exc:
            raise task.retry_later(exc) from exc

    @app.task(name=service.command_task, bind=True, base=base, shared=False)
    def run_command(
        self: ServiceTask, command: dict[str, str], context: dict[str, str],
        reply: dict[str, str],
    ) -> dict[str, Any]:
        """Answer one command and post the reply once."""
        self.guard_redelivery()
        parsed = Command.from_dict(command)
        where = Context.from_dict(context)
        target = ReplyTarget.from_dict(reply)
        # Before the handler: a message with a forged response_url has no effect at all.
        replier.check_target(target)
        handler = commands.get(parsed.verb)
        if handler is None:
            handler = help_handler
            parsed = Command(parsed.service, "help",
                             f"Unknown command `{mrkdwn.escape(parsed.verb[:40])}`.",
                             parsed.lang)
        parsed = replace(parsed, lang=language(parsed.lang, parsed.lang_known, where),
                         lang_known=True)
        asked = replace(where, request_id=self.request.id)
        answered, posted = answer(self, target, parsed.lang, lambda: handler(parsed, asked))
        result: dict[str, Any] = {"service": service.name, "verb": parsed.verb,
                                  "team": where.team, "posted": posted}
        if where.source == "api" and answered is not None:
            # Only an HTTP caller reads the result (GET /api/v1/tasks). A Slack command's
            # answer is in Slack; its text (snippets of private messages) stays out of results.
            result.update(text=answered.text, data=answered.data)
        return result

    if handlers.interactions:
        interactions = handlers.interactions

        @app.task(name=service.interaction_task, bind=True, base=base, shared=False)
        def interact(
            self: ServiceTask, interaction: dict[str, Any], context: dict[str, str],
            reply: dict[str, str],
        ) -> dict[str, Any]:
            """Answer one click, modal submission or shortcut, and post the reply once."""
            self.guard_redelivery()
            item = Interaction.from_dict(interaction)
            where = replace(Context.from_dict(context), request_id=self.request.id)
            target = ReplyTarget.from_dict(reply)
            replier.check_target(target)
            handler = interactions.get(item.id)
            if handler is None:  # published by something else than the gateway
                raise Reject(f"no handler for {item.id[:80]!r}", requeue=False)
            declared_lang = item.metadata().get("lang", "")
            lang = (declared_lang if declared_lang in grammar.LANGS
                    else language("en", False, where))
            _, posted = answer(self, target, lang, lambda: handler(item, where, lang))
            return {"service": service.name, "interaction": item.id, "team": where.team,
                    "posted": posted}

    if handlers.home is not None:
        home_section = handlers.home

        @app.task(name=service.home_task, bind=True, base=base, shared=False,
                  ignore_result=True)
        def home(self: ServiceTask, so_far: dict[str, Any], context: dict[str, str]
                 ) -> dict[str, Any]:
            """Add this service's section to a person's Home tab; the last service publishes."""
            self.guard_redelivery()
            where = replace(Context.from_dict(context), request_id=self.request.id)
            lang = str(so_far.get("lang") or "") or language("en", False, where)
            sections = [s for s in so_far.get("sections") or [] if isinstance(s, list)]
            try:
                sections.append(home_section(where, lang))
            except TransientError as exc:
                raise self.retry_later(exc) from exc
            except (TaskPredicate, StoreUnavailable, NotInstalled):
                raise
            except Exception:  # one service failing leaves the others' sections standing
                log.exception("%s: the Home section of %s failed", service.name, where.team)
            if not self.request.chain:  # the last of the relay
                try:
                    replier.call("views_publish", user_id=where.user,
                                 view=home_view(sections, lang))
                except TransientError as exc:
                    raise self.retry_later(exc) from exc
            return {"lang": lang, "sections": sections}

    if handlers.on_heard is not None:
        on_heard = handlers.on_heard

        # Every listening service runs this same message: none of them records a result or state.
        @app.task(name=routing.HEARD_TASK, bind=True, base=base, ignore_result=True,
                  track_started=False, shared=False)
        def heard(self: ServiceTask, message: dict[str, str]) -> None:
            """Take in one heard message (idempotent by team, channel and ts)."""
            self.guard_redelivery()
            try:
                on_heard(HeardMessage.from_dict(message))
            except TransientError as exc:  # Slack failed inside the handler: retry it
                raise self.retry_later(exc) from exc

    upkeep = handlers.maintenance

    @app.task(name=service.maintenance_task, bind=True, base=base, shared=False)
    def maintenance(self: ServiceTask) -> dict[str, Any]:
        """Periodic housekeeping: prune the reply ledger and run the service's own upkeep."""
        report: dict[str, Any] = {"service": service.name,
                                  "ledger_pruned": ledger.prune(LEDGER_RETENTION)}
        for step in upkeep:
            report.update(step())
        return report
