"""Maestro: a BPMN process engine on SpiffWorkflow, with compensation that follows the spec."""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from importlib import import_module
from typing import TYPE_CHECKING, Any, Unpack

# The wing `engine.run` is imported (its __init__ alone: nothing heavy) before `run` is defined below: a wing
# imported later would bind the name `engine.run` to itself, hiding the function.
import engine.run as _run_wing  # noqa: F401

from .handlers import BpmnError, Handlers, TaskContext, load_handler_module
from .problems import DeployError, Problem
from .sources import BpmnSources

if TYPE_CHECKING:  # imported on first use (see __getattr__); named here so that type checkers see them
    from engine.durable.maestro import Maestro
    from engine.read.loader import load
    from engine.run.instance import Instance, InstanceError, StartOptions


def run(source: BpmnSources, handlers: Handlers, data: Mapping[str, Any] | None = None, process_id: str | None = None,
        force_executable: bool = False, **kwargs: Unpack[StartOptions]) -> Instance:
    """Starts an instance in memory and runs it to its end, its first wait or its first failure."""
    from engine.read.loader import load
    from engine.run.instance import Instance
    library = load(source, force_executable)
    return Instance.create(library, handlers, data, process_id, **kwargs).run()


def lint(paths: Iterable[str | os.PathLike[str]], handlers: Handlers | None = None,
         force_executable: bool = False) -> list[Problem]:
    """Every problem Maestro finds in the files (and the handlers, when given)."""
    from engine.read.lint import lint_files
    return lint_files(paths, handlers, force_executable)


# Where the public names that cost an import of weight live. Every `engine.*` import runs this file first,
# so it imports none of them: `maestro instances` must not pay for SpiffWorkflow, nor `maestro lint` for SQLAlchemy.
_IMPORTED_ON_FIRST_USE = {
    "Maestro": "engine.durable.maestro",
    "load": "engine.read.loader",
    "Instance": "engine.run.instance",
    "StartOptions": "engine.run.instance",
    "InstanceError": "engine.run.instance_errors",
}


def __getattr__(name: str) -> Any:
    module = _IMPORTED_ON_FIRST_USE.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute '{name}'")
    value = getattr(import_module(module), name)
    globals()[name] = value  # asked once: later lookups find it here
    return value


__all__ = [
    "BpmnError", "DeployError", "Handlers", "Instance", "InstanceError", "Maestro", "Problem", "TaskContext",
    "lint", "load", "load_handler_module", "run",
]
