"""Moving a token: cancel an active activity of an instance and start another element of the same scope.

This is Camunda 7's process instance modification (cancel the activity instance, then
startBeforeActivity): the target starts as if a token had just arrived before it. It takes the
cancelled activity's variables, gets its boundary events attached, a user task waits, a service
task runs. A target that ran before runs again as a new activity: the earlier run stays in the
history (SpiffWorkflow's reset would take it and everything after it out of the tree, and turn the
variables back to what they were then).
"""
from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from .instance import Instance, element_type
from .instance_errors import InstanceError
from .spiff import touched
from .spiff.task_ids import issuing

ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
REASON_LENGTH = 500  # what an operator writes for the record: a sentence, not an essay


class MoveRefused(InstanceError):
    """The move cannot be made: `reasons` say why, each on its own."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass
class Move:
    """A move made in memory: the activity cancelled, the task started, what may go wrong after."""
    cancelled: Task
    started: Task
    warnings: list[str] = field(default_factory=list)


def checked_reason(reason: object) -> str:
    """The reason, stripped; MoveRefused when there is none or it is too long."""
    if not isinstance(reason, str) or not reason.strip():
        raise MoveRefused(["a reason is required: say why the token moves (it is kept in the history)"])
    if len(reason.strip()) > REASON_LENGTH:
        raise MoveRefused([f"the reason is {len(reason.strip())} characters long; at most {REASON_LENGTH}"])
    return reason.strip()


def active_activities(instance: Instance) -> list[Task]:
    """The tasks a token can be moved off: diagram activities and events waiting, ready, running or
    failed (boundary events go with their activity)."""
    return [task for task in instance.workflow.get_tasks(state=ACTIVE)
            if getattr(task.task_spec, "bpmn_id", None) is not None
            and not isinstance(task.task_spec, BoundaryEvent)]


def move_token(instance: Instance, from_task: str, to_element: str) -> Move:
    """Cancels the active activity `from_task` (task id or element id) and starts `to_element` (an
    element id of the same scope) before it; the instance is ready to run on. MoveRefused says why not."""
    if instance.cancelled or instance.ended:
        raise MoveRefused([f"the instance is {'cancelled' if instance.cancelled else 'completed'}: no token to move"])
    active = _active_task(instance, from_task)
    target = _target_spec(instance, active, to_element)
    warnings = _joins_left_waiting(active.task_spec, target)
    with issuing(instance.task_ids):
        _cancel_activity(active)
        started = _start_before(active, target)
    if instance.error is not None and not _still_failed(instance):
        instance.error = None  # moving off the failed task (or the subprocess holding it) answers it
    elif instance.error is not None:
        warnings.append("the instance still has a failed task; retry it or move its token too")
    instance.latest_task = None  # found again in the tree: the task it named may have left it
    instance.budget.refill()
    return Move(active, started, warnings)


def _still_failed(instance: Instance) -> bool:
    """Whether the task that failed the instance is still in the tree, failed."""
    try:
        failed = instance.failed_task()
    except TaskNotFoundException:  # it left the tree with the subprocess that was cancelled
        return False
    return failed is not None and failed.state == TaskState.ERROR


def _active_task(instance: Instance, reference: str) -> Task:
    active = active_activities(instance)
    found = [task for task in active if reference in (str(task.id), task.task_spec.bpmn_id)]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise MoveRefused([f"'{reference}' is active {len(found)} times: name the task by its id"])
    named = ", ".join(sorted({element_label(task.task_spec) for task in active})) or "none"
    raise MoveRefused([f"no active activity '{reference}' (active: {named})"])


def _target_spec(instance: Instance, active: Task, element: str) -> TaskSpec:
    scope = active.workflow.spec
    spec = _by_element(scope, element)
    if spec is None:
        top = instance.workflow
        elsewhere = [process for process in (top.spec, *top.subprocess_specs.values())
                     if process is not scope and _by_element(process, element) is not None]
        if elsewhere:
            raise MoveRefused([f"'{element}' is in another scope ({elsewhere[0].name}), not in the scope of "
                               f"{element_label(active.task_spec)} ({scope.name}): a token moves within its scope"])
        raise MoveRefused([f"the process has no element '{element}'"])
    if isinstance(spec, BoundaryEvent):
        raise MoveRefused([f"{element_label(spec)} is a boundary event: it starts with its activity, "
                           "move to the activity"])
    if isinstance(spec, StartEvent):
        raise MoveRefused([f"{element_label(spec)} is a start event: move to the element after it"])
    if isinstance(spec, ParallelGateway) and len(spec.inputs) > 1:
        raise MoveRefused([f"{element_label(spec)} is a parallel join: it would wait for branches that never come"])
    return spec


def _by_element(process, element: str) -> TaskSpec | None:
    return next((spec for spec in process.task_specs.values() if getattr(spec, "bpmn_id", None) == element), None)


def _cancel_activity(task: Task) -> None:
    """Cancels the task and, when it has boundary events, those waiting with it."""
    parent = task.parent
    siblings = parent.children if parent is not None and isinstance(parent.task_spec, BoundaryEventSplit) else [task]
    for sibling in siblings:
        if sibling.has_state(ACTIVE | TaskState.PREDICTED_MASK | TaskState.FUTURE):
            _cancel(sibling)
    touched.mark(task)


def _cancel(task: Task) -> None:
    subworkflow = task.workflow.top_workflow.subprocesses.get(task.id)
    if task.state == TaskState.ERROR:  # its failure is answered: the ERROR entry of its history keeps it
        task.internal_data.pop("maestro_error", None)
    task._set_state(TaskState.CANCELLED)
    task._drop_children(force=True)
    task.task_spec._on_cancel(task)  # a subprocess cancels its subworkflow...
    if subworkflow is not None:  # ...but SpiffWorkflow's cancel leaves a failed (finished) task failed
        for failed in subworkflow.get_tasks(state=TaskState.ERROR):
            _cancel(failed)


def _start_before(active: Task, target: TaskSpec) -> Task:
    """A new task of `target` after the cancelled one (whose variables it takes), updated as a
    predecessor's completion would: it becomes ready, or waits."""
    spec = _boundary_split_of(target) or target
    started = active._add_child(spec, TaskState.FUTURE)
    touched.mark(active)
    spec._predict(started, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE)
    spec._update(started)
    if spec is not target:  # the split is ready: it makes the activity and its boundary events when it runs
        started.run()
        started = next(child for child in started.children if child.task_spec is target)
    return started


def _boundary_split_of(target: TaskSpec) -> TaskSpec | None:
    """The split that starts `target` with its boundary events, if it has any."""
    return next((spec for spec in target.inputs if isinstance(spec, BoundaryEventSplit)), None)


def _joins_left_waiting(cancelled: TaskSpec, target: TaskSpec) -> list[str]:
    """A warning for each parallel join the cancelled activity's branch led to and the target's does not."""
    left = _joins_ahead(cancelled) - _joins_ahead(target)
    return [f"the parallel join {element_label(join)} waits for the branch of {element_label(cancelled)}: "
            "it may wait forever" for join in sorted(left, key=lambda spec: spec.name)]


def _joins_ahead(spec: TaskSpec) -> set[TaskSpec]:
    seen, todo, joins = set(), [spec], set()
    while todo:
        current = todo.pop()
        for output in current.outputs:
            if output in seen:
                continue
            seen.add(output)
            if isinstance(output, ParallelGateway) and len(output.inputs) > 1:
                joins.add(output)
            todo.append(output)
    return joins


def element_label(spec: TaskSpec) -> str:
    """'Approve order (Task_approve)', or the element id alone when it has no name."""
    bpmn_id = getattr(spec, "bpmn_id", None) or spec.name
    name = getattr(spec, "bpmn_name", None)
    return f"{name} ({bpmn_id})" if name and name != bpmn_id else bpmn_id


def move_choices(instance: Instance) -> dict:
    """What a move form offers: {"active": [{task_id, bpmn_id, name, state}], "targets": [{bpmn_id, name,
    type, scope}]}, the targets being the elements of the scopes holding an active activity that a token
    can be moved to (the engine still refuses a target of another scope than the activity's)."""
    active = active_activities(instance)
    scopes = {task.workflow.spec.name: task.workflow.spec for task in active}
    targets = [{"bpmn_id": spec.bpmn_id, "name": spec.bpmn_name or spec.bpmn_id, "type": element_type(spec),
                "scope": scope_name}
               for scope_name, scope in scopes.items() for spec in scope.task_specs.values()
               if getattr(spec, "bpmn_id", None) is not None and not isinstance(spec, (BoundaryEvent, StartEvent))]
    return {"active": [{"task_id": str(task.id), "bpmn_id": task.task_spec.bpmn_id,
                        "name": task.task_spec.bpmn_name or task.task_spec.bpmn_id,
                        "state": TaskState.get_name(task.state)} for task in active],
            "targets": sorted(targets, key=lambda target: (target["scope"], target["name"].lower()))}
