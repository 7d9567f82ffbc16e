"""Running a compiled script in this process: its variables copied in (so a failed script
leaves the caller's data untouched), a step counter and the wall clock checked as it runs, and
the variables it leaves checked to be JSON of a bounded size.

CompiledScript.run() hands the script to a sandbox process (process_pool), where the time and
memory limits hold even against work done in C; run_in_process() is what that process calls."""
from __future__ import annotations

import time
from collections.abc import Mapping

from .errors import ScriptError, script_line
from .limits import CHECK_EVERY, MAX_RESULT_DEPTH, MAX_RESULT_NODES, MAX_STEPS, ScriptLimits, current_limits
from .namespace import GUARDS


class _Abort(BaseException):
    """Raised when a limit is hit. Not an Exception, and scripts have no name that matches it."""

    def __init__(self, message, line):
        super().__init__(message)
        self.message = message
        self.line = line


class _Steps:
    """Per-run step counter behind `_maestro_tick_`; once a limit is hit every later step
    raises again, so no script code can get past it. Memory is not checked here: the sandbox
    process's address-space limit holds it, also inside C functions that never tick."""

    __slots__ = ("count", "deadline", "limits", "stopped")

    def __init__(self, limits):
        self.count = 0
        self.deadline = time.monotonic() + limits.seconds
        self.limits = limits
        self.stopped = None

    def tick(self):
        self.count += 1
        if self.stopped is not None:
            raise _Abort(self.stopped, None)
        if self.count > MAX_STEPS:
            self.stop("script ran too long")
        if not self.count % CHECK_EVERY and time.monotonic() > self.deadline:
            self.stop(self.limits.too_long())
        return True

    def stop(self, reason):
        self.stopped = reason
        raise _Abort(reason, None)


def _copy_in(value, foreign, memo):
    """Copy dicts/lists/tuples so a failed script leaves the caller's data untouched;
    other objects are passed as they are and remembered as allowed in the result."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    key = id(value)
    if key in memo:
        return memo[key]
    if isinstance(value, dict):
        clone = memo[key] = {}
        for k, v in value.items():
            clone[k] = _copy_in(v, foreign, memo)
        return clone
    if isinstance(value, list):
        clone = memo[key] = []
        clone.extend(_copy_in(v, foreign, memo) for v in value)
        return clone
    if isinstance(value, tuple):
        clone = memo[key] = tuple(_copy_in(v, foreign, memo) for v in value)
        return clone
    foreign.add(key)
    return value


class _TooLarge(Exception):
    """A result too big to check (nodes, depth, cycles), or with in_bytes, too big to keep."""

    def __init__(self, in_bytes=False):
        super().__init__()
        self.in_bytes = in_bytes


def _is_json(value, foreign, budget):
    """True if value is JSON (or data that came in as it is); False to drop it.
    budget is [values left to inspect, bytes left]: the bytes are counted roughly as JSON
    text, each time a shared value occurs, as storing the variables will write it."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        budget[0] -= 1
        if budget[0] < 0 or depth > MAX_RESULT_DEPTH:
            raise _TooLarge
        if isinstance(item, str):
            budget[1] -= len(item) + 3
        elif isinstance(item, int):  # bool too
            budget[1] -= item.bit_length() // 3 + 2
        elif item is None or isinstance(item, float) or id(item) in foreign:
            budget[1] -= 8
        elif isinstance(item, dict):
            budget[1] -= 2 + 12 * len(item)  # punctuation, and keys that are not text
            for k, v in item.items():
                if not (k is None or isinstance(k, (str, int, float, bool))):
                    return False
                if isinstance(k, str):
                    budget[1] -= len(k)
                stack.append((v, depth + 1))
        elif isinstance(item, (list, tuple)):
            budget[1] -= 2 + len(item)
            stack.extend((v, depth + 1) for v in item)
        else:
            return False
        if budget[1] < 0:
            raise _TooLarge(in_bytes=True)
    return True


class CompiledScript:
    """A checked, restricted script; run() it with a dict of variables."""

    def __init__(self, source, code):
        self.source = source
        self._code = code

    def __repr__(self):
        first = self.source.strip().splitlines()[0] if self.source.strip() else ""
        return f"CompiledScript({first[:40]!r})"

    def run(self, variables: Mapping | None = None) -> dict:
        """The variables after running the script in a sandbox process under current_limits()."""
        from .process_pool import run_in_sandbox  # imports this module: imported when first used
        return run_in_sandbox(self, _checked(variables), current_limits())

    def run_in_process(self, variables: Mapping | None = None,
                       limits: ScriptLimits | None = None) -> dict:
        """The variables after running the script here: the sandbox process's part of run().
        Its time limit holds only while script code runs, and memory is not limited here."""
        variables = _checked(variables)
        limits = limits or current_limits()
        foreign = set()
        try:
            memo = {}
            data = {name: _copy_in(value, foreign, memo) for name, value in variables.items()}
        except RecursionError:
            raise ScriptError("variables are nested too deeply") from None
        namespace = {name: value for name, value in data.items() if not name.startswith("_")}
        namespace.update(GUARDS)
        namespace["_maestro_tick_"] = _Steps(limits).tick
        try:
            exec(self._code, namespace)
        except _Abort as abort:
            raise ScriptError(abort.message, abort.line or script_line(abort)) from None
        except ScriptError as error:
            raise ScriptError(error.message, error.line or script_line(error)) from None
        except RecursionError as error:
            raise ScriptError("script calls nest too deeply (recursion)",
                              script_line(error)) from None
        except MemoryError as error:
            raise ScriptError(limits.too_much_memory(), script_line(error)) from None
        except Exception as error:
            raise ScriptError(f"{type(error).__name__}: {error}", script_line(error)) from None
        return self._result(namespace, data, foreign, limits)

    @staticmethod
    def _result(namespace, data, foreign, limits):
        result = {}
        budget = [MAX_RESULT_NODES, limits.result_bytes]
        for name, value in namespace.items():
            if name.startswith("_"):
                continue
            bytes_left = budget[1]
            try:
                keep = _is_json(value, foreign, budget)
            except _TooLarge as too_large:
                if too_large.in_bytes:
                    raise ScriptError(limits.too_large(name)) from None
                raise ScriptError(f"variable '{name}' is too large, too deeply nested "
                                  "or refers to itself") from None
            if keep:
                result[name] = value
            else:  # dropped: it will not be stored
                budget[1] = bytes_left
        for name, value in data.items():  # invisible to scripts: carried through unchanged
            if name.startswith("_"):
                result[name] = value
        return result


def _checked(variables):
    if variables is None:
        return {}
    if not isinstance(variables, Mapping):
        raise ScriptError("variables must be a dict")
    return variables
