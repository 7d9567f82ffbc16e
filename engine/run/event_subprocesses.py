"""Event subprocesses started by a message, a timer or a signal (BPMN 2.0.2, 10.3.5 and 13.5.4).

Such an event subprocess is armed while its scope (the process, or the
embedded subprocess holding it) is active. The parser connects it from the
scope's start, so SpiffWorkflow starts it with the scope and its start event
then waits like any catch event: its message is awaited, its timer is due.
SpiffWorkflow 3.2 does nothing more (a timer one even keeps its scope from
ending); this module gives it the rest of its BPMN meaning:

- when its start event fires, it runs with the scope's variables as they are
  then, not as they were when it was armed;
- an interrupting one (`isInterrupting`, true by default) cancels the rest of
  the scope, which ends when the event subprocess ends; it fires once, a
  timer cycle included;
- a non-interrupting one runs alongside the scope's work. One started by a
  message or a signal is armed again at once, so that it can fire any number
  of times; a cycle timer repeats by itself, a duration or a date fires once;
- once nothing else of its scope is left to do, an armed event subprocess is
  disarmed (a running timer cycle stops), and the scope ends as soon as the
  event subprocesses that fired have finished.
"""
from copy import deepcopy

from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.util.task import TaskState

from engine.run.spiff.dropped_work import forget_dropped_work

from .specs import maestro_info
from .spiff import touched

ARMED_BY = ("message", "timer", "signal")
FIRED = "maestro_fired"  # on an event subprocess's task, once its start event has fired


def trigger_of(spec) -> dict | None:
    """The parser's {"kind", "interrupting"} of an event subprocess this module arms, else None."""
    trigger = maestro_info(spec).get("trigger")
    return trigger if trigger and trigger.get("kind") in ARMED_BY else None


def fire(task) -> None:
    """Called before `task` runs, or catches a message: if it is the first task of an armed event
    subprocess to do so, that event subprocess has just fired (see the module's docstring).

    For a timer or a signal the start event runs (or, for a cycle, its first path
    does) in the same step as it fires, so firing it there is firing it at once.
    """
    owner = _owner(task)
    if owner is None or owner.internal_data.get(FIRED):
        return
    owner.internal_data[FIRED] = True
    touched.mark(owner)
    subworkflow = task.workflow
    _start_with(subworkflow, _current_variables(owner))
    trigger = trigger_of(owner.task_spec)
    if trigger["interrupting"]:
        _stop_cycles(subworkflow)
        _cancel_rest_of_scope(owner)
    elif trigger["kind"] != "timer":
        _arm_again(owner)


def disarm_finished_scopes(top) -> bool:
    """Disarms the armed event subprocesses of every scope with nothing else left to do, so that
    the scope can end; True if it disarmed any (the caller looks for ready tasks again)."""
    disarmed = False
    for scope in (top, *top.get_active_subprocesses()):
        if not _arms_event_subprocesses(scope.spec):
            continue
        armed = [task for task in scope.tasks.values() if _is_armed(task)]
        if not armed or _work_left(scope, armed):
            continue
        for owner in armed:
            _disarm(owner)
        for waiting in scope.get_tasks(state=TaskState.WAITING, skip_subprocesses=True):
            waiting.task_spec._update(waiting)  # the scope's end join, which waited for them
        disarmed = True
    return disarmed


def _owner(task):
    """The task of the armed event subprocess whose subworkflow `task` belongs to, else None."""
    workflow = task.workflow
    if workflow.parent_task_id is None:
        return None
    owner = workflow.top_workflow.get_task_from_id(workflow.parent_task_id)
    return owner if trigger_of(owner.task_spec) else None


def _current_variables(owner):
    """The scope's variables now: the data of the task it completed last (nested subprocesses
    included), or, before any, the data it started with."""
    scope = owner.workflow
    top = scope.top_workflow
    workflows = [scope, *(sub for sub in top.subprocesses.values() if _is_inside(sub, scope))]
    completed = [task for workflow in workflows for task in workflow.tasks.values()
                 if task.state == TaskState.COMPLETED and "maestro_seq" in task.internal_data]
    latest = max(completed, key=lambda task: task.internal_data["maestro_seq"], default=None)
    return deepcopy(latest.data if latest is not None else owner.data)


def _is_inside(workflow, scope):
    while workflow is not scope:
        if workflow.parent_task_id is None:
            return False
        workflow = workflow.parent_workflow
    return True


def _start_with(subworkflow, variables):
    """The event subprocess's tasks so far (its start, its start event) hold the variables given."""
    for task in subworkflow.tasks.values():
        if task.task_spec is subworkflow.spec.start or not task.has_state(TaskState.FINISHED_MASK):
            task.data = deepcopy(variables)
            touched.mark(task)


def _cancel_rest_of_scope(owner):
    """An interrupting event subprocess: everything else its scope runs is cancelled, the scope's
    other event subprocesses included."""
    scope = owner.workflow
    for task in scope.get_tasks(state=TaskState.NOT_FINISHED_MASK, skip_subprocesses=True):
        if _descends_from(task, owner) or scope.tasks.get(task.id) is not task:
            continue  # itself and the scope's end it leads to, or dropped with a cancelled parent
        task.cancel()
    forget_dropped_work(scope.top_workflow)


def _descends_from(task, ancestor):
    while task is not None and task is not ancestor:
        task = task.parent
    return task is ancestor


def _arm_again(owner):
    """A new instance of the event subprocess waits for the next message or signal."""
    parent = owner.parent
    armed = parent._add_child(owner.task_spec, TaskState.FUTURE)
    armed.triggered = True  # SpiffWorkflow keeps a triggered child when it syncs the parent's children
    touched.mark(parent)
    armed.task_spec._predict(armed, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE)
    armed.task_spec._update(armed)


def _arms_event_subprocesses(spec):
    armed = getattr(spec, "maestro_armed_event_subprocesses", None)
    if armed is None:
        armed = any(trigger_of(task_spec) for task_spec in spec.task_specs.values())
        spec.maestro_armed_event_subprocesses = armed
    return armed


def _is_armed(task):
    """An event subprocess whose start event still waits (for the first time, or for a cycle's next)."""
    if task.state != TaskState.STARTED or not trigger_of(task.task_spec):
        return False
    subworkflow = task.workflow.top_workflow.subprocesses.get(task.id)
    return subworkflow is not None and any(_waiting_start(t) for t in subworkflow.tasks.values())


def _waiting_start(task):
    return task.state == TaskState.WAITING and isinstance(task.task_spec, StartEvent)


def _work_left(scope, armed):
    """Whether the scope has anything unfinished besides its armed event subprocesses and its end."""
    end = scope.spec.end
    for task in scope.get_tasks_iterator(state=TaskState.NOT_FINISHED_MASK, skip_subprocesses=True,
                                         end_at_spec=end.name):
        if task.task_spec is not end and not any(_descends_from(task, owner) for owner in armed):
            return True
    return False


def _disarm(owner):
    if owner.internal_data.get(FIRED):
        _stop_cycles(owner.workflow.top_workflow.subprocesses[owner.id])  # its paths run to their end
    else:
        owner.cancel()


def _stop_cycles(subworkflow):
    """A timer cycle still waiting in the subworkflow fires no more: its start event completes."""
    for task in list(subworkflow.tasks.values()):
        if _waiting_start(task) and isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
            task.internal_data.pop("event_value", None)
            task.internal_data["event_fired"] = True
            task.task_spec._update(task)
