"""`estafeta`: operator commands — start the stack, check the broker, inspect dead letters."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from amqp.exceptions import PreconditionFailed
from kombu import Connection, Producer

import routing
from estafeta import manifest
from estafeta.settings import (
    LOCAL_ENV_FILE,
    Settings,
    layered_environ,
    oauth_problem,
    published_simulator_values,
    real_slack_problem,
)
from estafeta.urls import without_password

# Commands for a laptop: they also read local.env's simulator defaults (for unset variables).
LOCAL_COMMANDS = frozenset({"run", "demo", "simulator"})


def _connect(settings: Settings, timeout: float = 3.0) -> Connection:
    # confirm_publish: every publish waits for the broker's confirm (and raises on a nack).
    connection = Connection(settings.broker_url, connect_timeout=timeout,
                            transport_options={"confirm_publish": True})
    connection.ensure_connection(max_retries=0)
    return connection


def check_broker(settings: Settings) -> int:
    """Exit 0 if the broker accepts a connection, else print one clear line and exit 1."""
    try:
        with _connect(settings) as connection:
            routing.declare_all(connection.default_channel)
    except PreconditionFailed as exc:
        print(
            f"estafeta: the broker at {without_password(settings.broker_url)} has a queue or "
            f"exchange declared with other arguments ({exc}); drain and delete it "
            "(`rabbitmqctl delete_queue NAME`) or use a new vhost, then start again.",
            file=sys.stderr,
        )
        return 1
    except Exception as exc:
        print(
            f"estafeta: cannot reach the broker at {without_password(settings.broker_url)} "
            f"({type(exc).__name__}: {exc}); start RabbitMQ with `rabbitmq-server -detached` "
            "(or `docker compose up rabbitmq`) or set BROKER_URL.",
            file=sys.stderr,
        )
        return 1
    print(f"estafeta: broker reachable at {without_password(settings.broker_url)}; "
          "topology declared.")
    return 0


def migrate_databases(settings: Settings) -> int:
    """Bring every store's schema up to date (harmless when it is); one clear line if the
    database cannot be reached."""
    import psycopg
    import sqlalchemy.exc

    from estafeta import migrate
    try:
        names = migrate.migrate(settings)
    except (psycopg.OperationalError, sqlalchemy.exc.OperationalError) as exc:
        print(migrate.unreachable(settings, getattr(exc, "orig", None) or exc), file=sys.stderr)
        return 1
    where = (without_password(settings.database_url) if settings.uses_postgres
             else f"SQLite under {settings.data_dir}")
    print(f"estafeta: schemas up to date in {where} ({', '.join(names)}).")
    return 0


def check_database(settings: Settings) -> int:
    """Exit 0 if every store's database is reachable and up to date, else one line and 1."""
    from estafeta import migrate
    try:
        migrate.require_database(settings, migrate.databases())
    except migrate.DatabaseNotReady as exc:
        print(exc, file=sys.stderr)
        return 1
    print("estafeta: database ready.")
    return 0


def reencrypt_tokens(settings: Settings) -> int:
    """Encrypt every installation's tokens with the first key of SLACK_TOKEN_KEY (after a new
    key was put first), so that the old one can be dropped; one line if OAuth is off."""
    from estafeta import migrate
    from estafeta.installations import EncryptedInstallationStore
    from estafeta.settings import oauth_problem
    from estafeta.stores import StoreUnavailable, open_stores

    if not settings.oauth_enabled:
        print("estafeta: nothing to re-encrypt: SLACK_CLIENT_ID is not set, so there are no "
              "installations (one workspace's SLACK_BOT_TOKEN is not stored).", file=sys.stderr)
        return 2
    problem = oauth_problem(settings)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    try:
        migrate.require_database(settings, [migrate.INSTALLATIONS])
        records = open_stores(settings, "installations").records
        store = EncryptedInstallationStore(records, settings.slack_token_keys)
        total = len(records.all_keys())
        done = store.reencrypt_all()
    except migrate.DatabaseNotReady as exc:
        print(exc, file=sys.stderr)
        return 1
    except StoreUnavailable as exc:
        print(f"estafeta: cannot re-encrypt the tokens now ({exc}); try again.", file=sys.stderr)
        return 1
    print(f"estafeta: re-encrypted the tokens of {done} installation(s) with the first key of "
          "SLACK_TOKEN_KEY.")
    if done < total:
        print(f"estafeta: {total - done} installation(s) could not be decrypted with any key "
              "(or were uninstalled meanwhile); keep every key until their workspaces "
              "reinstall the app.", file=sys.stderr)
        return 1
    return 0


SOCKET_PROCESS = "socket"
RELEASE_PROCESS = "release"


def procfile_processes(procfile: str, socket_mode: bool) -> list[str]:
    """Procfile processes to name to honcho: [] (all) unless the release phase or the Socket
    Mode one is left out."""
    try:
        lines = Path(procfile).read_text().splitlines()
    except OSError:
        return []  # honcho says what is wrong with the file
    names = [line.split(":", 1)[0].strip() for line in lines
             if ":" in line and not line.lstrip().startswith("#")]
    # `estafeta run` has migrated already; a PaaS runs `release` once per release, not as a
    # process that stays up (honcho would stop everything when it exits).
    left_out = {RELEASE_PROCESS} if socket_mode else {RELEASE_PROCESS, SOCKET_PROCESS}
    if not left_out & set(names):
        return []
    return [name for name in names if name not in left_out]


def run(env: dict[str, str], procfile: str = "Procfile") -> int:
    """Check the configuration and the broker, migrate the stores, then become honcho
    running every process (the Socket Mode one only with SLACK_APP_TOKEN)."""
    settings = Settings.from_env(env)
    problem = oauth_problem(settings) or real_slack_problem(
        settings, published_simulator_values(LOCAL_ENV_FILE))
    if settings.socket_mode and not problem:
        from gateway.socket import app_token_problem

        problem = app_token_problem(settings)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    code = check_broker(settings) or migrate_databases(settings)
    if code:
        return code
    # The Procfile's commands (gunicorn, celery) live next to this interpreter.
    bin_dir = os.path.dirname(sys.executable)
    env = {**env, "PATH": os.pathsep.join([bin_dir, env.get("PATH", os.defpath)])}
    honcho = shutil.which("honcho", path=env["PATH"])
    if honcho is None:
        print("estafeta: honcho is not installed; run `make install`.", file=sys.stderr)
        return 1
    sys.stdout.flush()
    sys.stderr.flush()
    # `-e /dev/null`: honcho's env files override the environment, and by default it reads
    # .env; the environment handed over here is already layered, so honcho adds nothing.
    os.execve(honcho, [honcho, "start", "-f", procfile, "-e", os.devnull,
                       "--port", str(settings.port),
                       *procfile_processes(procfile, settings.socket_mode)], env)
    return 1  # not reached: execve replaces this process


def _dead_queue(service_name: str) -> Any:
    try:
        return routing.SERVICES[service_name].dead_queue
    except KeyError:
        raise SystemExit(f"estafeta: unknown service {service_name!r}; "
                         f"use one of {', '.join(routing.SERVICES)}") from None


def _origin(message: Any) -> str:
    deaths = (message.headers or {}).get("x-death") or [{}]
    return str(deaths[0].get("queue", ""))


def _dead_letters(channel: Any, queue: Any, limit: int) -> Iterator[Any]:
    """Take up to `limit` messages from a dead-letter queue, unacknowledged."""
    bound = queue(channel)
    bound.declare()
    for _ in range(limit):
        message = bound.get(no_ack=False)
        if message is None:
            return
        yield message


def dead_list(settings: Settings, service_name: str, limit: int) -> int:
    """Print dead letters of a service without removing them."""
    queue = _dead_queue(service_name)
    shown = 0
    with _connect(settings) as connection:
        channel = connection.channel()
        fetched = []
        for message in _dead_letters(channel, queue, limit):
            fetched.append(message)
            headers = message.headers or {}
            print(json.dumps({
                "task": headers.get("task"),
                "id": headers.get("id"),
                "from_queue": _origin(message),
                "reason": ((headers.get("x-death") or [{}])[0]).get("reason"),
                "content_type": message.content_type,
                "body": message.body[:300].decode("utf-8", "replace")
                if isinstance(message.body, bytes) else str(message.body)[:300],
            }, default=str))
            shown += 1
        for message in fetched:  # put them back, untouched
            message.requeue()
        channel.close()
    print(f"{shown} dead letter(s) shown from {queue.name}", file=sys.stderr)
    return 0


def dead_replay(settings: Settings, service_name: str, limit: int) -> int:
    """Publish dead letters back to the queue they died in (confirmed), then remove them."""
    queue = _dead_queue(service_name)
    replayed = 0
    with _connect(settings) as connection:
        channel = connection.channel()
        producer = Producer(channel)
        for message in _dead_letters(channel, queue, limit):
            origin = _origin(message)
            if origin not in {q.name for q in routing.service_of_queue(queue.name).consumed_queues}:
                message.requeue()
                print(f"skipping a message from unknown queue {origin!r}", file=sys.stderr)
                break
            headers = {k: v for k, v in (message.headers or {}).items() if not k.startswith("x-")}
            if "retries" in headers:
                headers["retries"] = 0  # a replay gets a fresh set of retries
            # The default exchange routes by queue name: back to that one queue only, never
            # to the topic exchange, where other services would receive it a second time.
            producer.publish(
                message.body, exchange="", routing_key=origin, headers=headers,
                content_type=message.content_type, content_encoding=message.content_encoding,
                priority=message.properties.get("priority") or int(routing.Priority.BULK),
                correlation_id=message.properties.get("correlation_id"),
                delivery_mode=2, retry=False,
            )
            message.ack()  # only after the broker confirmed the copy
            replayed += 1
        channel.close()
    print(f"{replayed} dead letter(s) replayed from {queue.name}")
    return 0


def import_kb(settings: Settings, directory: Path, team: str, name: str,
              chunk: int = 500) -> int:
    """Send a directory of documents to the search service, as confirmed bulk work."""
    from estafeta.celery_config import celery_client
    from workers.search.kb import INDEX_TASK, read_knowledge_base

    if not directory.is_dir():
        print(f"estafeta: {directory} is not a directory", file=sys.stderr)
        return 2
    client = celery_client(settings)
    documents = [asdict(d) for d in read_knowledge_base(directory, team, name)]
    for start in range(0, len(documents), chunk):
        client.send_task(INDEX_TASK, args=(documents[start:start + chunk],),
                         priority=int(routing.Priority.BULK))
    print(f"estafeta: sent {len(documents)} document(s) of knowledge base {name!r} "
          f"for team {team} to the search service")
    return 0


def import_agenda(settings: Settings, path: Path, team: str, channel: str, tz: str,
                  remind: bool, private: bool, chunk: int = 500) -> int:
    """Send an .ics or JSON agenda to the agenda service, into one channel's agenda."""
    from estafeta.celery_config import celery_client
    from workers.agenda.calendar import AgendaFileError, read_agenda
    from workers.agenda.imports import IMPORT_TASK

    if not path.is_file():
        print(f"estafeta: {path} is not a file", file=sys.stderr)
        return 2
    try:
        read = read_agenda(path, tz)
    except AgendaFileError as exc:
        print(f"estafeta: cannot import {path}: {exc}", file=sys.stderr)
        return 2
    events = []
    for event in read:  # the agenda service refuses these too; say so here, per event
        if (problem := event.problem()) is not None:
            print(f"estafeta: not importing {event.uid!r}: {problem}", file=sys.stderr)
        else:
            events.append(event.as_dict())
    client = celery_client(settings)
    for start in range(0, len(events), chunk):
        client.send_task(IMPORT_TASK, args=(team, channel, events[start:start + chunk]),
                         kwargs={"remind": remind, "public": not private},
                         priority=int(routing.Priority.BULK))
    print(f"estafeta: sent {len(events)} event(s) from {path.name} to the agenda of "
          f"{channel} (team {team})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `estafeta` command."""
    parser = argparse.ArgumentParser(prog="estafeta", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="refuse simulator secrets against a real Slack, check the "
                   "broker, then start every Procfile process (honcho)")
    sub.add_parser("check-broker", help="check that the broker is reachable; declare topology")
    sub.add_parser("migrate", help="create or upgrade every store's schema (SQLite files, or "
                   "PostgreSQL with DATABASE_URL); running it again changes nothing")
    sub.add_parser("check-database", help="check that the database is reachable and migrated")
    sub.add_parser("reencrypt-tokens", help="encrypt every installation's tokens with the first "
                   "key of SLACK_TOKEN_KEY, so that the keys after it can be dropped")
    dead = sub.add_parser("dead", help="inspect or replay a service's dead letters")
    dead.add_argument("action", choices=["list", "replay"])
    dead.add_argument("service", choices=sorted(routing.SERVICES))
    dead.add_argument("--limit", type=int, default=100)
    kb = sub.add_parser("import-kb", help="load Markdown/text/JSON documents into search")
    kb.add_argument("directory", type=Path)
    kb.add_argument("--team", required=True, help="the Slack team id that may search them")
    kb.add_argument("--name", default="kb", help="the knowledge base's name (default: kb)")
    agenda = sub.add_parser("import-agenda", help="load an .ics or JSON agenda into a channel")
    agenda.add_argument("file", type=Path)
    agenda.add_argument("--team", required=True, help="the Slack team id")
    agenda.add_argument("--channel", required=True, help="the channel whose agenda it becomes")
    agenda.add_argument("--tz", default="UTC",
                        help="timezone of times given without one (default: UTC)")
    agenda.add_argument("--remind", action="store_true",
                        help="also post each event's reminders in the channel")
    agenda.add_argument("--private", action="store_true",
                        help="the channel is private: list it only from inside")
    sub.add_parser("socket", help="receive Slack's events, commands and interactions over "
                   "Socket Mode (needs SLACK_APP_TOKEN, xapp-…): no public URL")
    manifest.add_arguments(sub.add_parser(
        "manifest", help="print the Slack app manifest (YAML) to paste at api.slack.com"))
    demo = sub.add_parser("demo", help="drive a running gateway with a simulated Slack")
    demo.add_argument("--gateway", default=None, help="gateway URL (default http://127.0.0.1:$PORT)")
    simulator = sub.add_parser("simulator", help="serve a simulated Slack workspace in the "
                               "browser, at SLACK_API_URL's address, for a running gateway")
    simulator.add_argument("--gateway", default=None,
                           help="gateway URL (default http://127.0.0.1:$PORT)")
    args = parser.parse_args(argv)
    if args.command == "manifest":  # from the declarations alone: no settings needed
        return manifest.run(args)
    env = layered_environ(defaults=LOCAL_ENV_FILE if args.command in LOCAL_COMMANDS else None)
    if args.command == "run":
        return run(env)
    settings = Settings.from_env(env)
    if args.command == "check-broker":
        return check_broker(settings)
    if args.command == "migrate":
        return migrate_databases(settings)
    if args.command == "check-database":
        return check_database(settings)
    if args.command == "reencrypt-tokens":
        return reencrypt_tokens(settings)
    if args.command == "import-kb":
        return import_kb(settings, args.directory, args.team, args.name)
    if args.command == "import-agenda":
        return import_agenda(settings, args.file, args.team, args.channel, args.tz,
                             args.remind, args.private)
    if args.command == "socket":
        from gateway.socket import serve

        return serve(settings)
    if args.command == "dead":
        if args.action == "list":
            return dead_list(settings, args.service, args.limit)
        return dead_replay(settings, args.service, args.limit)
    if args.command == "simulator":
        from slacksim.simulator import run_simulator

        return run_simulator(settings, args.gateway)
    from slacksim.demo import run_demo

    return run_demo(settings, args.gateway)


if __name__ == "__main__":
    sys.exit(main())
