"""Benchmark: how Maestro's workers scale on PostgreSQL, measured in one run.

A PostgreSQL server of the bench's own on loopback (Debian's packages, as the tests start it);
each round makes a fresh database, deploys the seed saga (bpmn/, its own handlers), starts
3,000 instances held back, starts `maestro worker --until-idle` processes, lets the instances
fall due and times the workers running them all to the end: one worker (the baseline), then two
at once. Target (issue 14): two workers >= 1.85x one.

Run:  python bench/bench_workers.py [--quick] [--instances N] [--rounds N]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the PostgreSQL server the tests start

TARGET = 1.85
PROCESS = "order_fulfillment"


def fresh_database(postgres, name):
    from sqlalchemy import create_engine, text

    admin = create_engine(postgres.url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return postgres.url.rsplit("/", 1)[0] + "/" + name


def prepared(url, instances):
    """A database with the saga deployed and `instances` of it started, held back (due in a day)
    so that the workers are running before the first falls due."""
    from sqlalchemy import text

    from engine.durable import Maestro
    from engine.durable.startup import load_processes

    handlers, diagrams = load_processes(ROOT / "bpmn")
    maestro = Maestro(url, handlers=handlers)
    maestro.deploy_folder(ROOT / "bpmn", diagrams)
    for _ in range(instances):
        maestro.start(PROCESS, {"items": ["book"]})
    with maestro.engine.begin() as connection:
        connection.execute(text("UPDATE jobs SET due_at = now() + interval '1 day'"))
    maestro.engine.dispose()


def run_workers(url, count):
    """Seconds from the moment every held-back instance falls due to the end of the last one, run by
    `count` worker processes that were started (and imported everything) before."""
    from sqlalchemy import create_engine, text

    env = {**os.environ, "MAESTRO_DATABASE_URL": url}
    command = [sys.executable, "-u", "-m", "engine.cli", "worker", "--processes", str(ROOT / "bpmn"), "--until-idle"]
    workers = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for _ in range(count)]
    for worker in workers:  # each prints "worker ... started" once its loop runs
        while b"started" not in worker.stdout.readline():
            if worker.poll() is not None:
                raise SystemExit(f"a worker failed:\n{worker.stderr.read().decode()}")
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as connection:
        connection.execute(text("UPDATE jobs SET due_at = now()"))
    engine.dispose()
    began = time.perf_counter()
    for worker in workers:
        _, errors = worker.communicate()
        if worker.returncode != 0:
            raise SystemExit(f"a worker failed:\n{errors.decode()}")
    return time.perf_counter() - began


def completed(url):
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        counts = dict(connection.execute(text("SELECT status, count(*) FROM instances GROUP BY status")).all())
    engine.dispose()
    return counts


def main():
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--quick", action="store_true", help="one round of 300 instances (a smoke run)")
    options.add_argument("--instances", type=int, default=3000)
    options.add_argument("--rounds", type=int, default=3)
    args = options.parse_args()
    instances, rounds = (300, 1) if args.quick else (args.instances, args.rounds)

    from postgres_server import PostgresServer

    postgres = PostgresServer().start()
    try:
        rates = {1: [], 2: []}
        for number in range(rounds):
            for count in (1, 2):  # in turn in every round: a shared machine's load weighs on both alike
                url = fresh_database(postgres, f"bench_{number}_{count}")
                prepared(url, instances)
                seconds = run_workers(url, count)
                done = completed(url)
                if done.get("completed") != instances:
                    raise SystemExit(f"not every instance completed: {done}")
                rates[count].append(instances / seconds)
                print(f"  round {number + 1}: {count} worker(s): {instances / seconds:7.1f} instances/s", flush=True)
    finally:
        postgres.stop()
    ratios = [two / one for one, two in zip(rates[1], rates[2], strict=True)]
    one, two, ratio = statistics.median(rates[1]), statistics.median(rates[2]), statistics.median(ratios)
    print(f"PostgreSQL, {instances} pre-started sagas, medians of {rounds} round(s) (instances/s)")
    print(f"  1 worker  : {one:8.1f}")
    print(f"  2 workers : {two:8.1f}")
    print(f"  2 / 1     : {ratio:8.2f}   (median of the rounds' ratios; target >= {TARGET:.2f}: "
          f"{'met' if ratio >= TARGET else 'NOT met'})")


if __name__ == "__main__":
    main()
