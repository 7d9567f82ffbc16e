"""Work SpiffWorkflow drops from the task tree without cancelling it.

Cancelling a task (`Task.cancel`) removes its unfinished children from the
tree without cancelling them. For a multi-instance activity those children are
its running iterations: an iteration that is a subprocess leaves its
subworkflow behind (SpiffWorkflow later looks for its task and raises
TaskNotFoundException), and one that waits for an event stays registered as
waiting (a message would still be handed to it). A cancelled activity must
take everything it runs with it (BPMN 2.0.2, 13.3.3: a cancelled activity's
inner work is terminated).
"""
from SpiffWorkflow.exceptions import TaskNotFoundException

from . import state_changes


def forget_dropped_work(top) -> None:
    """Cancels and removes the subworkflows whose task is gone from the tree (nested ones too),
    and unregisters the waiting tasks that are gone."""
    orphans = _orphaned_subworkflows(top)
    while orphans:
        for task_id in orphans:
            top.cancel(top.subprocesses[task_id])  # cancels its own subworkflows as well
            state_changes.note_gone(top, top.subprocesses[task_id].tasks.values())
            del top.subprocesses[task_id]
        orphans = _orphaned_subworkflows(top)  # those nested in the ones just removed
    manager = top.event_manager
    for task in list(manager.tasks.values()):
        if _gone(task):
            manager.remove_task(task)


def _orphaned_subworkflows(top):
    return [task_id for task_id in top.subprocesses if _find(top, task_id) is None]


def _find(top, task_id):
    try:
        return top.get_task_from_id(task_id)
    except TaskNotFoundException:
        return None


def _gone(task):
    workflow = task.workflow
    if workflow.tasks.get(task.id) is not task:
        return True
    top = workflow.top_workflow
    return workflow is not top and top.subprocesses.get(workflow.parent_task_id) is not workflow
