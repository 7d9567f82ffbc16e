"""How much a script task may do: the limits it runs under, their settings (MAESTRO_SCRIPT_*)
and the messages that say which one a script exceeded, and the fixed caps on what one script
or one operation may produce. No sandbox code here, so both sides of the sandbox process
(process_pool, sandbox_process) can share it."""
from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import ScriptError

MB = 1024 * 1024
SECONDS_SETTING = "MAESTRO_SCRIPT_SECONDS"
MEMORY_SETTING = "MAESTRO_SCRIPT_MEMORY_MB"
RESULT_SETTING = "MAESTRO_SCRIPT_RESULT_MB"

MAX_SCRIPT_LENGTH = 200_000  # characters
MAX_STEPS = 1_000_000  # statements, calls and comprehension items before "script ran too long"
MAX_SECONDS = 10.0  # wall clock (default of MAESTRO_SCRIPT_SECONDS), checked every CHECK_EVERY steps
MAX_MEMORY_GROWTH = 512 * MB  # bytes a run may allocate (default of MAESTRO_SCRIPT_MEMORY_MB)
MAX_RESULT_BYTES = 16 * MB  # the variables a script leaves, as JSON (default of MAESTRO_SCRIPT_RESULT_MB)
CHECK_EVERY = 8
MAX_SIZE = 1_000_000  # items or characters one operation may produce
MAX_INT_BITS = 100_000  # largest integer an operation may produce (~30,000 digits)
MAX_RESULT_NODES = 2_000_000  # values inspected when checking the result is JSON
MAX_RESULT_DEPTH = 500
MAX_FORMAT_NUMBER = 1000  # widths/precisions in f-string format specs


@dataclass(frozen=True)
class ScriptLimits:
    seconds: float  # wall clock per run
    memory_bytes: int  # address space the sandbox process may grow by
    result_bytes: int  # the variables a script leaves, measured roughly as stored JSON

    @classmethod
    def from_environment(cls, seconds: float, memory_bytes: int, result_bytes: int) -> ScriptLimits:
        """The settings in the environment, else the defaults given; ValueError names a bad one."""
        return cls(seconds=_positive(SECONDS_SETTING, seconds, 1),
                   memory_bytes=int(_positive(MEMORY_SETTING, memory_bytes, MB)),
                   result_bytes=int(_positive(RESULT_SETTING, result_bytes, MB)))

    def too_long(self) -> str:
        return f"script ran too long: more than {self.seconds:g} s ({SECONDS_SETTING})"

    def too_much_memory(self) -> str:
        return f"script used too much memory: more than {_mb(self.memory_bytes)} MB ({MEMORY_SETTING})"

    def too_large(self, name: str) -> str:
        return (f"variable '{name}' makes the script's variables larger than "
                f"{_mb(self.result_bytes)} MB ({RESULT_SETTING})")


def _positive(setting: str, default: float, unit: int) -> float:
    """The setting's value in base units (its text counts `unit`s), else default."""
    raw = os.environ.get(setting, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{setting} must be a positive number, not {raw!r}")
    return value * unit


def _mb(size: int) -> str:
    return f"{size / MB:g}"


def current_limits() -> ScriptLimits:
    """The limits scripts run under now: MAESTRO_SCRIPT_* settings, else this module's defaults."""
    try:
        return ScriptLimits.from_environment(MAX_SECONDS, MAX_MEMORY_GROWTH, MAX_RESULT_BYTES)
    except ValueError as error:
        raise ScriptError(str(error)) from None
