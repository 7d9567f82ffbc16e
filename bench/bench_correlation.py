"""Benchmark: correlation is an index lookup, measured in one run.

Target (issue 15): publishing a message that reaches 1 of 100,000 waiting instances takes < 50 ms,
printed against the 1-waiting case in the same run. The values an instance is reached by are
stored when it starts waiting (message_subscriptions), so the lookup must not grow with N.

Each database holds N instances of one process waiting at a message catch whose correlation key
is `=order_id` (zeebe:subscription), each with its own order_id. A few hundred of them are run
for real by the worker (`seed`); the rest are copies of those, made in SQL (`copy_waiting`):
every row a real waiting instance owns -- instances, instance_tasks, message_subscriptions,
history (it has no jobs, instance_steps, task_marks or incidents while it waits) -- inserted
again with a new instance id and a new order_id. Task ids are numbered from the instance id's
first 74 bits (engine/run/spiff/task_ids.py), so swapping those bits and the order_id in every
text and JSON column gives exactly the rows running that instance would have written: the copy
loads, takes the message and runs on like the original (the bench checks a copy does).

A round publishes one message to a random waiting instance of each database in turn and times
`publish` up to the end of `maestro.deliver_messages()` (the receiver's commit done, the message
marked delivered). Then, for the note, a real `maestro worker` process on the largest database
is timed from `publish` to the messages table saying delivered (an idle worker looks for due
work every 0.25 s, engine/durable/worker_loop.IDLE_LOOK_SECONDS: most of this latency is that poll).

Run:  python bench/bench_correlation.py [--quick] [--rounds N] [--waiting N] [--database postgresql]
"""
import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the PostgreSQL server the tests start

TARGET_MS = 50.0
PROCESS, MESSAGE = "await_payment", "payment_received"
DIAGRAM = f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="bench" targetNamespace="http://maestro.bench">
  <message id="paid" name="{MESSAGE}">
    <extensionElements><zeebe:subscription correlationKey="=order_id"/></extensionElements>
  </message>
  <process id="{PROCESS}" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="wait_for_payment"/>
    <intermediateCatchEvent id="wait_for_payment"><messageEventDefinition messageRef="paid"/></intermediateCatchEvent>
    <sequenceFlow id="f2" sourceRef="wait_for_payment" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"""
REAL = 200  # instances run for real per database; the rest are copies of them
TABLES = ("instances", "instance_tasks", "message_subscriptions", "history")  # what a waiting instance owns


def order_id(number):
    """Fixed width: no order id is a part of another, so replacing one in a row's text is exact."""
    return f"order-{number:07d}"


def seed(maestro, folder, count):
    """`count` instances run by the worker up to the catch, where they wait; their ids."""
    maestro.deploy_folder(folder, [folder / "await_payment.bpmn"])
    ids = [maestro.start(PROCESS, {"order_id": order_id(n)})["id"] for n in range(count)]
    while maestro.work_batch():
        pass
    waiting = maestro.instance_counts()[PROCESS]
    assert waiting == {"waiting": count}, waiting
    return ids


def copy_waiting(maestro, real_ids, total):
    """Copies the real waiting instances in SQL until `total` wait (see the docstring)."""
    from sqlalchemy import JSON, String, Text, text

    from engine.durable.store.models import Base

    copies = [(real_ids[n % len(real_ids)], str(uuid.uuid4()), order_id(n % len(real_ids)), order_id(n))
              for n in range(len(real_ids), total)]
    if not copies:
        return
    postgres = maestro.engine.dialect.name == "postgresql"
    with maestro.engine.begin() as connection:
        connection.execute(text("CREATE TEMPORARY TABLE bench_copies (template_id VARCHAR(36), old_prefix VARCHAR(36), "
                                "new_prefix VARCHAR(36), old_key VARCHAR(32), new_key VARCHAR(32))"))
        connection.execute(text("INSERT INTO bench_copies VALUES (:t, :op, :np, :ok, :nk)"),
                           [{"t": template, "op": template[:24], "np": new[:24], "ok": old, "nk": new_key}
                            for template, new, old, new_key in copies])
        for name in TABLES:
            table = Base.metadata.tables[name]
            owner = table.c.id if name == "instances" else table.c.instance_id
            columns, values = [], []
            for column in table.columns:
                if name == "history" and column.name == "id":
                    continue  # numbered by the database
                columns.append(column.name)
                value = f"t.{column.name}"
                if isinstance(column.type, JSON):
                    value = f"replace(replace({value}{'::text' if postgres else ''}, c.old_prefix, c.new_prefix), " \
                            f"c.old_key, c.new_key){'::json' if postgres else ''}"
                elif isinstance(column.type, (String, Text)):
                    value = f"replace(replace({value}, c.old_prefix, c.new_prefix), c.old_key, c.new_key)"
                values.append(value)
            connection.execute(text(f"INSERT INTO {name} ({', '.join(columns)}) SELECT {', '.join(values)} "
                                    f"FROM {name} t JOIN bench_copies c ON t.{owner.name} = c.template_id"))
        connection.execute(text("DROP TABLE bench_copies"))
        if postgres:
            connection.execute(text("ANALYZE"))
    waiting = maestro.instance_counts()[PROCESS]
    assert waiting == {"waiting": total}, waiting


def check_a_copy_runs_on(maestro, key):
    """A copied instance takes its message and completes: the copies are real waiting instances."""
    with maestro.engine.connect() as connection:
        from sqlalchemy import text
        instance_id = connection.execute(text("SELECT instance_id FROM message_subscriptions "
                                              "WHERE correlation_key = :key"), {"key": key}).scalar_one()
    published = maestro.publish(MESSAGE, key, {"paid": True})["id"]
    maestro.deliver_messages()
    shown = maestro.message(published)
    assert [d["instance_id"] for d in shown["deliveries"]] == [instance_id], shown
    while maestro.work_batch():
        pass
    instance = maestro.show(instance_id)
    assert instance["status"] == "completed" and instance["data"]["order_id"] == key, instance


def one_delivery(maestro, key):
    """Seconds from publish to the receiver's commit done, for one message to one waiting instance."""
    began = time.perf_counter()
    published = maestro.publish(MESSAGE, key, {"paid": True})["id"]
    taken = maestro.deliver_messages()
    elapsed = time.perf_counter() - began
    shown = maestro.message(published)
    assert taken == 1 and shown["status"] == "delivered" and len(shown["deliveries"]) == 1, shown
    return elapsed


def worker_latency(url, folder, keys, rounds):
    """Seconds from publish to `delivered` in the messages table, with a `maestro worker` running."""
    from sqlalchemy import create_engine, text

    from engine.durable import Maestro

    env = {**os.environ, "MAESTRO_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen([sys.executable, "-u", "-m", "engine.cli", "worker", "--processes", str(folder)],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        while b"started" not in worker.stdout.readline():
            if worker.poll() is not None:
                raise SystemExit(f"the worker failed:\n{worker.stdout.read().decode()}")
        maestro = Maestro(url)
        watcher = create_engine(maestro.engine.url)
        latencies = []
        with watcher.connect() as connection:
            for key in keys[:rounds]:
                time.sleep(random.uniform(0.0, 1.0))  # publish at any moment of the worker's sleep
                began = time.perf_counter()
                published = maestro.publish(MESSAGE, key, {"paid": True})["id"]
                while connection.execute(text("SELECT status FROM messages WHERE id = :id"),
                                         {"id": published}).scalar_one() != "delivered":
                    connection.rollback()
                    time.sleep(0.001)
                connection.rollback()
                latencies.append(time.perf_counter() - began)
        watcher.dispose()
        maestro.engine.dispose()
        return latencies
    finally:
        worker.terminate()
        worker.wait(timeout=60)


def databases(kind, sizes, folder):
    """{size: url}, and what to stop when done."""
    if kind == "sqlite":
        return {size: f"sqlite:///{folder}/waiting_{size}.db" for size in sizes}, None
    from bench_workers import fresh_database
    from postgres_server import PostgresServer

    postgres = PostgresServer().start()
    return {size: fresh_database(postgres, f"waiting_{size}") for size in sizes}, postgres


def main():
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--quick", action="store_true", help="10,000 waiting at most, 5 rounds (a smoke run)")
    options.add_argument("--waiting", type=int, default=100_000, help="the largest number of waiting instances")
    options.add_argument("--rounds", type=int, default=30)
    options.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = options.parse_args()
    largest, rounds = (10_000, 5) if args.quick else (args.waiting, args.rounds)
    sizes = sorted({1, min(REAL, largest), largest // 10, largest} - {0})

    from engine import Handlers
    from engine.durable import Maestro

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "processes"
        folder.mkdir()
        (folder / "await_payment.bpmn").write_text(DIAGRAM)
        urls, postgres = databases(args.database, sizes, scratch)
        try:
            engines, keys = {}, {}
            for size in sizes:
                began = time.perf_counter()
                maestro = Maestro(urls[size], handlers=Handlers())
                real = seed(maestro, folder, min(size, REAL))
                copy_waiting(maestro, real, size)
                order = random.Random(size).sample(range(size), size)
                if size > REAL:  # the last copy runs on to its end, as a real instance would
                    order.remove(size - 1)
                    check_a_copy_runs_on(maestro, order_id(size - 1))
                engines[size], keys[size] = maestro, [order_id(n) for n in order]
                print(f"  {size:>7,} waiting: built in {time.perf_counter() - began:5.1f} s", flush=True)
            timings = {size: [] for size in sizes}
            for number in range(-1, rounds):  # round -1 warms up (the specs, the connection pool)
                for size in sizes:  # in turn in every round: a shared machine's load weighs on all alike
                    elapsed = one_delivery(engines[size], keys[size].pop())
                    if number >= 0:
                        timings[size].append(elapsed)
                for size in sizes:  # the receivers run on to their end, and a new one waits in the 1's place
                    settle(engines[size], size == 1, keys[1])
                if number >= 0:
                    print(f"  round {number + 1}: " + ", ".join(f"{size:,}: {timings[size][-1] * 1000:5.1f} ms"
                                                                for size in sizes), flush=True)
            for maestro in engines.values():
                maestro.engine.dispose()
            latencies = worker_latency(urls[largest], folder, keys[largest], min(rounds, 10))
        finally:
            if postgres is not None:
                postgres.stop()
    medians = {size: statistics.median(values) * 1000 for size, values in timings.items()}
    ratios = [big / one for one, big in zip(timings[1], timings[largest], strict=True)]
    print(f"{args.database}, one message to one of N instances waiting at a correlated catch, "
          f"medians of {rounds} round(s): publish -> deliver_messages() done (ms)")
    for size in sizes:
        spread = statistics.quantiles(timings[size], n=10) if len(timings[size]) >= 2 else [medians[size] / 1000] * 9
        print(f"  N = {size:>7,} : {medians[size]:7.1f}   (p10 {spread[0] * 1000:5.1f}, p90 {spread[-1] * 1000:5.1f})")
    print(f"  {largest:,} / 1 : {statistics.median(ratios):7.2f}   (median of the rounds' ratios)")
    print(f"  target < {TARGET_MS:.0f} ms at N = {largest:,}: {'met' if medians[largest] < TARGET_MS else 'NOT met'}")
    print(f"  with a `maestro worker` running, N = {largest:,}: publish -> delivered in the messages table "
          f"median {statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms over "
          f"{len(latencies)} (an idle worker looks for due work every 0.25 s)")


def settle(maestro, one_waits_again, one_keys):
    """Between rounds, in every database alike: the instance that took the message runs on to its end.
    In the 1-waiting database a new instance then waits in its place, so that one waits at every round."""
    if one_waits_again:
        one_keys.append(order_id(0))  # the one before it completed: nothing else waits for that key
        maestro.start(PROCESS, {"order_id": order_id(0)})
    while maestro.work_batch():
        pass


if __name__ == "__main__":
    main()
