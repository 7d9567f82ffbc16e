"""Routes a BPMN error to the innermost catcher, as BPMN says.

SpiffWorkflow 3.2 offers a thrown error to every waiting catch event of the
instance at once; BPMN wants the closest one: an error boundary event of the
failing activity (one with the matching errorCode before a catch-all), then an
error event subprocess of the activity's scope, then the same one scope out.
"""
from copy import deepcopy

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.util.task import TaskState

from . import touched
from .specs import START_DATA, maestro_info


def route_error(task, code, message):
    """Delivers the error to its catcher; False when nothing in the instance catches it."""
    top = task.workflow.top_workflow
    current = task
    while current is not None:
        activity = _activity_of(current)
        if _catch_on_boundary(activity, code, message):
            return True
        workflow = activity.workflow
        if _start_event_subprocess(workflow, activity, code, message):
            return True
        if workflow.parent_task_id is None:
            return False
        current = top.get_task_from_id(workflow.parent_task_id)
    return False


def _activity_of(task):
    """A loop or multi-instance iteration fails on behalf of the activity that holds it."""
    if task.parent is not None and isinstance(task.parent.task_spec, LoopTask):
        return task.parent
    return task


def _best_match(candidates, code, code_of):
    exact = [c for c in candidates if code_of(c) is not None and code_of(c) == code]
    catch_all = [c for c in candidates if code_of(c) is None]
    return (exact or catch_all or [None])[0]


def _catch_on_boundary(activity, code, message):
    split = activity.parent
    if split is None or not isinstance(split.task_spec, BoundaryEventSplit):
        return False
    waiting = [
        child for child in split.children
        if isinstance(child.task_spec, BoundaryEvent)
        and isinstance(child.task_spec.event_definition, ErrorEventDefinition)
        and child.state == TaskState.WAITING
    ]
    boundary = _best_match(waiting, code, lambda t: t.task_spec.event_definition.code)
    if boundary is None:
        return False
    definition = boundary.task_spec.event_definition
    event = BpmnEvent(ErrorEventDefinition(definition.name, code), {"code": code, "message": message})
    boundary.task_spec.catch(boundary, event)
    boundary.task_spec._update(boundary)
    return True


def _start_event_subprocess(workflow, failed, code, message):
    candidates = [
        spec for spec in workflow.spec.task_specs.values()
        if maestro_info(spec).get("trigger", {}).get("kind") == "error"
    ]
    spec = _best_match(candidates, code, lambda s: maestro_info(s)["trigger"]["code"])
    if spec is None:
        return False
    data = deepcopy(failed.data)
    # An interrupting event subprocess replaces the scope's flow: stop it all.
    for task in workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK, skip_subprocesses=True):
        if not task.has_state(TaskState.FINISHED_MASK):  # cancelling a parent finishes its children
            task.cancel()
    child = workflow.task_tree._add_child(spec, TaskState.FUTURE)
    touched.mark(workflow.task_tree)  # a finished task with a new child
    child.triggered = True
    child.internal_data[START_DATA] = data
    child.internal_data["maestro_caught"] = {"code": code, "message": message}
    # Predict its branch so that, once done, it leads on to the scope's end.
    child.task_spec._predict(child, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE)
    child.task_spec._update(child)
    return True
