"""Caps that keep one instance from holding a worker forever (issue 11, item 5).

What a diagram does with its data cannot all be known at deploy time
(engine.read.checks.hostile refuses what can): a loop through a service task
that never succeeds, a collection of a billion items, subprocesses nested
without end. These caps bound it while running; exceeding one fails the
instance with an incident naming the element and the cap, and the failure is
not retried by itself (the same input would reach the cap again). An
operator's retry carries on with a fresh budget.

Settings (environment variables, read when an instance is created or loaded, and
the iteration cap when a multi-instance activity starts and at deploy):
MAESTRO_MAX_STEPS_WITHOUT_WAIT, MAESTRO_MAX_ITERATIONS, MAESTRO_MAX_CALL_DEPTH.
"""
import os
from collections.abc import Sized

MAX_STEPS_WITHOUT_WAIT = "MAESTRO_MAX_STEPS_WITHOUT_WAIT"
MAX_ITERATIONS = "MAESTRO_MAX_ITERATIONS"
MAX_CALL_DEPTH = "MAESTRO_MAX_CALL_DEPTH"
DEFAULTS = {
    MAX_STEPS_WITHOUT_WAIT: 100_000,  # a 5,000-task process runs about 5,000
    MAX_ITERATIONS: 10_000,
    MAX_CALL_DEPTH: 50,
}


class LimitExceeded(Exception):
    """An instance went past one of the caps; the message names the element and the cap."""


class SettingError(ValueError):
    """A cap set in the environment is not a whole number of at least 1."""


def setting(name: str) -> int:
    """The cap `name` from the environment (a positive whole number), else its default."""
    text = os.environ.get(name, "").strip()
    if not text:
        return DEFAULTS[name]
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise SettingError(f"{name}={text!r} is not a whole number (default {DEFAULTS[name]})") from None
    if value < 1:
        raise SettingError(f"{name}={text!r} must be at least 1 (default {DEFAULTS[name]})")
    return value


def check_settings() -> None:
    """Raises SettingError for a cap set wrongly: at start, not when the first instance runs."""
    for name in DEFAULTS:
        setting(name)


def max_iterations() -> int:
    return setting(MAX_ITERATIONS)


def element_name(task) -> str:
    """The diagram element a task stands for, as an operator reads it: 'Name' (id)."""
    while task is not None and getattr(task.task_spec, "bpmn_id", None) is None:
        task = task.parent  # SpiffWorkflow's own tasks (a subprocess's Start, joins) stand for the one before
    return "the process start" if task is None else _label(task.task_spec)


def _label(spec):
    return f"'{spec.bpmn_name}' ({spec.bpmn_id})" if spec.bpmn_name else f"'{spec.bpmn_id}'"


def _holder(workflow):
    """The task of the call activity or subprocess running `workflow`."""
    return workflow.top_workflow.get_task_from_id(workflow.parent_task_id)


class StepBudget:
    """Tasks an instance may run before it waits again (a user task, a message, a timer).

    The budget is refilled whenever the instance waits: a long process that
    waits now and then never meets it; a loop that never waits does.
    """

    def __init__(self) -> None:
        self.limit = setting(MAX_STEPS_WITHOUT_WAIT)
        self.depth_limit = setting(MAX_CALL_DEPTH)
        self.spent = 0

    def refill(self) -> None:
        self.spent = 0

    def charge(self, task) -> None:
        """Counts one task about to run; raises LimitExceeded if it would go past a cap."""
        self.spent += 1
        if self.spent > self.limit:
            raise LimitExceeded(f"the instance ran {self.limit} steps without waiting ({MAX_STEPS_WITHOUT_WAIT}="
                                f"{self.limit}) and was stopped before {element_name(task)}: a loop that never "
                                "waits? Retry it to let it run another budget, or raise the cap")
        if task.workflow.depth > self.depth_limit:
            raise LimitExceeded(f"{element_name(_holder(task.workflow))} would run {task.workflow.depth} call "
                                f"activities or subprocesses deep, more than {MAX_CALL_DEPTH}={self.depth_limit} "
                                "allows")


def check_iterations(task, count: int) -> None:
    """Raises LimitExceeded before a multi-instance activity starts more iterations than allowed."""
    cap = max_iterations()
    if count > cap:
        iteration = task.workflow.spec.task_specs[task.task_spec.task_spec]  # it carries the element's name
        raise LimitExceeded(f"the multi-instance activity {_label(iteration)} would run {count} "
                            f"iterations, more than {MAX_ITERATIONS}={cap} allows")


class BoundedIterations:
    """Mixed into the multi-instance task specs: the number of iterations is checked before
    SpiffWorkflow creates them (a parallel one creates them all at once)."""

    def _update_hook(self, my_task):
        check_iterations(my_task, _planned_iterations(self, my_task))
        return super()._update_hook(my_task)


def _planned_iterations(spec, task) -> int:
    """How many iterations the activity is about to run: its collection's size, else its cardinality
    (0 when neither reads as one: SpiffWorkflow reports that itself). Read from the task before it,
    whose variables the activity is about to take over."""
    source = task.parent or task
    if spec.data_input is not None:
        items = spec.data_input.get(source) if spec.data_input.exists(source) else None
        return len(items) if isinstance(items, Sized) else 0
    if spec.cardinality is None:
        return 0
    count = task.workflow.script_engine.evaluate(source, spec.cardinality)
    return count if isinstance(count, int) else 0
