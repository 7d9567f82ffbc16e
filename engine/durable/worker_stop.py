"""How a worker stops on SIGTERM or Ctrl-C: within a few seconds, at any point, losing nothing.

The signal only sets a stop flag: the worker finishes the step in flight,
commits the steps its batch has finished and hands the instances it still
holds back (Maestro.stop_requested, asked before every step). A
step that is still running after the grace (a handler that takes minutes) is
abandoned: `StepAbandoned` is raised in the worker's thread, unwinds past every
`except Exception` (a handler's, SpiffWorkflow's, Maestro's) without
committing, and the worker releases its leases, so that another worker runs
that step again at once. Signals are not relied on to raise
KeyboardInterrupt: a handler's own KeyboardInterrupt or SystemExit is a failure
of its task (engine.run.runtime), not the end of the worker.
"""
import contextlib
import os
import signal
import threading

from engine.run.interruptions import StepAbandoned

GRACE_SETTING = "MAESTRO_STOP_GRACE_SECONDS"
DEFAULT_GRACE_SECONDS = 3.0


def grace_seconds() -> float:
    """How long a stopping worker lets the step in flight finish (MAESTRO_STOP_GRACE_SECONDS, default 3)."""
    try:
        return max(float(os.environ.get(GRACE_SETTING) or DEFAULT_GRACE_SECONDS), 0.001)
    except ValueError:
        return DEFAULT_GRACE_SECONDS


class StopSignals:
    """While active (in the main thread), SIGTERM and SIGINT set `stop` and give the step in flight
    `grace` seconds before StepAbandoned is raised; a second signal abandons it at once.

    Elsewhere than in the main thread (signals only reach that one), it does nothing: whoever
    started the worker sets `stop`.
    """

    def __init__(self, stop: threading.Event, grace: float | None = None):
        self.stop = stop
        self.grace = grace_seconds() if grace is None else grace
        self.previous = {}
        self.requested = False

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum, handler in ((signal.SIGTERM, self._stop), (signal.SIGINT, self._stop),
                                    (signal.SIGALRM, self._abandon)):
                self.previous[signum] = signal.signal(signum, handler)
        return self

    def __exit__(self, *_):
        if self.previous:
            signal.setitimer(signal.ITIMER_REAL, 0)
            for signum, handler in self.previous.items():
                signal.signal(signum, handler)
            self.previous = {}
        return False

    def _stop(self, _signum, _frame):
        if self.requested or self.stop.is_set():  # is_set reads a flag; set() takes a lock
            raise StepAbandoned()
        self.requested = True
        # Event.set takes the lock the interrupted main thread may hold (inside stop.wait): set it
        # from a thread, or the handler would wait for itself.
        threading.Thread(target=self.stop.set, name="stop", daemon=True).start()
        signal.setitimer(signal.ITIMER_REAL, self.grace)

    def _abandon(self, _signum, _frame):
        raise StepAbandoned()


@contextlib.contextmanager
def stop_signals_ignored():
    """SIGTERM and SIGINT do nothing inside (main thread only): a worker that is already stopping
    releases its leases without a second Ctrl-C cutting that short with a traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
