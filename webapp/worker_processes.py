"""`maestro serve`'s workers, each in a process of its own, started, watched and stopped by the server.

In their own processes the workers' steps (handlers, SpiffWorkflow, commits) never hold the web
server's interpreter lock: a request is answered while a batch runs. Each worker reports its health
in shared memory (engine.durable.worker_health.SharedWorkerHealth), which /api/health reads; one that
dies is started again after a pause that doubles each time, up to MAX_RESTART_SECONDS. Stopping the
server stops them as SIGTERM stops `maestro worker`: the step in flight is finished (or abandoned
after the grace), what is done is committed and their leases are released.
"""
import multiprocessing
import os
import signal
import sys
import threading
import time

from engine.durable.worker_health import SharedWorkerHealth
from engine.durable.worker_stop import grace_seconds

FIRST_RESTART_SECONDS, MAX_RESTART_SECONDS = 1.0, 30.0
_SPAWN = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing of the server's threads or sockets


class WorkerProcess:
    """One worker slot: its current process and what the server knows of it."""

    def __init__(self, number: int, folder: str):
        self.number, self.folder = number, folder
        self.health = SharedWorkerHealth(_SPAWN)
        self.process: multiprocessing.process.BaseProcess | None = None
        self.pause = FIRST_RESTART_SECONDS
        self.restart_at = 0.0

    def start(self) -> None:
        self.process = _SPAWN.Process(target=worker_main, args=(self.folder, self.health),
                                      name=f"maestro worker {self.number}", daemon=False)
        self.process.start()

    def watch(self, now: float) -> None:
        """Starts the process again if it died and its pause is over."""
        if self.process is None or self.process.exitcode is None:
            return
        if self.restart_at == 0.0:
            said = self.health.down  # what the worker said as it ended, if it could
            why = f": {said}" if said and said != "starting" else ""
            reason = f"died (exit code {self.process.exitcode}{why}); restarting in {self.pause:g} s"
            self.health.died(reason)
            print(f"worker {self.number} {reason}", file=sys.stderr, flush=True)
            self.restart_at = now + self.pause
            self.pause = min(self.pause * 2, MAX_RESTART_SECONDS)
        elif now >= self.restart_at:
            self.restart_at = 0.0
            self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.exitcode is None:
            os.kill(self.process.pid, signal.SIGTERM)

    def join(self, seconds: float) -> None:
        if self.process is None:
            return
        self.process.join(seconds)
        if self.process.exitcode is None:  # stuck beyond its grace: the leases run out by themselves
            self.process.kill()
            self.process.join()


class WorkerProcesses:
    """The server's worker processes, with one health for /api/health."""

    def __init__(self, count: int, folder: str):
        self.workers = [WorkerProcess(number, folder) for number in range(1, count + 1)]

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    def supervise(self, stop: threading.Event, every: float = 0.25) -> None:
        """Restarts dead workers until `stop` is set."""
        while not stop.wait(every):
            now = time.monotonic()
            for worker in self.workers:
                try:
                    worker.watch(now)
                except OSError as error:  # no process could be made now (EAGAIN, ENOMEM): try again later
                    worker.health.died(f"could not be started again: {error}")
                    worker.restart_at = now + worker.pause

    def stop(self) -> None:
        """Stops every worker as SIGTERM stops `maestro worker`, waiting for their step in flight."""
        for worker in self.workers:
            worker.stop()
        for worker in self.workers:
            worker.join(grace_seconds() + 10)

    def problem(self) -> str | None:
        """Why a worker is not working (the first one found), or None when all are."""
        for worker in self.workers:
            problem = worker.health.problem()
            if problem:
                return problem if len(self.workers) == 1 else f"worker {worker.number}: {problem}"
        return None


def worker_main(folder: str, health: SharedWorkerHealth) -> None:
    """A worker process: loads the processes folder's handlers and runs the worker loop until SIGTERM."""
    # Its own process group: a Ctrl-C in the terminal reaches the server, which stops its workers in order.
    os.setpgrp()
    from engine.durable.startup import UserError, load_processes, open_engine
    from engine.durable.worker_loop import run_worker

    from .metrics import count_worker_events

    stop = threading.Event()
    threading.Thread(target=_stop_when_orphaned, args=(os.getppid(), stop), name="orphan watch", daemon=True).start()
    try:
        handlers, _ = load_processes(folder)
        maestro = open_engine(handlers)  # which also turns tracing on when the inherited environment says so
    except UserError as error:
        health.died(str(error))
        print(f"maestro worker: {error}", file=sys.stderr, flush=True)
        sys.exit(2)
    count_worker_events(maestro)
    run_worker(maestro, stop=stop, health=health)


def _stop_when_orphaned(parent: int, stop: threading.Event) -> None:
    """A server killed outright cannot stop its workers: they stop when they find themselves orphaned."""
    while not stop.wait(1.0):
        if os.getppid() != parent:
            stop.set()
