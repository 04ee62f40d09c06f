"""`make bench`: gateway throughput and end-to-end latency, as ratios against same-run baselines.

1. Throughput: wrk drives `POST /api/v1/commands/search` on three gunicorn apps with the same
   settings, interleaved and repeated (this machine is shared and noisy):
   - the baseline, a bare Flask endpoint that parses the JSON and answers 202;
   - the gateway: bearer token, grammar, Celery message, durable publish, publisher confirm;
   - the gateway with a textbook publisher (pooled producer, one synchronous confirm each).
2. Latency: signed `/search` slash commands at a steady rate, from the request leaving the
   client to the reply arriving at the fake Slack `response_url`, through the real broker and
   a real search worker.
3. Search (bench/search_bench.py), agenda (bench/agenda_bench.py), sentiment
   (bench/sentiment_bench.py), hostile 40,000-character messages through every heard-message
   path (bench/hostile_bench.py), Socket Mode envelope → ack (bench/socket_bench.py): see
   their modules.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from kombu import Connection

import routing
from bench.stats import percentiles
from slacksim.fake_slack import FakeSlack
from slacksim.signing import SlackSigner

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
TOKEN = "bench-token"
SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench"
RABBITMQ = os.environ.get("BENCH_RABBITMQ", "guest:guest@127.0.0.1:5672")


def _ensure_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk:
        return wrk
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("bench: installing wrk (Debian package)")
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False,
                       stdout=subprocess.DEVNULL)
        wrk = shutil.which("wrk")
    if not wrk:
        raise SystemExit("bench: needs wrk (`apt-get install wrk`)")
    return wrk


@contextmanager
def _vhost() -> Iterator[str]:
    name = f"estafeta-bench-{uuid.uuid4().hex[:8]}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", name], check=True)
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", name,
                    RABBITMQ.split(":")[0], ".*", ".*", ".*"], check=True)
    url = f"amqp://{RABBITMQ}/{name}"
    with Connection(url) as connection:
        routing.declare_all(connection.default_channel)
    try:
        yield url
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", name], check=False)


def _wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process for {url} exited")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(url)


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time consumed so far by `pids` (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def _pids(pattern: str) -> list[int]:
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
    return [int(pid) for pid in found.split()]


@contextmanager
def _gunicorn(factory: str, env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:gateway.gunicorn_conf", factory],
            cwd=ROOT, env={**os.environ, **env, "PORT": str(port), "HOST": "127.0.0.1"},
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{url}/api/v1/commands/search", process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wrk(wrk: str, url: str, seconds: int, connections: int) -> tuple[float, int, float]:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.body = \'{"text": "deploy failed on staging"}\'\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {TOKEN}"\n'
    )
    out = subprocess.run(
        [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
         f"{url}/api/v1/commands/search"],
        capture_output=True, text=True, check=True,
    ).stdout
    script.unlink()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = 0.0
    if p99:
        value, unit = float(p99.group(1)), p99.group(2)
        p99_ms = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    return rps, int(bad.group(1)) if bad else 0, p99_ms


def _purge(url: str) -> None:
    with Connection(url) as connection:
        for queue in routing.all_queues():
            queue(connection.default_channel).purge()


def throughput(args: argparse.Namespace, broker_url: str, workdir: Path) -> dict[str, object]:
    """Requests per second of the three apps, interleaved; medians of `args.rounds` runs."""
    wrk = _ensure_wrk()
    env = {"BROKER_URL": broker_url, "API_TOKENS": TOKEN, "DATA_DIR": str(workdir),
           "SLACK_SIGNING_SECRET": SECRET, "LOG_LEVEL": "WARNING"}
    apps = {
        "baseline": "bench.baseline_app:create_app()",
        "gateway": "gateway:create_app()",
        "sync_confirm": "bench.sync_confirm_app:create_app()",
    }
    runs: dict[str, list[float]] = {name: [] for name in apps}
    p99s: dict[str, list[float]] = {name: [] for name in apps}
    app_cpu: dict[str, list[float]] = {name: [] for name in apps}
    broker_cpu: dict[str, list[float]] = {name: [] for name in apps}
    broker = _pids("beam.smp")
    errors: dict[str, int] = dict.fromkeys(apps, 0)
    for round_ in range(args.rounds):
        for offset, (name, factory) in enumerate(apps.items()):
            port = 18600 + round_ * 10 + offset
            with _gunicorn(factory, env, port, workdir / f"{name}.log") as url:
                _wrk(wrk, url, 2, args.connections)  # warm-up: connections, imports
                app = _pids(f"gunicorn.*{factory.split(':')[0]}")
                before = _cpu_seconds(app), _cpu_seconds(broker)
                rps, bad, p99 = _wrk(wrk, url, args.seconds, args.connections)
                requests = rps * args.seconds
                app_cpu[name].append((_cpu_seconds(app) - before[0]) / requests * 1e6)
                broker_cpu[name].append((_cpu_seconds(broker) - before[1]) / requests * 1e6)
            runs[name].append(rps)
            p99s[name].append(p99)
            errors[name] += bad
            _purge(broker_url)
            print(f"  round {round_ + 1} {name:13s} {rps:8.0f} req/s  p99 {p99:6.1f} ms"
                  f"  non-2xx {bad}")
    median = {name: statistics.median(values) for name, values in runs.items()}
    return {
        "requests_per_second": median,
        "p99_ms": {name: statistics.median(values) for name, values in p99s.items()},
        "non_2xx": errors,
        # Where the two cores go: CPU microseconds per request in the app's processes and in
        # the broker (RabbitMQ runs on the same machine here).
        "app_cpu_us_per_request": {n: round(statistics.median(v)) for n, v in app_cpu.items()},
        "broker_cpu_us_per_request": {
            n: round(statistics.median(v)) for n, v in broker_cpu.items()},
        "gateway_vs_baseline": median["gateway"] / median["baseline"],
        "sync_confirm_vs_baseline": median["sync_confirm"] / median["baseline"],
    }


def latency(args: argparse.Namespace, broker_url: str, workdir: Path) -> dict[str, object]:
    """Signed slash command to reply at the fake Slack, through broker and search worker."""
    signer = SlackSigner(SECRET)
    with FakeSlack(token=BOT_TOKEN) as slack:
        env = {**os.environ, "BROKER_URL": broker_url, "API_TOKENS": TOKEN,
               "DATA_DIR": str(workdir), "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": slack.api_url,
               "LOG_LEVEL": "WARNING", "WORKER_CONCURRENCY": "2"}
        with (workdir / "worker.log").open("ab") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "workers.search", "worker",
                 "--loglevel=WARNING", "--without-gossip", "--without-mingle"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        try:
            with _gunicorn("gateway:create_app()", env, 18690, workdir / "gw-latency.log") as url:
                time.sleep(3)  # the worker connects and declares its queues

                def one(i: int) -> tuple[float, float]:
                    response_url = slack.response_url()
                    body, headers = signer.slash_command("/search", f"help {i}",
                                                         response_url=response_url)
                    started = time.time()
                    request = urllib.request.Request(f"{url}/slack/commands", data=body,
                                                     headers=headers, method="POST")
                    urllib.request.urlopen(request, timeout=10).close()
                    acked = time.time()
                    answer = slack.wait_for(partial(slack.responses, response_url), timeout=30)
                    assert answer
                    replied = slack.calls_to("response_url")
                    at = next(c.at for c in replied if slack.base_url + c.path == response_url)
                    return (acked - started) * 1000, (at - started) * 1000

                _paced(one, 20, args.rate)  # warm-up
                pairs = _paced(one, args.requests, args.rate)
        finally:
            worker.terminate()
            worker.wait(timeout=20)
        with _gunicorn("bench.baseline_app:create_app()", env, 18691,
                       workdir / "baseline-latency.log") as url:

            def bare(i: int) -> tuple[float, float]:
                request = urllib.request.Request(
                    f"{url}/api/v1/commands/search", data=b'{"text": "help"}',
                    headers={"Content-Type": "application/json"}, method="POST")
                started = time.time()
                urllib.request.urlopen(request, timeout=10).close()
                took = (time.time() - started) * 1000
                return took, took

            _paced(bare, 20, args.rate)
            baseline = [b for b, _ in _paced(bare, args.requests, args.rate)]
    acks = [a for a, _ in pairs]
    replies = [r for _, r in pairs]
    return {
        "requests": len(pairs),
        "rate_per_second": args.rate,
        "ack_ms": percentiles(acks),
        "reply_ms": percentiles(replies),
        "baseline_request_ms": percentiles(baseline),
        "reply_p50_vs_baseline_p50": statistics.median(replies) / statistics.median(baseline),
    }


def _paced(call: Callable[[int], tuple[float, float]], count: int,
           rate: float) -> list[tuple[float, float]]:
    """Call `call` `count` times at `rate` per second (open loop), collecting results."""
    with ThreadPoolExecutor(max_workers=32) as pool:
        futures = []
        for i in range(count):
            futures.append(pool.submit(call, i))
            time.sleep(1.0 / rate)
        return [f.result() for f in futures]


def main() -> int:
    """Run the benchmarks, print them and save JSON under bench/results/."""
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--requests", type=int, default=400, help="latency samples")
    parser.add_argument("--rate", type=float, default=40.0, help="slash commands per second")
    parser.add_argument("--only",
                        choices=["throughput", "latency", "search", "agenda", "sentiment",
                                 "hostile", "socket"])
    parser.add_argument("--search-messages", type=int, default=1_000_000,
                        help="corpus of the search benchmark, on SQLite and PostgreSQL"
                             " (100000 for a quick run)")
    parser.add_argument("--search-queries", type=int, default=2000)
    parser.add_argument("--queue-messages", type=int, default=5000)
    parser.add_argument("--agenda-pending", type=int, default=1_000_000,
                        help="most pending reminders of the scan benchmark (from 1,000 up)")
    parser.add_argument("--agenda-reminders", type=int, default=10_000,
                        help="reminders due at once in the delivery benchmark")
    args = parser.parse_args()
    report: dict[str, object] = {"when": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                 "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp, _vhost() as broker_url:
        workdir = Path(tmp)
        if args.only in (None, "throughput"):
            print("Gateway throughput (wrk, POST /api/v1/commands/search):")
            report["throughput"] = throughput(args, broker_url, workdir)
        if args.only in (None, "latency"):
            print("End-to-end latency (signed /search → reply at the fake Slack):")
            report["latency"] = latency(args, broker_url, workdir)
        if args.only in (None, "search"):
            from bench import search_bench

            print(f"Search: {args.search_messages:,} generated messages, SQLite and PostgreSQL")
            report["search_index"] = search_bench.index_and_query(args.search_messages,
                                                                  args.search_queries)
            print(f"Search: {args.queue_messages:,} heard messages through the queue")
            report["search_queue"] = search_bench.through_the_queue(broker_url,
                                                                    args.queue_messages)
        if args.only in (None, "agenda"):
            from bench import agenda_bench

            print("Agenda: scheduler cost per scan as pending reminders grow,"
                  " SQLite and PostgreSQL")
            report["agenda_scan"] = agenda_bench.scan_cost(workdir, args.agenda_pending)
            print(f"Agenda: {args.agenda_reminders:,} reminders through RabbitMQ to the fake"
                  " Slack, SQLite on one host and PostgreSQL on two")
            report["agenda_delivery"] = agenda_bench.delivery(broker_url, workdir,
                                                              args.agenda_reminders)
        if args.only in (None, "sentiment"):
            from bench import sentiment_bench

            print("Sentiment: scoring throughput in one process")
            report["sentiment_scoring"] = sentiment_bench.scoring(workdir)
            print("Sentiment: /mood over 1,000,000 stored messages, SQLite and PostgreSQL")
            report["sentiment_mood"] = sentiment_bench.mood_latency(workdir)
        if args.only in (None, "hostile"):
            from bench import hostile_bench

            print("Hostile text: 40,000-character messages through every heard-message path")
            report["hostile_text"] = hostile_bench.run(workdir)
        if args.only in (None, "socket"):
            from bench import socket_bench

            print("Socket Mode: slash command envelope → ack, against the HTTP gateway's ack")
            report["socket_mode"] = socket_bench.run(broker_url, workdir, args.requests,
                                                     args.rate)
    print(json.dumps(report, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
