"""The limits a script task runs under: their settings (MAESTRO_SCRIPT_*), and the messages
that say which one a script exceeded. No sandbox code here, so both sides of the sandbox
process (engine.sandbox.script_process, engine.sandbox.script_sandbox) can share it."""
from __future__ import annotations

import os
from dataclasses import dataclass

MB = 1024 * 1024
SECONDS_SETTING = "MAESTRO_SCRIPT_SECONDS"
MEMORY_SETTING = "MAESTRO_SCRIPT_MEMORY_MB"
RESULT_SETTING = "MAESTRO_SCRIPT_RESULT_MB"


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
