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


_REASON_BYTES = 1024


class SharedWorkerHealth(WorkerHealth):
    """A WorkerHealth kept in shared memory: a worker process writes it, the server that started the
    process reads it (`maestro serve` runs its workers in their own processes).

    Give it to the process when starting it (multiprocessing passes shared memory only then).
    CLOCK_MONOTONIC is one clock for every process of the machine, so beats compare across them.
    """

    def __init__(self, context=None):
        import multiprocessing

        context = context or multiprocessing.get_context("spawn")
        self._beat = context.RawValue("d", time.monotonic())
        self._failure = context.RawArray("c", _REASON_BYTES)
        self._down = context.RawArray("c", _REASON_BYTES)
        self.down = "starting"

    @property  # type: ignore[override]
    def last_beat(self) -> float:
        return self._beat.value

    @last_beat.setter
    def last_beat(self, moment: float) -> None:
        self._beat.value = moment

    @property  # type: ignore[override]
    def failure(self) -> str | None:
        return _text(self._failure)

    @failure.setter
    def failure(self, reason: str | None) -> None:
        _store(self._failure, reason)

    @property  # type: ignore[override]
    def down(self) -> str | None:
        return _text(self._down)

    @down.setter
    def down(self, reason: str | None) -> None:
        _store(self._down, reason)


def _text(buffer) -> str | None:
    return buffer.value.decode("utf-8", "replace") or None


def _store(buffer, reason: str | None) -> None:
    # A reader may see a half-written reason for an instant: it is only ever shown, never parsed.
    buffer.value = (reason or "").encode("utf-8")[:_REASON_BYTES - 1]
