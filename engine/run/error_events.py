"""Routes a BPMN error to the innermost catcher, as BPMN says.

SpiffWorkflow 3.2 offers a thrown error to every waiting catch event of the
instance at once; BPMN wants the closest one: an error boundary event of the
failing activity (one with the matching errorCode before a catch-all), then an
error event subprocess of the activity's scope, then the same one scope out.
An error thrown inside an error event subprocess leaves the scope that
subprocess is interrupting: it is never caught by it again (a loop), nor by
another error event subprocess of that scope.

The catcher's path gets the variables the error carries and, in the variables
its camunda:errorCodeVariable / camunda:errorMessageVariable name, the error's
code and message (Camunda 7 semantics).
"""
from copy import deepcopy

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.util.task import TaskState

from engine.handlers import BpmnError
from engine.namespaces import CAMUNDA, NSMAP, local_name, tag

from .specs import START_DATA, maestro_info
from .spiff import touched


def route_error(task, error: BpmnError) -> bool:
    """Delivers the error to its catcher; False when nothing in the instance catches it."""
    top = task.workflow.top_workflow
    current = task
    while current is not None:
        activity = _activity_of(current)
        # An error event subprocess is interrupting its scope: the error goes past that scope.
        if not _is_error_event_subprocess(activity.task_spec):
            if _catch_on_boundary(activity, error) or _start_event_subprocess(activity.workflow, activity, error):
                return True
        parent_id = activity.workflow.parent_task_id
        current = top.get_task_from_id(parent_id) if parent_id is not None else None
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


def _is_error_event_subprocess(spec):
    return maestro_info(spec).get("trigger", {}).get("kind") == "error"


def _caught_variables(catcher_spec, error):
    """What the catcher's path gets: the error's variables, and its code and message where named."""
    variables = deepcopy(error.variables)
    into = maestro_info(catcher_spec).get("caught_into", {})
    for part in ("code", "message"):
        if part in into:
            variables[into[part]] = getattr(error, part)
    return variables


def _catch_on_boundary(activity, error):
    split = activity.parent
    if split is None or not isinstance(split.task_spec, BoundaryEventSplit):
        return False
    waiting = [
        child for child in split.children
        if isinstance(child.task_spec, BoundaryEvent)
        and isinstance(child.task_spec.event_definition, ErrorEventDefinition)
        and child.state == TaskState.WAITING
    ]
    boundary = _best_match(waiting, error.code, lambda t: t.task_spec.event_definition.code)
    if boundary is None:
        return False
    definition = boundary.task_spec.event_definition
    # SpiffWorkflow sets the payload of the caught event on the boundary task's data when it runs.
    event = BpmnEvent(ErrorEventDefinition(definition.name, error.code), _caught_variables(boundary.task_spec, error))
    boundary.task_spec.catch(boundary, event)
    boundary.task_spec._update(boundary)
    return True


def _start_event_subprocess(workflow, failed, error):
    candidates = [spec for spec in workflow.spec.task_specs.values() if _is_error_event_subprocess(spec)]
    spec = _best_match(candidates, error.code, lambda s: maestro_info(s)["trigger"]["code"])
    if spec is None:
        return False
    data = {**deepcopy(failed.data), **_caught_variables(spec, error)}
    # An interrupting event subprocess replaces the scope's flow: stop it all.
    for task in workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK, skip_subprocesses=True):
        if not task.has_state(TaskState.FINISHED_MASK):  # cancelling a parent finishes its children
            task.cancel()
    child = workflow.task_tree._add_child(spec, TaskState.FUTURE)
    touched.mark(workflow.task_tree)  # a finished task with a new child
    child.triggered = True
    child.internal_data[START_DATA] = data
    child.internal_data["maestro_caught"] = {"code": error.code, "message": error.message}
    # Predict its branch so that, once done, it leads on to the scope's end.
    child.task_spec._predict(child, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE)
    child.task_spec._update(child)
    return True


# -- what the parser reads for this module ------------------------------------------

CATCH_EVENTS = frozenset({"startEvent", "boundaryEvent", "intermediateCatchEvent"})
THROW_EVENTS = frozenset({"endEvent", "intermediateThrowEvent"})


def error_facts(event) -> dict:
    """What Maestro keeps of an event's errorEventDefinition beyond SpiffWorkflow's name and code.

    A catch event keeps the variables Camunda 7 stores the caught code and
    message in (`caught_into`, from camunda:errorCodeVariable and
    camunda:errorMessageVariable); a throw event keeps the message of the error
    it throws (`error_message`, camunda:errorMessage of its bpmn:error), which
    SpiffWorkflow does not read. Only the camunda: form is read here.
    """
    definition = event.find(tag("errorEventDefinition")) if event is not None else None
    if definition is None:
        return {}
    if local_name(event) in CATCH_EVENTS:
        into = {part: (definition.get(tag(attribute, CAMUNDA)) or "").strip()
                for part, attribute in (("code", "errorCodeVariable"), ("message", "errorMessageVariable"))}
        into = {part: name for part, name in into.items() if name}
        return {"caught_into": into} if into else {}
    if local_name(event) in THROW_EVENTS:
        message = _camunda_error_message(definition)
        return {"error_message": message} if message else {}
    return {}


def _camunda_error_message(definition):
    error_ref = definition.get("errorRef")
    if not error_ref:
        return None
    errors = definition.getroottree().getroot().xpath("//bpmn:error[@id=$id]", namespaces=NSMAP, id=error_ref)
    return errors[0].get(tag("errorMessage", CAMUNDA)) if errors else None
