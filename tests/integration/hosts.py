"""Hosts of one system: each with its own `DATA_DIR` and port, a real gunicorn gateway, a real
worker per service and maybe a beat, sharing with the others only the broker and PostgreSQL.

Two `Host`s on one vhost and one `DATABASE_URL` are what a deployment on two machines is:
whatever one host accepts, remembers or answers, the other must see and never repeat.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from kombu import Connection, Queue, binding

import routing
from estafeta.settings import Settings
from slacksim.fake_slack import FakeSlack
from slacksim.signing import SlackSigner
from tests.integration.broker import ROOT, BeatProcess, CeleryProcess, Vhost, WorkerProcess
from tests.integration.conftest import free_port, worker_env

GATEWAY_ARGS = ["-m", "gunicorn", "-c", "python:gateway.gunicorn_conf", "gateway:create_app()"]
START_TIMEOUT = 45.0  # seconds for a whole host (imports of six processes on two cores)

# One opener for every request of the tests: a proxy set in the environment must not sit
# between the tests and the gateways on 127.0.0.1.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class HttpAnswer:
    """Status, headers and body of one HTTP answer."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        """A header, by case-insensitive name."""
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


def http(method: str, url: str, body: bytes | None = None,
         headers: dict[str, str] | None = None, timeout: float = 15.0) -> HttpAnswer:
    """One HTTP request; error statuses are answers too, not exceptions."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return HttpAnswer(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as error:
        return HttpAnswer(error.code, dict(error.headers.items()), error.read())


class GatewayProcess:
    """`gunicorn -c python:gateway.gunicorn_conf 'gateway:create_app()'`, as the Procfile runs
    it, in its own process group and logging to a file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self.port = int(env.get("PORT") or free_port())
        self.url = f"http://127.0.0.1:{self.port}"
        self._log: IO[bytes] = log_path.open("ab")
        full_env = {**os.environ, **env, "PORT": str(self.port), "HOST": "127.0.0.1",
                    "PROMETHEUS_MULTIPROC_DIR": str(log_path.with_suffix(".metrics"))}
        self.process = subprocess.Popen([sys.executable, *GATEWAY_ARGS], cwd=ROOT, env=full_env,
                                        stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def healthy(self) -> bool:
        """Whether `/healthz` answers 200 now; raises if gunicorn exited."""
        if self.process.poll() is not None:
            raise RuntimeError(f"the gateway exited with {self.process.returncode}; "
                               f"see {self.log_path}:\n{self.log()[-3000:]}")
        try:
            return http("GET", f"{self.url}/healthz", timeout=1).status == 200
        except OSError:
            return False

    def stop(self) -> None:
        """Graceful shutdown (SIGTERM to the master and its workers), then kill."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if not self._log.closed:
            self._log.close()

    def log(self) -> str:
        """What gunicorn and the app logged so far."""
        return self.log_path.read_text(errors="replace")


@dataclass
class Host:
    """One machine of the system: its own `DATA_DIR`, port and processes."""

    name: str
    vhost: Vhost
    database_url: str
    slack: FakeSlack
    root: Path
    beat: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)
    gateway: GatewayProcess | None = None
    workers: dict[str, WorkerProcess] = field(default_factory=dict)
    beat_process: BeatProcess | None = None

    def __post_init__(self) -> None:
        self.data_dir = self.root / "data"
        self.log_dir = self.root / "logs"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.env = {**worker_env(self.vhost, self.data_dir, self.slack),
                    "DATABASE_URL": self.database_url, "PORT": str(self.port),
                    "HOST": "127.0.0.1", "WEB_CONCURRENCY": "2", "GATEWAY_THREADS": "8",
                    **self.extra_env}
        self.settings = Settings.from_env(self.env)

    @property
    def url(self) -> str:
        """The base URL of this host's gateway."""
        return f"http://127.0.0.1:{self.port}"

    # -- processes ---------------------------------------------------------------------------

    def launch(self) -> None:
        """Start the gateway, one worker per service and maybe beat, without waiting."""
        self.gateway = GatewayProcess(self.env, self.log_dir / "gateway.log")
        self.launch_workers()
        if self.beat:
            self.beat_process = BeatProcess(self.env, self.log_dir, name=f"beat-{self.name}")

    def launch_workers(self) -> None:
        """Start one worker per service (new processes), without waiting."""
        self.workers = {
            name: WorkerProcess(service, self.env, self.log_dir,
                                name=f"{name}-{self.name}-{uuid.uuid4().hex[:4]}")
            for name, service in routing.SERVICES.items()
        }

    def kill_workers(self) -> None:
        """kill -9 every worker of this host (and its pool children), as a crash would."""
        for worker in self.workers.values():
            worker.kill()

    def processes(self) -> list[GatewayProcess | CeleryProcess]:
        """Every process this host runs now."""
        found: list[GatewayProcess | CeleryProcess] = list(self.workers.values())
        found += [p for p in (self.gateway, self.beat_process) if p is not None]
        return found

    def stop(self) -> None:
        """Stop every process of this host."""
        stop_all(self.processes())

    def pids(self) -> dict[str, int]:
        """The pid of every process of this host (to show that none was restarted)."""
        found = {name: worker.process.pid for name, worker in self.workers.items()}
        if self.gateway is not None:
            found["gateway"] = self.gateway.process.pid
        if self.beat_process is not None:
            found["beat"] = self.beat_process.process.pid
        return found

    def alive(self) -> bool:
        """Whether every process of this host still runs."""
        return all(p.process.poll() is None for p in self.processes())

    def worker_logs(self) -> str:
        """Everything this host's workers (the current ones and the dead) logged."""
        return "\n".join(path.read_text(errors="replace")
                         for path in sorted(self.log_dir.glob("*.log"))
                         if path.name != "gateway.log" and not path.name.startswith("beat"))

    def beat_log(self) -> str:
        """What this host's beat logged."""
        return self.beat_process.log() if self.beat_process is not None else ""

    # -- requests ----------------------------------------------------------------------------

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> HttpAnswer:
        """A request to this host's gateway."""
        return http(method, self.url + path, body, headers)

    def slash(self, signer: SlackSigner, command: str, text: str, response_url: str,
              **fields: str) -> HttpAnswer:
        """A signed slash command."""
        body, headers = signer.slash_command(command, text, response_url=response_url,
                                             **fields)
        return self.request("POST", "/slack/commands", body, headers)

    def event(self, signer: SlackSigner, event: dict[str, Any], *, event_id: str | None = None,
              retry: int | None = None, team: str = "T0001") -> tuple[HttpAnswer, str]:
        """A signed Events API callback: (answer, event_id)."""
        body, headers, event_id = signer.event(event, team=team, event_id=event_id,
                                               retry=retry)
        return self.request("POST", "/slack/events", body, headers), event_id

    def api(self, method: str, path: str, token: str,
            payload: dict[str, Any] | None = None) -> HttpAnswer:
        """A request to `/api/v1` with a bearer token."""
        headers = {"Authorization": f"Bearer {token}"}
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        return self.request(method, "/api/v1" + path, body, headers)


def _consumers_wanted(hosts: Iterable[Host]) -> dict[str, int]:
    wanted = dict.fromkeys(routing.SERVICES, 0)
    for host in hosts:
        for name, worker in host.workers.items():
            if worker.process.poll() is None:
                wanted[name] += 1
    return wanted


def wait_ready(vhost: Vhost, hosts: list[Host], timeout: float = START_TIMEOUT) -> None:
    """Wait until every gateway answers and every worker consumes its service's queues."""
    deadline = time.monotonic() + timeout
    pending_gateways = [host.gateway for host in hosts if host.gateway is not None]
    wanted = _consumers_wanted(hosts)
    while True:
        for host in hosts:
            for worker in host.workers.values():
                if worker.process.poll() is not None:
                    raise RuntimeError(f"worker {worker.name} of host {host.name} exited with "
                                       f"{worker.process.returncode}; see {worker.log_path}:\n"
                                       + worker.log()[-3000:])
            if host.beat_process is not None and host.beat_process.process.poll() is not None:
                raise RuntimeError(f"beat of host {host.name} exited:\n"
                                   + host.beat_process.log()[-3000:])
        pending_gateways = [gateway for gateway in pending_gateways if not gateway.healthy()]
        short = {name: count for name, count in wanted.items()
                 if count and vhost.consumers(routing.SERVICES[name].command_queue.name) < count}
        if not pending_gateways and not short:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"hosts not ready after {timeout:.0f}s: gateways not healthy: "
                               f"{[g.url for g in pending_gateways]}, services short of "
                               f"consumers: {short}; logs under {hosts[0].root.parent}")
        time.sleep(0.2)


@contextlib.contextmanager
def running(vhost: Vhost, hosts: list[Host]) -> Iterator[list[Host]]:
    """Start `hosts` together, wait until all are ready, stop them all at the end."""
    try:
        for host in hosts:
            host.launch()
        wait_ready(vhost, hosts)
        yield hosts
    finally:
        stop_all([process for host in hosts for process in host.processes()])


def stop_all(processes: list[GatewayProcess | CeleryProcess]) -> None:
    """Stop processes together: each warm shutdown takes seconds, and they do not wait on
    each other."""
    if processes:
        with ThreadPoolExecutor(len(processes)) as pool:
            list(pool.map(lambda process: process.stop(), processes))


# -- what reaches the broker -----------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """One message that went through an exchange of the system."""

    exchange: str
    routing_key: str
    task: str
    task_id: str


class Tap:
    """A queue of the test's own bound to every exchange of the system: it sees a copy of
    every message published (commands, heard messages, retries, dead letters)."""

    def __init__(self, vhost: Vhost) -> None:
        self.vhost = vhost
        self.seen: list[Published] = []
        bindings = [binding(routing.COMMANDS, routing_key=service.routing_key)
                    for service in routing.SERVICES.values()]
        bindings += [binding(routing.DEAD, routing_key=service.dead_routing_key)
                     for service in routing.SERVICES.values()]
        bindings.append(binding(routing.HEARD, routing_key="#"))
        self.queue = Queue(f"test-tap-{uuid.uuid4().hex[:8]}", bindings=bindings,
                           durable=False, auto_delete=False)
        with Connection(vhost.url) as connection:
            self.queue(connection.default_channel).declare()

    def drain(self) -> list[Published]:
        """Take in what was published since the last call; return everything seen."""
        with Connection(self.vhost.url) as connection:
            bound = self.queue(connection.default_channel)
            while (message := bound.get(no_ack=True)) is not None:
                headers = message.headers or {}
                info = message.delivery_info or {}
                self.seen.append(Published(str(info.get("exchange", "")),
                                           str(info.get("routing_key", "")),
                                           str(headers.get("task", "")),
                                           str(headers.get("id", ""))))
        return self.seen

    def of(self, task_id: str, exchange: str | None = None) -> list[Published]:
        """What was published of one task (through one exchange)."""
        return [p for p in self.drain()
                if p.task_id == task_id and (exchange is None or p.exchange == exchange)]

    def close(self) -> None:
        """Delete the tap's queue."""
        with Connection(self.vhost.url) as connection:
            self.queue(connection.default_channel).delete()


@contextlib.contextmanager
def tap(vhost: Vhost) -> Iterator[Tap]:
    """A `Tap` for the duration of a block."""
    spy = Tap(vhost)
    try:
        yield spy
    finally:
        spy.close()


# -- waiting ---------------------------------------------------------------------------------


def eventually(probe: Any, timeout: float, message: str, interval: float = 0.2) -> Any:
    """Call `probe()` until it returns something truthy, and return that; fail with
    `message` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} (within {timeout:.0f}s)")
        time.sleep(interval)


def stays(probe: Any, seconds: float, interval: float = 0.2) -> bool:
    """Whether `probe()` stays truthy for `seconds` (a second copy had time to show up)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not probe():
            return False
        time.sleep(interval)
    return bool(probe())
