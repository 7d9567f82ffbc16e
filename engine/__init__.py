"""Maestro: a BPMN process engine on SpiffWorkflow, with compensation that follows the spec."""
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Unpack

from engine.read.loader import load
from engine.run.instance import Instance, InstanceError, StartOptions

from .handlers import BpmnError, Handlers, TaskContext, load_handler_module
from .problems import DeployError, Problem
from .sources import BpmnSources

if TYPE_CHECKING:  # imported on first use (below); named here so that type checkers see `engine.Maestro`
    from engine.durable.maestro import Maestro


def run(source: BpmnSources, handlers: Handlers, data: Mapping[str, Any] | None = None, process_id: str | None = None,
        force_executable: bool = False, **kwargs: Unpack[StartOptions]) -> Instance:
    """Starts an instance in memory and runs it to its end, its first wait or its first failure."""
    library = load(source, force_executable)
    return Instance.create(library, handlers, data, process_id, **kwargs).run()


def lint(paths: Iterable[str | os.PathLike[str]], handlers: Handlers | None = None,
         force_executable: bool = False) -> list[Problem]:
    """Every problem Maestro finds in the files (and the handlers, when given)."""
    from engine.read.lint import lint_files
    return lint_files(paths, handlers, force_executable)


def __getattr__(name: str) -> Any:
    # The durable engine is imported on first use: SQLAlchemy and Alembic cost every `import engine` otherwise.
    if name == "Maestro":
        from engine.durable import Maestro
        return Maestro
    raise AttributeError(f"module 'engine' has no attribute '{name}'")


__all__ = [
    "BpmnError", "DeployError", "Handlers", "Instance", "InstanceError", "Maestro", "Problem", "TaskContext",
    "lint", "load", "load_handler_module", "run",
]
