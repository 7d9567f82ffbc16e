"""Benchmark: `maestro serve` under load, with its workers running, on SQLite and on PostgreSQL.

A real server on a loopback port (the seed saga deployed from bpmn/, one worker process by
default), driven by 8 client processes with keep-alive connections, each sending a bounded
number of requests:

1. POST /api/definitions/order_fulfillment/instances: starts, while the worker runs them.
2. GET /api/instances/ID of the instances started: reads of running and finished instances.

Baseline, in the same run and on the same server: GET /api/health, the cheapest request the
server answers (HTTP, routing and JSON, and one database round trip): what any request costs here.
Targets (issue 14): p99 of both < 20 ms at 8 concurrent clients.

Run:  python bench/bench_serve.py [--quick] [--database sqlite|postgresql|both] [--workers N]
"""
import argparse
import http.client
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the PostgreSQL the tests start, from Debian's packages

CLIENTS = 8
TARGET_MS = 20.0
PROCESS = "order_fulfillment"


def free_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`maestro serve` over `database_url`, in a subprocess; use as a context manager."""

    def __init__(self, database_url, folder, workers):
        self.port, self.log_path = free_port(), Path(folder) / "serve.log"
        self.command = [sys.executable, "-m", "engine.cli", "serve", "--processes", str(ROOT / "bpmn"),
                        "--port", str(self.port), "--workers", str(workers)]
        self.env = {**os.environ, "MAESTRO_DATABASE_URL": database_url}

    def __enter__(self):
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/health", timeout=1)
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.process.kill()
                    raise SystemExit(f"maestro serve did not come up:\n{self.log_path.read_text()}") from None
                time.sleep(0.1)

    def __exit__(self, *_):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _client(port, requests):
    """One client: sends (method, path, body) requests in turn on one keep-alive connection;
    returns (latency in ms, status, answer) of each."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    measured = []
    for method, path, body in requests:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        began = time.perf_counter()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        measured.append(((time.perf_counter() - began) * 1e3, response.status, answer))
    connection.close()
    return measured


def drive(pool, port, requests_per_client):
    """Runs the clients at once, each with its list of requests; (latencies ms, answers)."""
    results = pool.starmap(_client, [(port, requests) for requests in requests_per_client])
    latencies, answers = [], []
    for measured in results:
        for milliseconds, status, answer in measured:
            if status >= 400:
                raise SystemExit(f"the server answered {status}: {answer[:300]!r}")
            latencies.append(milliseconds)
            answers.append(answer)
    return latencies, answers


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def measure(database_url, workers, rounds, per_client, folder, clients=CLIENTS):
    """{measure: [(p50, p99) per round]} for the health baseline, starts and reads."""
    figures = {"health": [], "start": [], "read": []}
    with Server(database_url, folder, workers) as server, multiprocessing.get_context("spawn").Pool(clients) as pool:
        port = server.port
        drive(pool, port, [[("GET", "/api/health", None)] * 5] * clients)  # warm: connections, caches
        started = []
        for _ in range(rounds):
            latencies, _answers = drive(pool, port, [[("GET", "/api/health", None)] * per_client] * clients)
            figures["health"].append((percentile(latencies, 0.5), percentile(latencies, 0.99)))

            body = json.dumps({"data": {}}).encode()
            starts = [[("POST", f"/api/definitions/{PROCESS}/instances", body)] * per_client] * clients
            latencies, answers = drive(pool, port, starts)
            figures["start"].append((percentile(latencies, 0.5), percentile(latencies, 0.99)))
            started += [json.loads(answer)["id"] for answer in answers]

            chosen = random.Random(len(started))
            reads = [[("GET", f"/api/instances/{chosen.choice(started)}", None) for _ in range(per_client)]
                     for _ in range(clients)]
            latencies, _answers = drive(pool, port, reads)
            figures["read"].append((percentile(latencies, 0.5), percentile(latencies, 0.99)))
    return figures


def report(name, figures, clients):
    def median(measure, which):
        return statistics.median(round_[which] for round_ in figures[measure])

    health_p99 = median("health", 1)
    print(f"{name}: {clients} concurrent client(s), medians of {len(figures['health'])} rounds (ms)")
    print(f"  {'request':<34} {'p50':>7} {'p99':>7}   p99 / baseline p99")
    rows = (("GET /api/health (baseline)", "health"), ("POST .../instances (start)", "start"),
            ("GET /api/instances/ID (read)", "read"))
    for label, measure in rows:
        p50, p99 = median(measure, 0), median(measure, 1)
        met = "met" if p99 < TARGET_MS else "NOT met"
        verdict = "" if measure == "health" else f"   target p99 < {TARGET_MS:g} ms: {met}"
        print(f"  {label:<34} {p50:7.2f} {p99:7.2f}   {p99 / health_p99:6.2f}{verdict}")


def main():
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--quick", action="store_true", help="one short round (a smoke run)")
    options.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    options.add_argument("--workers", type=int, default=1, help="worker processes of the server (default 1)")
    options.add_argument("--clients", type=int, default=CLIENTS, help=f"concurrent clients (default {CLIENTS})")
    args = options.parse_args()
    rounds, per_client = (1, 20) if args.quick else (5, 100)
    with tempfile.TemporaryDirectory() as folder:
        if args.database in ("sqlite", "both"):
            report("SQLite", measure(f"sqlite:///{folder}/bench.db", args.workers, rounds, per_client, folder,
                                     args.clients), args.clients)
        if args.database in ("postgresql", "both"):
            from postgres_server import PostgresServer

            postgres = PostgresServer().start()
            try:
                report("PostgreSQL", measure(postgres.url, args.workers, rounds, per_client, folder, args.clients),
                       args.clients)
            finally:
                postgres.stop()


if __name__ == "__main__":
    main()
