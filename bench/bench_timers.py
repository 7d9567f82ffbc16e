"""Benchmark: how late PT5S timers fire with one worker while new saga instances keep starting.

Every phase uses a fresh SQLite database and one worker process running the
loop `maestro worker` runs (engine.durable.worker_loop.run_worker). This
process starts instances of a process that waits on a PT5S intermediate timer,
at a rate the worker keeps up with (80/s), and, in the contended phases, a
steady stream of the seed saga (bpmn/order_fulfillment, no-op handlers): as
many as the worker takes, topped up so that 1,000 new instances always wait to
be claimed (several seconds of work: more than a timer's 5 s, so that a FIFO
makes timers late), until every timer has fired. A timer's lateness is when it
fired (its COMPLETED history row) minus when it was due (the fire time stored
in its task).

Phases, one after the other in one run:
  target    10,000 timers + the saga stream, Maestro as shipped
  alone     600 timers with no competing starts (baseline: the floor)
  fifo      600 timers + the saga stream, the worker patched back to one FIFO
            by due time and no claims between rounds (baseline: before issue 14;
            switchable only here, in the bench)
Each phase's timers are cut into 5 rounds of consecutive timers (by due time);
the figures are the medians of the rounds' percentiles (pooled figures beside
them), the ratios those of the medians, and the target is checked on all the
target phase's timers pooled: p99 < 1 s. The sagas completed per second are
what the timers leave the worker (the phases carry different numbers of
timers: compare them within a phase, not across).

Run:  python bench/bench_timers.py [--quick] [--timers N] [--baseline-timers N] [--timer-rate R] [--saga-backlog N]
"""
import argparse
import json
import multiprocessing
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAGA = ROOT / "bpmn" / "order_fulfillment" / "order_fulfillment.bpmn"
SAGA_TOPICS = ["checkout", "payment", "stock", "distribution_center", "invoice", "shipping",
               "refund_payment", "release_stock", "release_distribution_center", "cancel_invoice",
               "notify_customer"]
TIMER_SECONDS = 5
STARTS_PER_TICK = 5  # sagas started at most per 5 ms tick (up to 1,000/s)
TIMER_PROCESS = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="bench">
  <bpmn:process id="wait_five" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT{TIMER_SECONDS}S</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def noop(_context):
    return {}


def saga_handlers():
    from engine import Handlers

    handlers = Handlers()
    for topic in SAGA_TOPICS:
        handlers.task(topic)(noop)
    return handlers


# -- the worker, in its own process --------------------------------------------

def worker_process(url, fifo, stop):
    """What `maestro worker` runs, on `url`; with `fifo`, in the claim order before issue 14."""
    sys.path.insert(0, str(ROOT))
    sys.stdout = open(os.devnull, "w")  # its "worker … started/stopped" lines
    from engine.durable import Maestro
    from engine.durable.worker_loop import run_worker

    maestro = Maestro(url, handlers=saga_handlers())
    if fifo:
        use_fifo_order(maestro)
    run_worker(maestro, stop=stop)


def use_fifo_order(maestro):
    """Puts the worker back to one FIFO by due time, a batch running all its rounds before the next claim.

    Each lane's candidates are its oldest due jobs, so the oldest of both together are the FIFO's.
    """
    from engine.durable.store import jobs

    jobs._chosen = lambda promised, starts, limit, _reserved: sorted(
        promised + starts, key=lambda candidate: candidate.due_at)[:limit]
    type(maestro._worker)._joiners = lambda *_: []


# -- one phase -------------------------------------------------------------------

class Phase:
    def __init__(self, name, timers, timer_rate, saga_backlog, fifo=False):
        self.name, self.timers, self.timer_rate, self.fifo = name, timers, timer_rate, fifo
        self.saga_backlog = saga_backlog  # new sagas kept waiting to be claimed (0: none started)


def run_phase(phase):
    """{"lateness": [seconds, in due order], "sagas_started", "sagas_completed", "seconds", "saga_wait"
    (median seconds from a saga's start to its first step)}."""
    from engine.durable import Maestro

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        maestro = Maestro(url)
        maestro.deploy([("wait_five.bpmn", TIMER_PROCESS.encode()), ("order_fulfillment.bpmn", SAGA.read_bytes())])
        context = multiprocessing.get_context("spawn")
        stop = context.Event()
        worker = context.Process(target=worker_process, args=(url, phase.fifo, stop))
        worker.start()
        began = time.monotonic()
        sagas = feed(maestro, phase)
        seconds = time.monotonic() - began
        stop.set()
        worker.join()
        lateness = timer_lateness(f"{folder}/bench.db")
        completed = len(maestro.instances(status="completed", key="order_fulfillment", limit=sagas + 1))
        waits = start_waits(f"{folder}/bench.db")
        maestro.engine.dispose()
    return {"lateness": lateness, "sagas_started": sagas, "sagas_completed": completed, "seconds": seconds,
            "saga_wait": statistics.median(waits) if waits else None}


def feed(maestro, phase, patience=90):
    """Starts the phase's timers at its rate, and sagas so that `saga_backlog` new instances wait to be
    claimed, until every timer has fired (or `patience` s after the last one was started); the sagas started."""
    from sqlalchemy import text

    waiting_starts = text("SELECT count(*) FROM jobs WHERE reason = 'start' AND locked_by IS NULL")
    timers_fired = text("SELECT count(*) FROM instances WHERE key = 'wait_five' AND status = 'completed'")
    began = time.monotonic()
    timers = sagas = 0
    last_started = next_look = None
    with maestro.engine.connect() as connection:
        while True:
            now = time.monotonic()
            while timers < min(phase.timers, int((now - began) * phase.timer_rate) + 1):
                maestro.start("wait_five")
                timers += 1
                if timers == phase.timers:
                    last_started = now
            if last_started and now >= (next_look or now):
                next_look = now + 0.25
                if connection.execute(timers_fired).scalar() == phase.timers:
                    break
                if now - last_started > TIMER_SECONDS + patience:
                    print(f"  (not every timer fired within {patience} s of its due time)")
                    break
            if phase.saga_backlog:
                # A few at a time, as clients would: a long run of back-to-back writes would keep
                # SQLite's write lock from the worker for its whole length.
                missing = phase.saga_backlog - connection.execute(waiting_starts).scalar()
                for _ in range(min(STARTS_PER_TICK, max(0, missing))):
                    maestro.start("order_fulfillment")
                    sagas += 1
            connection.rollback()  # a fresh snapshot at the next look
            time.sleep(0.005)
    return sagas


def timer_lateness(path):
    """Fired minus due, in seconds, for every fired timer, ordered by due time."""
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT history.at, instance_tasks.body FROM history JOIN instance_tasks "
            "ON instance_tasks.instance_id = history.instance_id AND instance_tasks.task_id = history.task_id "
            "WHERE history.bpmn_id = 'wait' AND history.state = 'COMPLETED'").fetchall()
    pairs = []
    for fired_at, body in rows:
        due = datetime.fromisoformat(json.loads(body)["internal_data"]["event_value"])
        fired = datetime.fromisoformat(fired_at).replace(tzinfo=timezone.utc)
        pairs.append((due, (fired - due).total_seconds()))
    return [lateness for _, lateness in sorted(pairs)]


def start_waits(path):
    """For every saga that started running: seconds from its start to its start event's completion."""
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT instances.created_at, history.at FROM history JOIN instances ON instances.id = history.instance_id "
            "WHERE history.bpmn_id = 'order_received' AND history.state = 'COMPLETED'").fetchall()
    return [(datetime.fromisoformat(ran) - datetime.fromisoformat(created)).total_seconds() for created, ran in rows]


# -- figures -----------------------------------------------------------------------

def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def figures(lateness, rounds=5):
    """p50, p99, max: the medians over `rounds` runs of consecutive timers, and pooled."""
    size = -(-len(lateness) // rounds)
    rounds = [lateness[start:start + size] for start in range(0, len(lateness), size)]
    per_round = {name: statistics.median(measure(chunk) for chunk in rounds)
                 for name, measure in (("p50", lambda c: percentile(c, 0.5)), ("p99", lambda c: percentile(c, 0.99)),
                                       ("max", max))}
    pooled = {"p50": percentile(lateness, 0.5), "p99": percentile(lateness, 0.99), "max": max(lateness)}
    return per_round, pooled


def main():
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--quick", action="store_true", help="fewer timers (a smoke run, under 30 s)")
    options.add_argument("--timers", type=int, help="timers of the target phase (default 10,000; quick 150)")
    options.add_argument("--baseline-timers", type=int, help="timers of each baseline phase (default 600; quick 80)")
    options.add_argument("--timer-rate", type=float, default=80.0, help="timer instances started per second")
    options.add_argument("--saga-backlog", type=int, help="new sagas kept waiting to be claimed (default 1,000; "
                         "quick 300: too few to make a FIFO late, a smoke run only)")
    args = options.parse_args()
    timers = args.timers or (150 if args.quick else 10_000)
    baseline = args.baseline_timers or (80 if args.quick else 600)
    backlog = args.saga_backlog or (300 if args.quick else 1000)
    phases = [Phase("target", timers, args.timer_rate, backlog),
              Phase("alone", baseline, args.timer_rate, 0),
              Phase("fifo", baseline, args.timer_rate, backlog, fifo=True)]
    print(f"PT{TIMER_SECONDS}S timers started at {args.timer_rate:g}/s, one worker, SQLite; in the contended "
          f"phases sagas started so that {backlog} wait to be claimed")
    print("timer lateness in seconds: median of 5 rounds (pooled)")
    medians = {}
    for phase in phases:
        outcome = run_phase(phase)
        per_round, pooled = figures(outcome["lateness"])
        medians[phase.name] = per_round
        sagas = outcome["sagas_completed"] / outcome["seconds"]
        print(f"  {phase.name:<6} {len(outcome['lateness']):6d} timers  "
              + "  ".join(f"{name} {per_round[name]:6.3f} ({pooled[name]:6.3f})" for name in ("p50", "p99", "max"))
              + (f"   sagas: {sagas:5.1f}/s completed, median wait to start {outcome['saga_wait']:5.1f} s"
                 if phase.saga_backlog else "")
              + f"   [{outcome['seconds']:.0f} s]")
        if phase.name == "target":
            target_pooled = pooled["p99"]
    target, alone, fifo = (medians[name]["p99"] for name in ("target", "alone", "fifo"))
    print(f"  p99 ratio target / alone {target / alone:6.2f}   target / fifo {target / fifo:6.2f}")
    print(f"  target p99 < 1 s over all {timers} timers: {'met' if target_pooled < 1 else 'NOT met'} "
          f"({target_pooled:.3f} s)")


if __name__ == "__main__":
    main()
