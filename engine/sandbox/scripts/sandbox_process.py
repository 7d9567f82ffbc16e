"""The script sandbox process (started by process_pool): it limits itself with OS
limits, then runs one script per request until the worker closes the connection.

Memory: RLIMIT_AS, the address space it has when ready plus the memory limit, set once; a
run that comes near it or leaves the process larger than it started asks to be replaced, so
the next script meets the same limit. Time: RLIMIT_CPU is raised to allow each run its seconds
(and a margin); the worker's wall-clock deadline comes first, this one ends a sandbox whose
worker is gone."""
from __future__ import annotations

import logging
import math
import os
import resource
import signal
import socket

from . import wire
from .compiling import compile_script
from .errors import ScriptError
from .limits import MB, ScriptLimits

RETIRE_AFTER_GROWTH = 16 * MB  # address space a run may leave behind before the sandbox is replaced
CPU_MARGIN_SECONDS = 2
MAX_PRINTED_LINES = 100


def serve(memory_bytes: int) -> None:
    channel = socket.socket(fileno=os.dup(0))
    _detach_standard_streams()
    # Ctrl-C and a service manager's SIGTERM are for the worker: a script it is waiting for
    # must not fail because of them; the worker ends us (or we end when it has gone)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    start_size = _address_space()
    if start_size is not None:
        limit = start_size + memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash must not write a core file
    printed = _collect_prints()
    try:
        _serve_requests(channel, start_size, printed)
    except OSError:  # the worker has gone: nobody is left to tell
        pass


def _serve_requests(channel, start_size, printed):
    wire.send_frame(channel, b"ready")
    while True:
        request = wire.recv_frame(channel)
        if request is None:  # the worker closed the connection (or is gone)
            return
        printed.clear()
        reply, out_of_memory = _serve_one(request)
        grown = start_size is not None and _address_space() > start_size + RETIRE_AFTER_GROWTH
        retire = out_of_memory or grown
        try:
            payload = wire.encode_reply((*reply, printed[:MAX_PRINTED_LINES], retire))
        except MemoryError:
            payload = wire.encode_reply((None, _memory_message(request), None, [], True))
        wire.send_frame(channel, payload)


def _serve_one(request):
    """((result, message, line), out of memory)."""
    limits = None
    try:
        source, variables, plain_limits = wire.decode_request(request)
        limits = ScriptLimits(*plain_limits)
        _allow_cpu_seconds(limits.seconds)
        result = compile_script(source).run_in_process(variables, limits)
        return (result, None, None), False
    except ScriptError as error:
        out_of_memory = limits is not None and error.message == limits.too_much_memory()
        return (None, error.message, error.line), out_of_memory
    except MemoryError:  # reading the variables, or compiling
        return (None, _memory_message(request, limits), None), True
    except Exception as error:  # a bug of ours: fail the task, replace the sandbox
        return (None, f"the script sandbox failed: {type(error).__name__}: {error}", None), True


def _memory_message(request, limits=None):
    if limits is not None:
        return limits.too_much_memory()
    return f"script used too much memory: its variables ({len(request)} bytes) do not fit"


def _allow_cpu_seconds(seconds):
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + seconds) + CPU_MARGIN_SECONDS
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _address_space():
    """This process's virtual memory size in bytes (what RLIMIT_AS limits), None if unknown.
    Read from one open /proc/self/statm (pread regenerates it): opening it costs ~50 µs."""
    global _statm
    try:
        if _statm is None:
            _statm = os.open("/proc/self/statm", os.O_RDONLY)
        pages = int(os.pread(_statm, 128, 0).split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


_statm = None


def _detach_standard_streams():
    """Nothing but the protocol uses the socket: stdin and stdout become /dev/null."""
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)


class _Lines(logging.Handler):
    def __init__(self, lines):
        super().__init__(logging.DEBUG)
        self.lines = lines

    def emit(self, record):
        if len(self.lines) < MAX_PRINTED_LINES:
            self.lines.append(record.getMessage())


def _collect_prints():
    """What scripts print (namespace logs it): sent back for the worker to log."""
    lines = []
    log = logging.getLogger("maestro.scripts")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    log.addHandler(_Lines(lines))
    return lines
