"""The message topology: every exchange, queue, binding, routing key and priority, declared once.

Gateway, workers, beat and the command-line tools import this module; no queue name or routing
key is written anywhere else. RabbitMQ refuses to re-declare a queue with other arguments, so
every process declares exactly these objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from kombu import Exchange, Queue

MAX_PRIORITY = 10


class Priority(IntEnum):
    """Message priorities; the broker delivers higher ones first from a backlog."""

    BULK = 1  # backfills, re-indexing, maintenance
    EVENT = 4  # heard messages: nobody is waiting for them
    INTERACTIVE = 7  # a person is waiting for the answer
    REMINDER = 9  # a reminder due now: the most time-critical work in the system


# Mail: one command goes to exactly one service queue, chosen by routing key.
COMMANDS = Exchange("estafeta.commands", type="direct", durable=True)
# Radio: every heard message is published once; each interested service binds its own queue.
HEARD = Exchange("estafeta.heard", type="topic", durable=True)
# Messages that cannot be decoded or exhausted their retries end up here, one queue per service.
DEAD = Exchange("estafeta.dead", type="direct", durable=True)

# Every queue, dead letters included, is declared with exactly these (Celery adds
# x-max-priority to every queue it declares, so the dead-letter queues carry it too).
# Classic queues, version 2: measurably less broker CPU per persistent message than v1;
# quorum queues would bring delivery limits but have no per-message priorities.
QUEUE_ARGUMENTS: dict[str, Any] = {"x-max-priority": MAX_PRIORITY, "x-queue-version": 2}

HEARD_TASK = "heard.message"
# Sent by beat every few seconds: the agenda's look for reminders due now.
REMINDER_SCAN_TASK = "agenda.scan"
HEARD_BINDING_KEY = "slack.message.#"
_ROUTING_WORD = re.compile(r"[^A-Za-z0-9_-]")


def heard_routing_key(team: str, channel: str) -> str:
    """The topic routing key of a message heard in `channel` of `team`."""
    return "slack.message.{}.{}".format(
        _ROUTING_WORD.sub("_", team) or "_", _ROUTING_WORD.sub("_", channel) or "_"
    )


@dataclass(frozen=True)
class Service:
    """A worker service: its queues, its tasks and its default priority."""

    name: str
    default_priority: Priority
    hears: bool  # binds a queue to the heard-message stream

    @property
    def routing_key(self) -> str:
        """Routing key of this service's commands on the `COMMANDS` exchange."""
        return self.name

    @property
    def dead_routing_key(self) -> str:
        """Routing key of this service's dead letters on the `DEAD` exchange."""
        return f"{self.name}.dead"

    @property
    def command_task(self) -> str:
        """Celery task name of a command for this service."""
        return f"{self.name}.command"

    @property
    def interaction_task(self) -> str:
        """Celery task name of a click, modal submission or shortcut for this service."""
        return f"{self.name}.interaction"

    @property
    def home_task(self) -> str:
        """Celery task name of this service's section of a person's App Home tab."""
        return f"{self.name}.home"

    @property
    def maintenance_task(self) -> str:
        """Celery task name of this service's periodic housekeeping."""
        return f"{self.name}.maintenance"

    def _arguments(self) -> dict[str, Any]:
        return {
            **QUEUE_ARGUMENTS,
            "x-dead-letter-exchange": DEAD.name,
            "x-dead-letter-routing-key": self.dead_routing_key,
        }

    @property
    def command_queue(self) -> Queue:
        """The queue of commands (slash commands, mentions, HTTP, scheduled work)."""
        return Queue(
            self.name,
            exchange=COMMANDS,
            routing_key=self.routing_key,
            durable=True,
            queue_arguments=self._arguments(),
        )

    @property
    def heard_queue(self) -> Queue | None:
        """This service's own queue on the heard-message stream, if it listens to it."""
        if not self.hears:
            return None
        return Queue(
            f"{self.name}.heard",
            exchange=HEARD,
            routing_key=HEARD_BINDING_KEY,
            durable=True,
            queue_arguments=self._arguments(),
        )

    @property
    def dead_queue(self) -> Queue:
        """Where this service's undecodable and failed messages wait for inspection."""
        return Queue(
            f"{self.name}.dead",
            exchange=DEAD,
            routing_key=self.dead_routing_key,
            durable=True,
            queue_arguments=dict(QUEUE_ARGUMENTS),
        )

    @property
    def consumed_queues(self) -> list[Queue]:
        """The queues this service's workers consume, and only those."""
        return [q for q in (self.command_queue, self.heard_queue) if q is not None]

    @property
    def all_queues(self) -> list[Queue]:
        """Every queue that belongs to this service, dead letters included."""
        return [*self.consumed_queues, self.dead_queue]


SEARCH = Service("search", default_priority=Priority.INTERACTIVE, hears=True)
AGENDA = Service("agenda", default_priority=Priority.INTERACTIVE, hears=False)
SENTIMENT = Service("sentiment", default_priority=Priority.EVENT, hears=True)

SERVICES: dict[str, Service] = {s.name: s for s in (SEARCH, AGENDA, SENTIMENT)}


def service_of_queue(queue_name: str) -> Service:
    """The service a queue (consumed or dead) belongs to."""
    for service in SERVICES.values():
        if queue_name in {q.name for q in service.all_queues}:
            return service
    raise KeyError(queue_name)


# Celery's own task that deletes expired results (beat sends it); one service runs it for
# the whole system, since every process shares the one result backend.
BACKEND_CLEANUP_TASK = "celery.backend_cleanup"
RESULT_CLEANUP_SERVICE = AGENDA


def _route(service: Service) -> dict[str, str]:
    return {
        "queue": service.command_queue.name,
        "exchange": COMMANDS.name,
        "routing_key": service.routing_key,
    }


def task_routes() -> dict[str, dict[str, str]]:
    """Celery `task_routes`: every `<service>.*` task goes to that service's command queue,
    and the result cleanup to `RESULT_CLEANUP_SERVICE`'s."""
    routes = {f"{service.name}.*": _route(service) for service in SERVICES.values()}
    routes[BACKEND_CLEANUP_TASK] = _route(RESULT_CLEANUP_SERVICE)
    return routes


def all_queues() -> list[Queue]:
    """Every queue of the system."""
    return [q for service in SERVICES.values() for q in service.all_queues]


def declare_all(channel: Any) -> None:
    """Declare every exchange, queue and binding on `channel` (idempotent)."""
    for exchange in (COMMANDS, HEARD, DEAD):
        exchange(channel).declare()
    for queue in all_queues():
        queue(channel).declare()
