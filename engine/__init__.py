"""Maestro: a BPMN process engine on SpiffWorkflow, with compensation that follows the spec."""
from engine.read.loader import load
from engine.run.instance import Instance, InstanceError

from .handlers import BpmnError, Handlers, TaskContext, load_handler_module
from .problems import DeployError, Problem


def run(source, handlers, data=None, process_id=None, force_executable=False, **kwargs):
    """Starts an instance in memory and runs it to its end, its first wait or its first failure."""
    library = load(source, force_executable)
    return Instance.create(library, handlers, data, process_id, **kwargs).run()


def lint(paths, handlers=None, force_executable=False):
    """Every problem Maestro finds in the files (and the handlers, when given)."""
    from engine.read.lint import lint_files
    return lint_files(paths, handlers, force_executable)


def __getattr__(name):
    # The durable engine is imported on first use: SQLAlchemy and Alembic cost every `import engine` otherwise.
    if name == "Maestro":
        from engine.durable import Maestro
        return Maestro
    raise AttributeError(f"module 'engine' has no attribute '{name}'")


__all__ = [
    "BpmnError", "DeployError", "Handlers", "Instance", "InstanceError", "Maestro", "Problem", "TaskContext",
    "lint", "load", "load_handler_module", "run",
]
