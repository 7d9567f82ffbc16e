"""Script tasks run in a sandbox process, so that their time and memory limits hold even
against work done inside C functions (`pow(3, 10**25000, m)`, `list(map(list, [r] * 300))`),
which the sandbox's own checks between Python steps never see.

A sandbox is a long-lived Python process (sandbox_process) that runs one script at a
time under an address-space limit, with a CPU-time limit, and that the worker kills when a run
outlives its wall-clock deadline. Starting one costs about 0.1 s, so each worker process keeps
a small pool and reuses them; one that hit a limit, grew, or ran RUNS_PER_SANDBOX scripts is
replaced, so every script meets the same limits. Each sandbox serves one thread at a time."""
from __future__ import annotations

import atexit
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from . import wire
from .errors import ScriptError
from .limits import MB, ScriptLimits
from .running import CompiledScript

RUNS_PER_SANDBOX = 1000
MAX_IDLE_SANDBOXES = 4
GRACE_SECONDS = 1.0  # beyond the limit, for the sandbox to report it itself (with the line)
START_SECONDS = 30.0  # a busy machine may take long to start Python

_log = logging.getLogger("maestro.scripts")
_SUPPORTED = sys.platform.startswith("linux")  # RLIMIT_AS and /proc/self/statm

# The sandbox needs only the script modules: the engine package is set up without its
# __init__ (which imports SpiffWorkflow, SQLAlchemy...), so a sandbox starts fast and small.
_BOOT = """
import json, sys, types
settings = json.loads(sys.argv[1])
sys.path[:] = settings["path"]
engine = types.ModuleType("engine")
engine.__path__ = [settings["engine"]]
sys.modules["engine"] = engine
from engine.sandbox.scripts.sandbox_process import serve
serve(settings["memory"])
"""
# glibc: big blocks always get their own mapping, so freeing one returns it to the system
# and a sandbox's address space goes back to its size after each run
_SANDBOX_ENVIRONMENT = {"MALLOC_MMAP_THRESHOLD_": str(128 * 1024)}


def run_in_sandbox(script: CompiledScript, variables: Mapping, limits: ScriptLimits) -> dict:
    """The variables after running the script in a sandbox process; ScriptError on failure."""
    if not _SUPPORTED:  # pragma: no cover - the limits then hold only between Python steps
        return script.run_in_process(variables, limits)
    hidden = {name: value for name, value in variables.items() if name.startswith("_")}
    visible = {name: value for name, value in variables.items() if name not in hidden}
    try:
        request, foreign = wire.encode_request((script.source, visible, _plain(limits)))
    except RecursionError:
        raise ScriptError("variables are nested too deeply") from None
    result, message, line, printed = _ask(request, foreign, limits)
    for text in printed:
        _log.debug("%s", text)
    if message is not None:
        raise ScriptError(message, line)
    result.update(hidden)  # invisible to scripts: carried through unchanged, after the others
    return result


def _ask(request, foreign, limits, fresh=False):
    sandbox = _Sandbox(limits.memory_bytes) if fresh else _pool.take(limits.memory_bytes)
    reused = sandbox.runs > 0
    reusable = False
    try:
        reply = sandbox.ask(request, limits)
        result, message, line, printed, retire = wire.decode_reply(reply, foreign)
        if not (isinstance(result, dict) if message is None else isinstance(message, str)):
            raise wire.WireError("a reply of the wrong shape")
        reusable = not retire
        return result, message, line, list(printed)
    except TimeoutError:
        raise ScriptError(limits.too_long()) from None
    except (OSError, EOFError) as error:
        message = sandbox.death_message(limits, error)
        if not reused or message == limits.too_long():
            raise ScriptError(message) from None
    except Exception as error:  # the reply is no plain data: the sandbox is not ours any more
        raise ScriptError(f"the script sandbox process sent an unreadable reply ({error})") from None
    finally:
        if reusable:
            _pool.give_back(sandbox)
        else:
            sandbox.stop()
    # An idle sandbox can die unseen (killed from outside): a script changes nothing but its
    # variables, so it runs again, once, in a new one.
    return _ask(request, foreign, limits, fresh=True)


def _plain(limits):
    return limits.seconds, limits.memory_bytes, limits.result_bytes


class _Sandbox:
    """One sandbox process and the worker's end of its socket."""

    def __init__(self, memory_bytes: int):
        self.memory_bytes = memory_bytes
        self.runs = 0
        ours, theirs = socket.socketpair()
        settings = {"path": sys.path, "engine": str(Path(__file__).resolve().parent.parent.parent),
                    "memory": memory_bytes}
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-B", "-c", _BOOT, json.dumps(settings)],
                stdin=theirs, stdout=subprocess.DEVNULL, env=_SANDBOX_ENVIRONMENT)
        except OSError as error:
            ours.close()
            raise ScriptError(f"the script sandbox process cannot start: {error}") from None
        finally:
            theirs.close()
        self.channel = ours
        try:
            ready = wire.recv_frame(ours, 16, time.monotonic() + START_SECONDS)
        except (OSError, wire.WireError):
            ready = None
        if ready != b"ready":
            self.stop()
            raise ScriptError(f"the script sandbox process did not start ({self._ending()})")

    @property
    def pid(self) -> int:
        return self.process.pid

    def ask(self, request: bytes, limits: ScriptLimits) -> bytes:
        deadline = time.monotonic() + limits.seconds + GRACE_SECONDS
        self.runs += 1
        wire.send_frame(self.channel, request, deadline)
        # the sandbox bounds the result as JSON; this bounds what we read (pickled UTF-8 text
        # may take up to 4 bytes a character)
        reply = wire.recv_frame(self.channel, 5 * limits.result_bytes + MB, deadline)
        if reply is None:
            raise EOFError("the sandbox closed the connection")
        return reply

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Kills the process and reaps it (no zombie); idempotent."""
        self.channel.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def death_message(self, limits: ScriptLimits, error: BaseException) -> str:
        """Why the sandbox stopped answering; the process is stopped."""
        try:
            self.process.wait(timeout=2)  # it is ending: let it say how
        except subprocess.TimeoutExpired:
            pass
        self.stop()
        if self.process.returncode == -signal.SIGXCPU:
            return limits.too_long()
        return f"the script sandbox process ended unexpectedly ({self._ending() or error})"

    def _ending(self) -> str:
        code = self.process.poll()
        if code is None:
            return ""
        if code < 0:
            try:
                return f"signal {signal.Signals(-code).name}"
            except ValueError:
                return f"signal {-code}"
        return f"exit code {code}"


class _Pool:
    """The idle sandboxes of this process, by memory limit (the one their RLIMIT_AS holds)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.idle: list[_Sandbox] = []

    def take(self, memory_bytes: int) -> _Sandbox:
        stale = []
        found = None
        with self.lock:
            while self.idle and found is None:
                sandbox = self.idle.pop()
                if sandbox.memory_bytes == memory_bytes and sandbox.alive():
                    found = sandbox
                else:
                    stale.append(sandbox)
        for sandbox in stale:
            sandbox.stop()
        return found or _Sandbox(memory_bytes)

    def give_back(self, sandbox: _Sandbox) -> None:
        if sandbox.runs < RUNS_PER_SANDBOX:
            with self.lock:
                if len(self.idle) < MAX_IDLE_SANDBOXES:
                    self.idle.append(sandbox)
                    return
        sandbox.stop()

    def stop_all(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        for sandbox in idle:
            sandbox.stop()

    def forget_after_fork(self) -> None:
        """In a forked child: the sandboxes are the parent's; drop our copies of their sockets."""
        self.lock = threading.Lock()
        for sandbox in self.idle:
            sandbox.channel.close()
        self.idle = []


def idle_sandbox_pids() -> list[int]:
    """The process ids of this process's idle sandboxes (for tests and diagnostics)."""
    with _pool.lock:
        return [sandbox.pid for sandbox in _pool.idle]


_pool = _Pool()
atexit.register(_pool.stop_all)
os.register_at_fork(after_in_child=_pool.forget_after_fork)
