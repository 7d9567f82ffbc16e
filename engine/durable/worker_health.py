"""Whether a worker loop is working: what `maestro serve`'s /api/health reports about its worker.

The loop beats before every step it runs and every time it looks for work;
the web threads read the beats. A worker that stopped beating for
MAESTRO_WORKER_STALL_SECONDS (default 60: a handler stuck, a round that never
ends), whose last attempt failed (the database is unreachable) or that died
is not working.
"""
import os
import time

STALL_SETTING = "MAESTRO_WORKER_STALL_SECONDS"
DEFAULT_STALL_SECONDS = 60.0


class WorkerHealth:
    """What a worker loop last did. Written by the worker's thread, read by others (plain attributes)."""

    def __init__(self):
        self.last_beat = time.monotonic()
        self.failure = None  # why the last attempt to work failed, until one succeeds
        self.down = "starting"  # why the loop does not run (None while it runs)

    def running(self) -> None:
        self.down, self.last_beat = None, time.monotonic()

    def beat(self) -> None:
        self.last_beat, self.failure = time.monotonic(), None

    def failed(self, reason: str) -> None:
        """An attempt to work failed; the loop goes on (it waits, then tries again)."""
        self.last_beat, self.failure = time.monotonic(), reason

    def died(self, reason: str) -> None:
        self.down = reason

    def problem(self) -> str | None:
        """Why the worker is not working, or None when it is."""
        if self.down:
            return self.down
        if self.failure:
            return self.failure
        silent = time.monotonic() - self.last_beat
        if silent > stall_seconds():
            return f"its loop has not moved for {silent:.0f} s (a step is stuck; {STALL_SETTING})"
        return None


def stall_seconds() -> float:
    try:
        return float(os.environ.get(STALL_SETTING) or DEFAULT_STALL_SECONDS)
    except ValueError:
        return DEFAULT_STALL_SECONDS
