"""A running process instance: Maestro's step loop over a SpiffWorkflow workflow.

Maestro runs one ready task at a time (rather than SpiffWorkflow's
do_engine_steps, which runs a precomputed batch and so can run a task that an
error in the same batch has just cancelled), routes BPMN errors to their
innermost catcher and moves compensation plans on.
"""
import functools
import json
import traceback
import uuid
from collections.abc import Callable, Mapping
from copy import deepcopy
from typing import Any, Concatenate, Literal, ParamSpec, Protocol, Self, TypedDict, TypeVar, Unpack
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowDataException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.handlers import BpmnError, Handlers
from engine.run.spiff.task_ids import TaskIds, issuing, start_issuing, stop_issuing
from engine.sources import BpmnSources

from . import assignment, compensation, event_subprocesses, instance_limits
from .boundary_events import leave_subprocess
from .error_events import route_error
from .instance_errors import InstanceError
from .runtime import HandlerError, MaestroRuntime
from .serializer import dump_workflow, load_workflow
from .specs import maestro_info
from .spiff import (  # noqa: F401  (make SpiffWorkflow's logging and search for waiting tasks cheaper)
    deep_trees,  # noqa: F401  (walk deep task trees without recursion: long processes)
    live_tasks,
    log_extras,
    parallel_joins,
    touched,
    waiting_tasks,
)

FORMAT_VERSION = 1
FAILURES = "maestro_failures"  # how often the task failed: what retry policies count

Status = Literal["running", "waiting", "completed", "failed", "cancelled"]  # DESIGN.md, "Statuses"


class ProcessLibrary(Protocol):
    """What an instance is created from: parsed BPMN (engine.read.Library), typed here so that
    running does not depend on reading."""

    def main_process_id(self, process_id: str | None = None) -> str: ...

    def build(self, process_id: str) -> tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]: ...


class StartOptions(TypedDict, total=False):
    """The keyword arguments `Instance.start` and `engine.run` pass on to `Instance.create`."""
    instance_id: str | None
    business_key: str | None


class TaskDescription(TypedDict):
    """A task as `tasks()` and `waiting_tasks()` show it (the CLI, the web app and the JSON API print these)."""
    id: str
    bpmn_id: str
    name: str
    type: str
    state: str
    compensated: bool
    undo_of: str | None
    error: dict[str, str] | None
    form: dict[str, Any] | None


_Params = ParamSpec("_Params")
_Result = TypeVar("_Result")
_InstanceT = TypeVar("_InstanceT", bound="Instance")


def _numbering_tasks(method: Callable[Concatenate[_InstanceT, _Params], _Result]
                     ) -> Callable[Concatenate[_InstanceT, _Params], _Result]:
    """Tasks the method creates get the instance's numbered ids (see task_ids)."""
    @functools.wraps(method)
    def numbered(self: _InstanceT, *args: _Params.args, **kwargs: _Params.kwargs) -> _Result:
        token = start_issuing(self.task_ids)
        try:
            return method(self, *args, **kwargs)
        finally:
            stop_issuing(token)
    return numbered


class Instance:
    """One process instance in memory: run it, answer its waits, save it, restore it."""

    def __init__(self, workflow: BpmnWorkflow, handlers: Handlers, instance_id: str,
                 business_key: str | None = None, task_ids: TaskIds | None = None) -> None:
        self.workflow = workflow
        self.handlers = handlers
        self.id = instance_id
        self.business_key = business_key
        self.task_ids = task_ids or TaskIds.restore(None)
        # The failure an operator sees (task, bpmn_id, message, type, traceback, and business when not retried)
        self.error: dict[str, Any] | None = None
        self.cancelled = False
        self.latest_task: Task | None = None  # the task completed last: its data are the current variables
        self.budget = instance_limits.StepBudget()  # steps it may run before it waits again
        workflow.script_engine = MaestroRuntime(handlers, instance_id, business_key)

    # -- creating ----------------------------------------------------------

    @classmethod
    def create(cls, library: ProcessLibrary, handlers: Handlers, data: Mapping[str, Any] | None = None,
               process_id: str | None = None, instance_id: str | None = None, business_key: str | None = None) -> Self:
        """A new instance of the library's process (`process_id`, or its only top-level one), not yet run."""
        spec, subprocess_specs = library.build(library.main_process_id(process_id))
        return cls.from_specs(spec, subprocess_specs, handlers, data, instance_id, business_key)

    @classmethod
    def from_specs(cls, spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec], handlers: Handlers,
                   data: Mapping[str, Any] | None = None, instance_id: str | None = None,
                   business_key: str | None = None) -> Self:
        instance_id = instance_id or str(uuid.uuid4())
        task_ids = TaskIds.for_new_instance(instance_id)
        with issuing(task_ids):
            workflow = BpmnWorkflow(spec, subprocess_specs)
        workflow.task_tree.set_data(**deepcopy(data or {}))
        return cls(workflow, handlers, instance_id, business_key, task_ids)

    @classmethod
    def start(cls, sources: BpmnSources, handlers: Handlers, data: Mapping[str, Any] | None = None,
              process_id: str | None = None, **kwargs: Unpack[StartOptions]) -> Self:
        """Reads the BPMN, creates an instance and runs it (see `run`)."""
        from engine.read import load  # the one call from running back to reading: a convenience for callers with files
        instance = cls.create(load(sources), handlers, data, process_id, **kwargs)
        return instance.run()

    # -- state -------------------------------------------------------------

    @property
    def status(self) -> Status:
        if self.cancelled:
            return "cancelled"
        if self.error is not None:
            return "failed"
        if self.ended:
            return "completed"
        if self._ready_task() is None:
            return "waiting"
        return "running"

    @property
    def ended(self) -> bool:
        """Complete: the process reached its end and no undo it set off is still to run."""
        return self.workflow.completed and not compensation.running(self.workflow)

    @property
    def data(self) -> dict[str, Any]:
        """The process variables: the end event's once the process ended, else the latest completed task's.

        A cancelled workflow counts as completed but reached no end event (its own data stay empty), so a
        cancelled instance keeps the variables it had: an operator still needs its payment id.
        """
        if self.workflow.completed and not self.cancelled:
            return self.workflow.data
        if self.latest_task is None:
            self.latest_task = self._latest_completed()
        return self.latest_task.data if self.latest_task else self.workflow.task_tree.data

    def _latest_completed(self) -> Task | None:
        finished = [t for t in self._all_tasks() if t.state == TaskState.COMPLETED]
        return max(finished, key=lambda t: t.internal_data.get("maestro_seq", 0)) if finished else None

    def _all_tasks(self) -> list[Task]:
        return list(self.workflow.get_tasks())

    def tasks(self) -> list[TaskDescription]:
        """The BPMN tasks of the instance, in the order they ran (then the pending ones)."""
        visible = [t for t in self._all_tasks() if _is_visible(t)]
        visible.sort(key=lambda t: (t.internal_data.get("maestro_seq", float("inf")), t.last_state_change))
        return [describe_task(t) for t in visible]

    def waiting_tasks(self) -> list[TaskDescription]:
        """The user tasks, receive tasks, timers and message events the instance waits on."""
        return [describe_task(t) for t in self._all_tasks()
                if t.state in (TaskState.READY, TaskState.WAITING) and _is_visible(t)]

    # -- running -------------------------------------------------------------

    def run(self) -> Self:
        """Runs until the instance ends, waits for the outside world, or fails."""
        try:
            self.run_until()
        except Exception as error:
            self.fail_from_engine(error)
        return self

    def fail_from_engine(self, error: Exception) -> None:
        """A fault of the engine itself (not of a handler, which `_run_task` keeps) fails the
        instance like any technical failure: the operator sees it, nobody gets a traceback."""
        task = self.latest_task or self.workflow.task_tree
        self._fail(task, error, f"{type(error).__name__}: {error}")

    @_numbering_tasks
    def run_until(self, pause: Callable[[Task], bool] | None = None) -> bool:
        """Like run(), but stops after a task for which `pause(task)` is true; True if it stopped there."""
        if self.error is not None or self.cancelled:
            return False
        while True:
            if self._failed_assignment():  # a user task became ready outside a task's run (a message, a timer)
                return False
            task = self._ready_task()
            if task is None:
                if compensation.advance(self.workflow) or self._wake_finished_subprocesses() \
                        or event_subprocesses.disarm_finished_scopes(self.workflow):
                    continue
                self.workflow.refresh_timers()
                if self._ready_task() is None:
                    self.budget.refill()
                    return False
                continue
            if not self._within_budget(task):
                return False
            ran = self._run_task(task)
            if not ran:
                return False
            if pause is not None and pause(task):
                return True

    def _within_budget(self, task: Task) -> bool:
        """False, the instance failed, if running `task` would go past a cap (see instance_limits)."""
        if self.workflow.script_engine.replaying is not None:
            return True  # retracing steps it took within its budget before
        try:
            self.budget.charge(task)
        except instance_limits.LimitExceeded as error:
            self._fail(task, error, str(error), final=True)
            return False
        return True

    def _ready_task(self) -> Task | None:
        """The task to run next: in the deepest subworkflow with one ready (those started first among
        equals), else in the process itself; within a workflow an interrupting boundary event that has
        fired first (the activity it interrupts, a multi-instance one may have its next iteration ready,
        must not go on), else the first ready task in SpiffWorkflow's (depth-first) order, so that runs
        are repeatable. Found from the index of live tasks, not by walking the tree."""
        top = self.workflow
        for index in live_tasks.registry(top).in_run_order():
            task = _first_to_run(index)
            if task is not None:
                return task
        return compensation.pending_undo(top)

    @_numbering_tasks
    def _run_task(self, task: Task) -> bool:
        if isinstance(task.task_spec, BoundaryEvent):
            leave_subprocess(task)
        event_subprocesses.fire(task)  # a start event of an event subprocess that just fired
        try:
            task.run()
        except BpmnError as error:
            if route_error(task, error):
                _mark_interrupted(task, error)
                return True
            # final: not retried, the same input gives the same answer
            self._fail(task, error, f"uncaught BPMN error {error.code}: {error.message}", final=True)
            return False
        except Exception as error:  # any handler failure is kept for the operator, not raised
            if task.state != TaskState.ERROR:
                task._set_state(TaskState.ERROR)
            self._fail(task, error, _message_of(error), final=isinstance(error, instance_limits.LimitExceeded))
            return False
        if task.state == TaskState.COMPLETED:
            compensation.record_completion(task)
            self.latest_task = task
        return not self._failed_assignment()

    def _failed_assignment(self) -> bool:
        """Fails a user task that became ready with an assignment that cannot be worked out (an
        expression that failed, a date that is none): True if there was one."""
        failure = assignment.take_failure(self.workflow)
        if failure is None:
            return False
        task, message = failure
        task._set_state(TaskState.ERROR)
        self._fail(task, assignment.AssignmentError(message), message)
        return True

    def _fail(self, task: Task, error: BaseException, message: str, final: bool = False) -> None:
        """Keeps the failure for the operator; a `final` one (a business error, a cap hit) is not retried by itself."""
        original = getattr(error, "exception", None) or error
        self.error = {
            "task": str(task.id),
            "bpmn_id": _element_of(task),
            "name": _name_of(task),  # what lists and pages call the element that failed
            "message": message,
            "type": type(original).__name__,
            "traceback": "".join(traceback.format_exception(error)),
        }
        task.internal_data["maestro_error"] = {k: self.error[k] for k in ("message", "type")}
        task.internal_data[FAILURES] = task.internal_data.get(FAILURES, 0) + 1
        if task.state == TaskState.READY:
            touched.mark(task)  # stopped before it ran (a cap): no change of state tells of its error
        if final:
            self.error["business"] = True  # what the retry policy skips: retrying would hit the cap again

    def _wake_finished_subprocesses(self) -> bool:
        woke = False
        for task_id, subprocess in list(self.workflow.subprocesses.items()):
            parent = self._task_or_none(task_id)
            if subprocess.completed and parent is not None and parent.state == TaskState.STARTED:
                parent.task_spec._update(parent)
                woke = woke or parent.state == TaskState.READY
        return woke

    def _task_or_none(self, task_id: UUID) -> Task | None:
        try:
            return self.workflow.get_task_from_id(task_id)
        except TaskNotFoundException:  # the task that ran the subprocess was dropped (interrupted)
            return None

    # -- operator actions ------------------------------------------------------

    def retry(self, data: Mapping[str, Any] | None = None) -> Self:
        """Runs the failed task again (its handler sees attempt + 1) and continues.

        `data`, if given, is merged into the failed task's variables first: an
        operator's correction.
        """
        self.prepare_retry(data)
        return self.run()

    def prepare_retry(self, data: Mapping[str, Any] | None = None) -> None:
        """Makes the failed task ready to run again (see retry)."""
        if self.error is None:
            raise InstanceError("the instance has not failed: nothing to retry")
        task = self.workflow.get_task_from_id(UUID(self.error["task"]))
        task.data.update(deepcopy(data or {}))
        self.error = None
        task.internal_data.pop("maestro_error", None)
        task._set_state(TaskState.READY)
        if isinstance(task.task_spec, assignment.MaestroUserTask):
            assignment.assign(task)  # again, with the variables as they are now
        self.budget.refill()  # an operator's retry lets a capped instance run another budget

    def complete_task(self, reference: str, data: Mapping[str, Any] | None = None) -> Self:
        """Completes a waiting user task, or triggers a receive task without a message (by task id
        or BPMN element id), then continues."""
        task = self._find_waiting_task(reference)
        task.data.update(deepcopy(data or {}))
        if self._run_task(task):
            self.run()
        return self

    def failed_task(self) -> Task | None:
        """The task whose failure failed the instance, or None when it has not failed."""
        return self.workflow.get_task_from_id(UUID(self.error["task"])) if self.error else None

    def _find_waiting_task(self, reference: str) -> Task:
        for task in self._all_tasks():
            named = reference in (str(task.id), task.task_spec.bpmn_id)
            if task.state == TaskState.READY and task.task_spec.manual and named:
                return task
        raise InstanceError(f"no user task or receive task '{reference}' is waiting to be completed")

    @_numbering_tasks
    def cancel(self) -> Self:
        self.workflow.cancel()
        self.cancelled = True
        return self

    # -- saving ----------------------------------------------------------------

    def serialize(self) -> str:
        """The instance as JSON text: its state, not its process spec (see `restore`)."""
        return json.dumps({
            "format": FORMAT_VERSION,
            "id": self.id,
            "process": self.workflow.spec.name,
            "business_key": self.business_key,
            "error": self.error,
            "cancelled": self.cancelled,
            "task_ids": self.task_ids.saved(),
            "workflow": dump_workflow(self.workflow),
        })

    @classmethod
    def restore(cls, text: str | bytes, sources: BpmnSources, handlers: Handlers) -> Self:
        """Loads a saved instance; `sources` are the BPMN files it was started from."""
        saved = json.loads(text)
        if saved.get("format") != FORMAT_VERSION:
            raise InstanceError(f"saved instance has format {saved.get('format')!r}; "
                                f"this Maestro reads {FORMAT_VERSION}")
        from engine.read import load  # as in start()
        spec, subprocess_specs = load(sources).build(saved["process"])
        return cls.from_state(saved, spec, subprocess_specs, handlers)

    @classmethod
    def from_state(cls, saved: Mapping[str, Any], spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec],
                   handlers: Handlers) -> Self:
        """An instance from its saved state (the parsed JSON of `serialize`) and the specs it runs."""
        workflow = load_workflow(saved["workflow"], spec, subprocess_specs)
        task_ids = TaskIds.restore(saved.get("task_ids"))
        instance = cls(workflow, handlers, saved["id"], saved.get("business_key"), task_ids)
        instance.error = saved.get("error")
        instance.cancelled = saved.get("cancelled", False)
        return instance


def _first_to_run(index: live_tasks.LiveTasks) -> Task | None:
    first = index.first_ready()
    if first is None:
        return None
    interrupting = index.ready_interrupting()
    if len(interrupting) == 1:
        return interrupting[0]
    if interrupting:  # several at once (rare): the first in the workflow's task table, as ever
        return next(task for task in index.workflow.tasks.values() if task.id in index.interrupting)
    return first


def _mark_interrupted(task: Task, error: BpmnError) -> None:
    """A task whose BPMN error was caught did not complete: it is cancelled, not failed."""
    touched.mark(task)
    task._set_state(TaskState.CANCELLED)
    task._drop_children()
    task.internal_data["maestro_error"] = {"message": f"{error.code}: {error.message} (caught)", "type": "BpmnError"}


def _message_of(error: Exception) -> str:
    """The message an operator reads: Maestro's own errors as they are, others with their type."""
    original = getattr(error, "exception", None)
    if original is not None and original is not error:
        return f"{type(original).__name__}: {original}"
    if isinstance(error, WorkflowDataException):
        missing = _declared_data_message(error)
        if missing is not None:
            return missing
    if isinstance(error, SpiffWorkflowException):
        return str(error).removesuffix(". ")  # SpiffWorkflow joins its (often no) notes after ". "
    if isinstance(error, (HandlerError, instance_limits.LimitExceeded)):
        return str(error)
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _declared_data_message(error: WorkflowDataException) -> str | None:
    """What is wrong with the variable an activity's declared data input or output names (missing, or no
    collection for a multi-instance activity), in the diagram's words; None when the error names neither."""
    looping = isinstance(getattr(error.task, "task_spec", None), MultiInstanceTask)
    if looping and error.data_input is not None:
        spec = error.task.task_spec
        name = spec.bpmn_name or spec.bpmn_id
        if str(error).startswith("Missing data input"):
            return f"the multi-instance activity '{name}' takes its items from the variable " \
                   f"'{error.data_input.bpmn_id}', which is not set"
        return f"the multi-instance activity '{name}' takes its items from the variable " \
               f"'{error.data_input.bpmn_id}', which is not a list or a map: {error}"
    declared = error.data_input or error.data_output
    if declared:
        direction = "input" if error.data_input else "output"
        return (f"the activity declares the data {direction} '{declared.bpmn_name or declared.bpmn_id}' "
                f"(ioSpecification), but no variable '{declared.bpmn_id}' is set")
    return None


def _element_task(task: Task | None) -> Task | None:
    """The task of the diagram element a task stands for: an internal one (the split choosing an
    activity's conditional flows) stands for the element before it."""
    while task is not None and getattr(task.task_spec, "bpmn_id", None) is None:
        task = task.parent
    return task


def _element_of(task: Task | None) -> str | None:
    """The id of the diagram element a task stands for."""
    found = _element_task(task)
    return found.task_spec.bpmn_id if found is not None else None


def _name_of(task: Task | None) -> str | None:
    """The name of the diagram element a task stands for (its id when it has no name)."""
    found = _element_task(task)
    return (found.task_spec.bpmn_name or found.task_spec.bpmn_id) if found is not None else None


def _is_visible(task: Task) -> bool:
    """Tasks of diagram elements (SpiffWorkflow's own Start, joins and splits have no bpmn_id)."""
    return getattr(task.task_spec, "bpmn_id", None) is not None


def describe_task(task: Task) -> TaskDescription:
    spec = task.task_spec
    return {
        "id": str(task.id),
        "bpmn_id": spec.bpmn_id,
        "name": spec.bpmn_name or spec.bpmn_id,
        "type": element_type(spec),
        "state": TaskState.get_name(task.state),
        "compensated": compensation.is_compensated(task),
        "undo_of": task.internal_data.get(compensation.UNDO_OF),
        "error": task.internal_data.get("maestro_error"),
        "form": maestro_info(spec).get("form"),
    }


def element_type(spec: TaskSpec) -> str:
    """The BPMN element the task runs (serviceTask, intermediateThrowEvent, ...)."""
    return maestro_info(spec).get("element") or type(spec).__name__
