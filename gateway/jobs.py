"""Turns accepted requests into Celery task messages and publishes them through `routing`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from celery import Celery

import routing
from estafeta import tracing
from estafeta.grammar import Command
from estafeta.interactions import Interaction
from estafeta.payloads import Context, HeardMessage, ReplyTarget
from gateway.publisher import MessagePublisher, Outgoing

# Task ids of Slack events derive from the event id, so a duplicate that slips past the
# gateway's own check still carries the same id and the worker's reply ledger stops it.
EVENT_NAMESPACE = uuid.UUID("5a1e7c9e-3f0b-4d8e-9c41-6f1b2a7d0e55")


def event_task_id(team: str, event_id: str, purpose: str) -> str:
    """A stable task id for what a Slack event asked for."""
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{team}:{event_id}:{purpose}"))


_DEFAULT_HEADER_VALUES: tuple[object, ...] = (None, False, 0, {}, [None, None], "()")
_DROPPED_HEADERS = {"origin", "root_id"}  # the gateway is the only origin; root_id is the id


def _compact(headers: dict[str, object]) -> dict[str, object]:
    """Drop headers that only repeat the worker's defaults.

    Encoding AMQP header tables is the most expensive step of publishing in Python, and a
    Celery message carries about twenty headers of which a worker needs four here.
    """
    return {k: v for k, v in headers.items()
            if k in {"lang", "task", "id"}
            or (k not in _DROPPED_HEADERS and v not in _DEFAULT_HEADER_VALUES)}


@dataclass(frozen=True)
class Accepted:
    """A job the broker has confirmed."""

    task_id: str
    service: str
    verb: str


class Dispatcher:
    """Builds task messages and publishes them with confirms."""

    def __init__(self, celery: Celery, publisher: MessagePublisher) -> None:
        self.celery = celery
        self.publisher = publisher

    def _message(
        self, task_id: str, task: str, kwargs: dict[str, object], summary: str,
        args: tuple[object, ...] = (), chain: list[object] | None = None,
    ) -> tuple[dict[str, object], object]:
        # argsrepr/kwargsrepr are what worker logs show: a summary, never a response_url.
        built = self.celery.amqp.as_task_v2(
            task_id, task, args=args, kwargs=kwargs, argsrepr="()", kwargsrepr=summary,
            chain=chain,
        )
        # The request's trace rides along, so that the worker logs under the same request id.
        return {**_compact(built.headers), **tracing.headers()}, built.body

    def _to_service(self, service: routing.Service, task_id: str, task: str,
                    kwargs: dict[str, object], summary: str, priority: routing.Priority,
                    args: tuple[object, ...] = (), chain: list[object] | None = None) -> None:
        headers, body = self._message(task_id, task, kwargs, summary, args, chain)
        self.publisher.publish(
            Outgoing(
                exchange=routing.COMMANDS.name,
                routing_key=service.routing_key,
                body=body,
                headers=headers,
                priority=int(priority),
                correlation_id=task_id,
            )
        )

    def interaction(self, service_name: str, interaction: Interaction, context: Context,
                    reply: ReplyTarget, *, task_id: str) -> Accepted:
        """Publish a click, submission or shortcut to the service that declared its id."""
        service = routing.SERVICES[service_name]
        kwargs: dict[str, object] = {"interaction": interaction.as_dict(),
                                     "context": context.as_dict(), "reply": reply.as_dict()}
        summary = f"{interaction.kind} {interaction.id} in {context.team}/{context.channel}"
        self._to_service(service, task_id, service.interaction_task, kwargs, summary,
                         service.default_priority)
        return Accepted(task_id, service.name, interaction.id)

    def home(self, services: tuple[str, ...], context: Context, *, task_id: str) -> None:
        """Publish a person's App Home as a relay: each service in `services` adds its section
        and hands it on (a Celery chain); the last one publishes the tab."""
        tasks = [routing.SERVICES[name] for name in services]
        first, rest = tasks[0], tasks[1:]
        kwargs: dict[str, object] = {"context": context.as_dict()}
        # A chain is carried in the message, last hop first; each hop routes by its name.
        # Celery adds a signature's `headers` option to the message of that hop: the trace.
        trace = tracing.headers()
        chain: list[object] = [
            dict(self.celery.signature(
                service.home_task, kwargs=kwargs,
                options={"task_id": event_task_id(context.team, task_id, service.name),
                         "priority": int(routing.Priority.INTERACTIVE),
                         **({"headers": trace} if trace else {})}))
            for service in reversed(rest)
        ]
        summary = f"home of {context.team}/{context.user}"
        self._to_service(first, task_id, first.home_task, kwargs, summary,
                         routing.Priority.INTERACTIVE, args=({"lang": "", "sections": []},),
                         chain=chain or None)

    def command(
        self,
        command: Command,
        context: Context,
        reply: ReplyTarget,
        *,
        task_id: str | None = None,
        priority: routing.Priority = routing.Priority.INTERACTIVE,
    ) -> Accepted:
        """Publish one command to its service's queue; return once the broker confirmed it."""
        service = routing.SERVICES[command.service]
        task_id = task_id or str(uuid.uuid4())
        kwargs: dict[str, object] = {
            "command": command.as_dict(),
            "context": context.as_dict(),
            "reply": reply.as_dict(),
        }
        summary = f"{command.verb} from {context.source} in {context.team}/{context.channel}"
        self._to_service(service, task_id, service.command_task, kwargs, summary, priority)
        return Accepted(task_id, service.name, command.verb)

    def heard(self, message: HeardMessage, task_id: str) -> None:
        """Publish a heard message once to the topic exchange, for every listening service."""
        summary = f"{message.subtype or 'message'} {message.team}/{message.channel}/{message.ts}"
        headers, body = self._message(
            task_id, routing.HEARD_TASK, {"message": message.as_dict()}, summary
        )
        self.publisher.publish(
            Outgoing(
                exchange=routing.HEARD.name,
                routing_key=routing.heard_routing_key(message.team, message.channel),
                body=body,
                headers=headers,
                priority=int(routing.Priority.EVENT),
                correlation_id=task_id,
            )
        )
