"""A worker's loop: advancing due instances batch after batch until stopped, riding out database
failures, and releasing its leases when it stops (what `maestro worker` and `maestro serve` run)."""
import sys
import threading
import traceback

from sqlalchemy.exc import SQLAlchemyError

from engine.run.interruptions import StepAbandoned

from .store import jobs
from .worker_health import WorkerHealth
from .worker_stop import StopSignals, stop_signals_ignored

FIRST_RETRY_SECONDS, MAX_RETRY_SECONDS = 0.5, 8.0
# How long an idle worker sleeps at most before it looks again: work written by another process (a
# start, a message published through the API or the CLI) waits at most this long for a worker.
IDLE_LOOK_SECONDS = 0.25


def run_worker(engine, until_idle=False, max_sleep=IDLE_LOOK_SECONDS, stop=None, health=None):
    """Advances due instances until `stop` is set or, with until_idle, until none is due.

    In the main thread SIGTERM and SIGINT set `stop` (engine.durable.worker_stop): the round in flight
    is committed, a step still running after the grace is abandoned, and every lease this
    worker holds is released before it says it stopped. Errors outside handlers (the database
    restarted, SQLite locked beyond its busy timeout) make it wait and try again, never end it.
    """
    stop = stop or threading.Event()
    health = health or WorkerHealth()
    engine.stop_requested = lambda: (health.beat(), stop.is_set())[1]
    abandoned = False
    try:
        with StopSignals(stop):
            print(f"worker {engine.actor} started", flush=True)  # once a SIGTERM would stop it cleanly
            health.running()
            _work(engine, stop, until_idle, max_sleep, health)
    except StepAbandoned:
        abandoned = True
    released = _release_leases(engine)
    note = " (abandoned its step in flight: another worker runs it again)" if abandoned else ""
    print(f"worker {engine.actor} stopped{note}" + (f", released {released} lease(s)" if released else ""), flush=True)
    health.died("stopped")


def _work(engine, stop, until_idle, max_sleep, health):
    retry_in, release_due = None, False
    while not stop.is_set():
        try:
            if release_due:  # the failed batch's leases: its instances need not wait for them to run out
                engine.release_leases()
                release_due = False
            if engine.work_batch():
                health.beat()
                retry_in = None
                continue
            due = engine.next_due()
        except Exception as error:  # noqa: BLE001 (nothing outside a handler may end the worker)
            retry_in = min(retry_in * 2, MAX_RETRY_SECONDS) if retry_in else FIRST_RETRY_SECONDS
            reason = _failure(error)
            health.failed(reason)
            print(f"worker {engine.actor}: {reason}; trying again in {retry_in:g} s", file=sys.stderr, flush=True)
            release_due = True
            stop.wait(retry_in)
            continue
        health.beat()
        retry_in = None
        if until_idle and due is None:
            break
        wait = max_sleep if due is None else (due - jobs.now()).total_seconds()
        stop.wait(min(max(wait, 0.01), max_sleep))


def _failure(error):
    """One line for the worker's log: the database's own words when it is the database."""
    if isinstance(error, SQLAlchemyError):
        original = getattr(error, "orig", None) or error
        first_line = (str(original).strip().splitlines() or [""])[0]
        return f"the database failed: {type(original).__name__}: {first_line}"
    traceback.print_exception(error)  # a fault of Maestro itself: its traceback is what to report
    return f"the worker's loop failed: {type(error).__name__}: {error}"


def _release_leases(engine):
    try:
        with stop_signals_ignored():
            return engine.release_leases()
    except Exception as error:  # noqa: BLE001 (the database is gone: the leases run out by themselves)
        print(f"worker {engine.actor}: could not release its leases ({_failure(error)}); "
              "they run out after MAESTRO_LEASE_SECONDS", file=sys.stderr, flush=True)
        return 0
