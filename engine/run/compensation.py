"""BPMN compensation (BPMN 2.0.2, 10.5.6 and 13.5.5) on SpiffWorkflow's task tree.

A compensation throw builds a *plan*: the completed, not yet compensated
activities of its scope (or the one named by activityRef), newest first, each
with the handler that undoes it. Nested embedded subprocesses expand in place
into their own inner activities (unless they have a handler or a compensation
event subprocess of their own); each completed loop or multi-instance
iteration is its own entry.

The plan runs one entry at a time as child tasks of the throwing event, so an
undo is a real task: it has a state, shows in the history, can fail and be
retried, and is saved with the instance. `advance()` moves the plans on; the
runtime calls it whenever no task is ready.
"""
from copy import deepcopy
from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask, MultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import EventSubprocess, SubWorkflowTask
from SpiffWorkflow.util.task import TaskState

from .spiff import touched

START_DATA = "maestro_start_data"  # see specs.MaestroEventSubprocess
PLAN = "maestro_compensation_plan"
STATE = "maestro_compensation"        # on a compensated activity: "scheduled" | "done"
UNDO_OF = "maestro_undo_of"           # on an undo task: the id of the activity it undoes
SCOPE = "maestro_compensation_scope"  # on a compensation event subprocess task: the subprocess it undoes
DRIVERS = "maestro_compensation_drivers"  # on the root task: throw events with a running plan
SEQUENCE = "maestro_completion_sequence"  # on the top workflow object: the last completion number given
_NEWLY_COMPENSATED = "maestro_newly_compensated"  # not saved: the ids take_compensated has not given yet


def _info(spec):
    extensions = getattr(spec, "extensions", None)
    return extensions.get("maestro", {}) if isinstance(extensions, dict) else {}


def record_completion(task):
    """Numbers completed tasks so that compensation can run in reverse order of completion.

    The last number given is kept on the workflow object, not in a task, so
    that numbering does not rewrite a task at every step; after loading it is
    recomputed from the tasks.
    """
    top = task.workflow.top_workflow
    if getattr(top, SEQUENCE, None) is None:
        setattr(top, SEQUENCE, max((t.internal_data.get("maestro_seq", 0) for t in _all_tasks(top)), default=0))
    number = getattr(top, SEQUENCE) + 1
    setattr(top, SEQUENCE, number)
    task.internal_data["maestro_seq"] = number
    touched.mark(task)


def _all_tasks(top):
    for workflow in (top, *top.subprocesses.values()):
        yield from workflow.tasks.values()


def completion_order(task):
    """Sort key in order of completion; the task completing right now has no number yet."""
    return task.internal_data.get("maestro_seq", float("inf")), task.last_state_change


def has_plan(task):
    return PLAN in task.internal_data


def is_running(task):
    plan = task.internal_data.get(PLAN)
    return plan is not None and not plan["done"] and task.state == TaskState.STARTED


def is_compensated(task):
    return task.internal_data.get(STATE) == "done"


def _newly_compensated(top):
    noted = getattr(top, _NEWLY_COMPENSATED, None)
    if noted is None:
        noted = []
        setattr(top, _NEWLY_COMPENSATED, noted)
    return noted


def take_compensated(top) -> list[str]:
    """Ids of the activities whose compensation ended since the last call: a durable instance's
    read model records them at the commit of that step (is_compensated without the tree)."""
    noted = getattr(top, _NEWLY_COMPENSATED, None) or []
    setattr(top, _NEWLY_COMPENSATED, [])
    return noted


def running(top):
    """Whether an undo still runs (or is due): an instance is not complete before its undos are."""
    return bool(top.task_tree.internal_data.get(DRIVERS))


def pending_undo(top):
    """A ready undo (not one for a person) whose throw event's scope has already ended, or None.

    With waitForCompletion="false" the flow goes on while the undos run, and
    the scope (an event subprocess, or the process) can end first; its ready
    undos are then no longer among the tasks of active workflows.
    """
    for driver_id in top.task_tree.internal_data.get(DRIVERS, []):
        throw_task = top.get_task_from_id(UUID(driver_id))
        child = top.get_task_from_id(UUID(throw_task.internal_data[PLAN]["child"]))
        if child is not None and child.state == TaskState.READY and not child.task_spec.manual:
            return child
    return None


def has_compensated(top):
    """Whether any completed work of the instance has been compensated."""
    return any(is_compensated(task) for task in _all_tasks(top))


def start(throw_task, activity_ref, wait):
    """Plans and starts compensation for a throw event; False when there is nothing to undo."""
    scope = scope_of(throw_task)
    units = []
    if activity_ref is not None and scope is not throw_task.workflow:
        # Inside an event subprocess activityRef may name one of its own activities too.
        units = _plan(throw_task.workflow, activity_ref, throw_task.data)
    units = units or _plan(scope, activity_ref, throw_task.data)
    throw_task.internal_data[PLAN] = {"units": units, "next": 0, "child": None, "wait": wait, "done": not units}
    if not units:
        return False
    root = throw_task.workflow.top_workflow.task_tree
    root.internal_data.setdefault(DRIVERS, []).append(str(throw_task.id))
    touched.mark(root)
    _spawn_next(throw_task)
    return True


def scope_of(task):
    """The workflow whose activities a compensation thrown by `task` undoes.

    Inside an event subprocess that is the event subprocess's parent; inside a
    compensation event subprocess run for a subprocess, that subprocess.
    """
    workflow = task.workflow
    top = workflow.top_workflow
    if workflow.parent_task_id is None:
        return workflow
    parent = top.get_task_from_id(workflow.parent_task_id)
    target = parent.internal_data.get(SCOPE)
    if target is not None:
        return top.subprocesses[UUID(target)]
    if isinstance(parent.task_spec, EventSubprocess):
        return parent.workflow
    return workflow


def _plan(scope, activity_ref, current_data):
    candidates = [
        task for task in scope.get_tasks(state=TaskState.COMPLETED, skip_subprocesses=True)
        if _is_candidate(task) and (activity_ref is None or task.task_spec.bpmn_id == activity_ref)
    ]
    candidates.sort(key=completion_order, reverse=True)
    units = []
    for task in candidates:
        units.extend(_units_for(task, current_data))
    return units


def _is_candidate(task):
    if STATE in task.internal_data or UNDO_OF in task.internal_data:
        return False
    spec = task.task_spec
    if isinstance(spec, LoopTask):
        return False  # each iteration is compensated on its own
    if _info(spec).get("compensation_handler"):
        return True
    # A subprocess is undone through its inner work; so is an event subprocess that ran in it
    # (its completed work is the scope's too). A compensation event subprocess is a handler.
    return isinstance(spec, SubWorkflowTask) and not _info(spec).get("for_compensation")


def _units_for(task, current_data):
    touched.mark(task)  # its compensation state is about to change
    info = _info(task.task_spec)
    if info.get("compensation_handler"):
        task.internal_data[STATE] = "scheduled"
        return [_unit(task, info["compensation_handler"], "handler", current_data)]
    top = task.workflow.top_workflow
    subworkflow = top.subprocesses.get(task.id)
    if subworkflow is None:
        return []
    if info.get("compensation_event_subprocess"):
        task.internal_data[STATE] = "scheduled"
        return [_unit(task, info["compensation_event_subprocess"], "event_subprocess", current_data)]
    inner = _plan(subworkflow, None, current_data)
    if inner:
        task.internal_data[STATE] = "scheduled"
        inner[-1]["also_done"].append(str(task.id))
    return inner


def _unit(task, handler, kind, current_data):
    return {
        "activity": str(task.id),
        "handler": handler,
        "kind": kind,
        "locals": _locals_of(task, current_data),
        "also_done": [],
    }


def _locals_of(task, current_data):
    """Values the undo needs from the activity's own context rather than the current scope.

    Inside a multi-instance iteration that is everything the activity saw (its
    item, its own results: each iteration is undone with its own variables);
    otherwise what the activity saw that is no longer among the current variables.
    """
    if _in_iteration(task):
        return deepcopy(task.data)
    return deepcopy({key: value for key, value in task.data.items() if key not in current_data})


def _in_iteration(task):
    """Whether the task is a multi-instance iteration, or runs inside one (at any depth)."""
    current = task
    while current is not None:
        if current.parent is not None and isinstance(current.parent.task_spec, MultiInstanceTask):
            return True
        workflow = current.workflow
        if workflow.parent_task_id is None:
            return False
        current = workflow.top_workflow.get_task_from_id(workflow.parent_task_id)
    return False


def _spawn_next(throw_task):
    plan = throw_task.internal_data[PLAN]
    unit = plan["units"][plan["next"]]
    spec = throw_task.workflow.spec.task_specs[unit["handler"]]
    child = throw_task._add_child(spec, TaskState.WAITING)
    child.triggered = True
    child.internal_data[UNDO_OF] = unit["activity"]
    data = {**deepcopy(throw_task.data), **deepcopy(unit["locals"])}
    if unit["kind"] == "event_subprocess":
        child.internal_data[SCOPE] = unit["activity"]
        child.internal_data[START_DATA] = deepcopy(data)
    child.task_spec._update(child)
    child.data = data  # _update merges the parent's data in; the undo's locals must win
    plan["child"] = str(child.id)
    touched.mark(throw_task)


def advance(top):
    """Moves every running compensation plan on by at most one step; True if anything moved."""
    root = top.task_tree
    moved = False
    for driver_id in list(root.internal_data.get(DRIVERS, [])):
        throw_task = top.get_task_from_id(UUID(driver_id))
        plan = throw_task.internal_data[PLAN]
        child = top.get_task_from_id(UUID(plan["child"]))
        if child is None or child.state == TaskState.CANCELLED:
            _stop(root, driver_id, plan)
            continue
        if child.state != TaskState.COMPLETED:
            continue
        moved = True
        _finish_unit(throw_task, plan, child)
        plan["next"] += 1
        if plan["next"] < len(plan["units"]):
            _spawn_next(throw_task)
            continue
        _stop(root, driver_id, plan)
        if throw_task.state == TaskState.STARTED:
            throw_task._set_state(TaskState.READY)
        else:
            _wake_joins(throw_task.workflow)
    return moved


def _finish_unit(throw_task, plan, child):
    touched.mark(throw_task)
    unit = plan["units"][plan["next"]]
    local = unit["locals"]
    throw_task.data.update({k: v for k, v in child.data.items() if k not in local or local[k] != v})
    top = throw_task.workflow.top_workflow
    for task_id in [unit["activity"], *unit["also_done"]]:
        task = top.get_task_from_id(UUID(task_id))
        if task is not None:
            task.internal_data[STATE] = "done"
            touched.mark(task)
            _newly_compensated(top).append(task_id)


def _stop(root, driver_id, plan):
    plan["done"] = True
    root.internal_data[DRIVERS].remove(driver_id)
    touched.mark(root)


def _wake_joins(workflow):
    # With waitForCompletion="false" the flow went on while the undos ran; a
    # join that waited for them is looked at again now that they are done.
    for task in workflow.get_tasks(state=TaskState.WAITING, skip_subprocesses=True):
        task.task_spec._update(task)
