"""Real-broker helpers: per-session vhosts, queue inspection and real worker processes."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import IO

from kombu import Connection

import routing

RABBITMQ_HOST = os.environ.get("TEST_RABBITMQ_HOST", "127.0.0.1")
RABBITMQ_PORT = int(os.environ.get("TEST_RABBITMQ_PORT", "5672"))
RABBITMQ_USER = os.environ.get("TEST_RABBITMQ_USER", "guest")
RABBITMQ_PASSWORD = os.environ.get("TEST_RABBITMQ_PASSWORD", "guest")
ROOT = Path(__file__).resolve().parents[2]


class BrokerUnreachable(RuntimeError):
    """RabbitMQ is not there: the suite must fail loudly, never skip."""


def require_rabbitmq() -> None:
    """Raise `BrokerUnreachable` with instructions unless RabbitMQ accepts connections."""
    try:
        socket.create_connection((RABBITMQ_HOST, RABBITMQ_PORT), timeout=3).close()
    except OSError as exc:
        raise BrokerUnreachable(
            f"RabbitMQ is not reachable at {RABBITMQ_HOST}:{RABBITMQ_PORT} ({exc}). "
            "The integration tests need a real broker: start it with "
            "`rabbitmq-server -detached` (or set TEST_RABBITMQ_HOST/PORT)."
        ) from exc
    if shutil.which("rabbitmqctl") is None:
        raise BrokerUnreachable("rabbitmqctl is not on PATH: the tests need it to create vhosts.")


def _rabbitmqctl(*args: str) -> None:
    result = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True,
                            timeout=60)
    if result.returncode != 0:
        raise BrokerUnreachable(f"rabbitmqctl {' '.join(args)} failed: {result.stderr.strip()}")


class Vhost:
    """A fresh RabbitMQ vhost: queues left by other runs can never get in the way."""

    def __init__(self, label: str) -> None:
        self.name = f"estafeta-test-{label}-{uuid.uuid4().hex[:8]}"
        _rabbitmqctl("add_vhost", self.name)
        _rabbitmqctl("set_permissions", "-p", self.name, RABBITMQ_USER, ".*", ".*", ".*")
        self.url = (f"amqp://{RABBITMQ_USER}:{RABBITMQ_PASSWORD}@{RABBITMQ_HOST}:"
                    f"{RABBITMQ_PORT}/{self.name}")
        with Connection(self.url) as connection:
            routing.declare_all(connection.default_channel)

    def delete(self) -> None:
        """Remove the vhost and everything in it."""
        _rabbitmqctl("delete_vhost", self.name)

    def depth(self, queue_name: str) -> int:
        """Messages ready in a queue."""
        with Connection(self.url) as connection:
            _, count, _ = connection.default_channel.queue_declare(queue_name, passive=True)
            return int(count)

    def consumers(self, queue_name: str) -> int:
        """Consumers attached to a queue."""
        with Connection(self.url) as connection:
            _, _, consumers = connection.default_channel.queue_declare(queue_name, passive=True)
            return int(consumers)

    def total_depth(self) -> int:
        """Messages ready in every queue of the system."""
        return sum(self.depth(q.name) for q in routing.all_queues())

    def purge(self) -> None:
        """Empty every queue of the system."""
        with Connection(self.url) as connection:
            for queue in routing.all_queues():
                queue(connection.default_channel).purge()

    def wait_for_depth(self, queue_name: str, expected: int, timeout: float = 15) -> int:
        """Wait until `queue_name` holds `expected` ready messages; return the last depth."""
        deadline = time.monotonic() + timeout
        depth = self.depth(queue_name)
        while depth != expected and time.monotonic() < deadline:
            time.sleep(0.1)
            depth = self.depth(queue_name)
        return depth


class CeleryProcess:
    """A real `celery` process (worker or beat) in its own process group, logging to a file."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", *args],
            cwd=ROOT, env={**os.environ, **env}, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,  # so that kill -9 reaches a worker's pool children too
        )

    def kill(self) -> None:
        """kill -9 the process group, as a crash would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self._log.close()

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), then kill if it takes too long."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        if not self._log.closed:
            self._log.close()

    def log(self) -> str:
        """What the process logged so far."""
        return self.log_path.read_text(errors="replace")


class WorkerProcess(CeleryProcess):
    """A real `celery worker` process of one service."""

    def __init__(self, service: routing.Service, env: dict[str, str], log_dir: Path,
                 name: str | None = None, concurrency: int = 1) -> None:
        self.service = service
        self.name = name or f"{service.name}-{uuid.uuid4().hex[:6]}"
        with socket.socket() as probe:  # a free port of its own for /metrics and /healthz
            probe.bind(("127.0.0.1", 0))
            self.metrics_port = int(probe.getsockname()[1])
        # Its metrics' shared directory under the test's own: a worker a test kills -9 cannot
        # remove it, pytest does.
        env = {**env, "METRICS_PORT": str(self.metrics_port),
               "PROMETHEUS_MULTIPROC_DIR": str(log_dir / f"{self.name}.metrics")}
        super().__init__(
            ["-A", f"workers.{service.name}", "worker", "--loglevel=INFO",
             f"--hostname={self.name}@%h", f"--concurrency={concurrency}",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            env, log_dir / f"{self.name}.log")

    @property
    def metrics_url(self) -> str:
        """The base URL of this worker's /metrics and /healthz."""
        return f"http://127.0.0.1:{self.metrics_port}"

    def wait_consuming(self, vhost: Vhost, timeout: float = 30) -> None:
        """Wait until this worker consumes its command queue."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited; see {self.log_path}:\n"
                                   + self.log_path.read_text()[-3000:])
            if vhost.consumers(self.service.command_queue.name) >= 1:
                return
            time.sleep(0.2)
        raise TimeoutError(f"worker {self.name} did not start consuming; see {self.log_path}")


class BeatProcess(CeleryProcess):
    """A real `celery beat` process, with its own schedule file."""

    def __init__(self, env: dict[str, str], log_dir: Path, name: str = "beat") -> None:
        stem = f"{name}-{uuid.uuid4().hex[:6]}"
        super().__init__(
            ["-A", "workers.beat", "beat", "--loglevel=INFO",
             f"--schedule={log_dir / (stem + '.schedule')}"],
            env, log_dir / f"{stem}.log")


class TcpProxy:
    """A TCP forwarder to RabbitMQ that a test can cut and restore: a broker outage on cue."""

    def __init__(self, target: tuple[str, int] = (RABBITMQ_HOST, RABBITMQ_PORT)) -> None:
        self.target = target
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self.stalled = False  # when set, bytes are swallowed: a broker that stopped answering
        self._lock = threading.Lock()

    def start(self) -> TcpProxy:
        """Accept and forward connections."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def cut(self) -> None:
        """Refuse new connections and drop the open ones, like a broker that went down."""
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def url(self, vhost: Vhost) -> str:
        """The vhost's broker URL through this proxy."""
        return (f"amqp://{RABBITMQ_USER}:{RABBITMQ_PASSWORD}@127.0.0.1:{self.port}/"
                f"{vhost.name}")

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if not self.stalled:
                    sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)
