"""What a boundary event takes along when it leaves a subprocess: its variables and its record.

Variables.
SpiffWorkflow gives a boundary event's path the data the activity started
with, so leaving a subprocess or transaction through a boundary event (a
transaction's cancel boundary after its undos, an error, a timer, a message)
drops every variable set inside it, undo results included. In BPMN engines the
variables set inside belong to the instance (Camunda 7 keeps them), so the
path out goes on with the subprocess's variables as they were when it was
left; what the catch itself adds (a message's payload, an error's variables)
wins over them.

Record. An interrupting boundary event cancels its activity, and SpiffWorkflow
then drops the activity's unfinished children from the tree. A multi-instance
iteration whose subprocess has already ended (a transaction iteration that
threw the cancel) is such a child; dropped, its completed work and undos would
vanish from the instance. It is marked cancelled instead, which keeps it.
"""
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.util.task import TaskState


def leave_subprocess(task) -> None:
    """Before a boundary event runs: takes the variables (and keeps the record) of the subprocess it leaves."""
    split = task.parent
    if split is None:
        return
    activity = next((child for child in split.children if not isinstance(child.task_spec, BoundaryEvent)), None)
    if activity is None:
        return
    subworkflows = _subworkflows_under(activity)
    _carry_data(task, split, subworkflows)
    if task.task_spec.cancel_activity:
        _keep_ended_iterations(activity)


def _carry_data(task, split, subworkflows):
    latest = _latest_completed(subworkflows)
    if latest is None:
        return
    added = {key: value for key, value in task.data.items() if split.data.get(key, _MISSING) != value}
    task.data = {**task.data, **latest.data, **added}


_MISSING = object()


def _subworkflows_under(activity):
    """The subworkflows the activity runs (one per multi-instance iteration), nested ones included."""
    top = activity.workflow.top_workflow
    owners = {activity.id, *(child.id for child in activity.children)}
    found, grew = [], True
    while grew:
        grew = False
        for task_id, subworkflow in top.subprocesses.items():
            if task_id in owners and subworkflow not in found:
                found.append(subworkflow)
                owners.update(subworkflow.tasks)
                grew = True
    return found


def _latest_completed(workflows):
    completed = [task for workflow in workflows for task in workflow.tasks.values()
                 if task.state == TaskState.COMPLETED and "maestro_seq" in task.internal_data]
    return max(completed, key=lambda task: task.internal_data["maestro_seq"], default=None)


def _keep_ended_iterations(activity):
    top = activity.workflow.top_workflow
    for child in activity.children:
        subworkflow = top.subprocesses.get(child.id)
        if child.state == TaskState.READY and subworkflow is not None and subworkflow.completed:
            child._set_state(TaskState.CANCELLED)
