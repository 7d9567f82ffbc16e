"""The handler API: Python functions bound to service tasks by topic.

A handler module is any Python file that defines a `Handlers` instance.
"""
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

# A handler takes the task's context and returns the variables to merge into the process (a dict of
# JSON values), or None for none; anything else fails the task (engine.run.variable_limits).
TaskHandler = Callable[["TaskContext"], dict[str, Any] | None]
# The decorators hand back the function they bind, unchanged: its own signature stays visible.
HandlerT = TypeVar("HandlerT", bound=TaskHandler)


class BpmnError(Exception):
    """A business error: routed to a matching BPMN error event, not retried.

    `variables` are set where the error is caught (the boundary event's path or
    the error event subprocess), as Camunda's `BpmnError(code, message,
    variables)` sets them on the execution before the error propagates: a
    handler can report what it found out and fail in one call.
    """

    def __init__(self, code: str, message: str | None = None, variables: dict[str, Any] | None = None) -> None:
        super().__init__(message or code)
        self.code: str = code
        self.message: str = message or code
        self.variables: dict[str, Any] = {} if variables is None else variables


@dataclass
class Binding:
    topic: str
    function: TaskHandler
    kind: str  # "task" or "undo"
    timeout: float | None = None  # seconds the handler may run (engine.run.handler_limits)

    @property
    def location(self) -> str:
        """file:line of the function, for messages that point at the code."""
        try:
            source = inspect.getsourcefile(self.function)
            line = inspect.getsourcelines(self.function)[1]
            return f"{source}:{line}"
        except (TypeError, OSError):
            return getattr(self.function, "__qualname__", repr(self.function))


@dataclass
class TaskContext:
    """What a handler sees of the task it runs."""
    data: dict[str, Any]
    instance_id: str
    business_key: str | None
    task_id: str
    task_name: str
    attempt: int = 1
    idempotency_key: str = ""
    topic: str = ""


@dataclass
class Handlers:
    """A registry of task handlers and undo handlers, keyed by topic."""
    tasks: dict[str, Binding] = field(default_factory=dict)
    undos: dict[str, Binding] = field(default_factory=dict)
    # A topic bound twice is kept, not raised, so that lint can report it
    # with both places instead of failing on import: (the binding kept, the later one).
    duplicates: list[tuple[Binding, Binding]] = field(default_factory=list)

    def task(self, topic: str, timeout: float | None = None) -> Callable[[HandlerT], HandlerT]:
        """Binds the decorated function to the service tasks of `topic`; `timeout` (seconds) limits
        how long one call may run before it counts as a failed try."""
        return self._binder(topic, "task", self.tasks, timeout)

    def undo(self, topic: str, timeout: float | None = None) -> Callable[[HandlerT], HandlerT]:
        """Binds the decorated function as the undo of the activity bound to `topic`, for its
        compensation activity when that names no topic of its own."""
        return self._binder(topic, "undo", self.undos, timeout)

    def _binder(self, topic: str, kind: str, table: dict[str, Binding],
                timeout: float | None) -> Callable[[HandlerT], HandlerT]:
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                    or not 0 < timeout < float("inf")):
            raise ValueError(f"timeout of the {kind} handler for topic '{topic}' must be a number of seconds "
                             f"above 0, not {timeout!r}")

        def bind(function: HandlerT) -> HandlerT:
            binding = Binding(topic, function, kind, timeout)
            if topic in table:
                self.duplicates.append((table[topic], binding))
            else:
                table[topic] = binding
            return function
        return bind

    def merge(self, other: "Handlers") -> "Handlers":
        """Adds another module's bindings; a topic bound in both is a duplicate."""
        for name in ("tasks", "undos"):
            mine, theirs = getattr(self, name), getattr(other, name)
            for topic, binding in theirs.items():
                if topic in mine:
                    self.duplicates.append((mine[topic], binding))
                else:
                    mine[topic] = binding
        self.duplicates.extend(other.duplicates)
        return self

    def task_for(self, topic: str) -> TaskHandler | None:
        binding = self.tasks.get(topic)
        return binding.function if binding else None

    def undo_for(self, topic: str) -> TaskHandler | None:
        binding = self.undos.get(topic)
        return binding.function if binding else None

    def timeout_for(self, topic: str, function: TaskHandler) -> float | None:
        """The time limit the binding of `function` to `topic` sets (task or undo), or None."""
        for binding in (self.tasks.get(topic), self.undos.get(topic)):
            if binding is not None and binding.function is function:
                return binding.timeout
        return None


class HandlerModuleError(Exception):
    """A handler file that cannot be used: missing, broken (with its file:line) or defining no Handlers."""


def load_handler_module(path: str | os.PathLike[str]) -> Handlers:
    """Imports a handler file and returns the `Handlers` it defines (merged if several)."""
    path = Path(path)
    if not path.is_file():
        raise HandlerModuleError(f"{path}: no such handler file")
    module_name = f"maestro_handlers_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    # spec is None for a file importlib takes for no module (no .py suffix): module_from_spec raises then.
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except Exception as exc:  # the user's module is broken: say where, not a traceback
        line = _error_line(exc, path)
        raise HandlerModuleError(f"{path}:{line}: cannot load handler module: {type(exc).__name__}: {exc}") from exc
    found = [value for value in vars(module).values() if isinstance(value, Handlers)]
    if not found:
        raise HandlerModuleError(f"{path}: defines no Handlers instance (expected e.g. `handlers = Handlers()`)")
    merged = Handlers()
    for handlers in found:
        merged.merge(handlers)
    return merged


def _error_line(exc: BaseException, path: Path) -> int:
    if isinstance(exc, SyntaxError) and exc.lineno:
        return exc.lineno
    tb = exc.__traceback__
    line = 1
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename) == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
