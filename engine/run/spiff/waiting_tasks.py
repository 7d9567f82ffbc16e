"""A cheaper way for SpiffWorkflow to find its waiting tasks after each completed task.

SpiffWorkflow's Workflow.update_waiting_tasks walks the whole task tree after
every completed task to find the WAITING ones: the main reason its cost per
task grows with the length of the process. Most of the time no task, or one,
is waiting; finding those from the workflow's task table takes a fraction of
the walk. With several waiting, the walk stays: it updates them in tree
order, and an update may change which of the others are still waiting.
"""
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.workflow import Workflow

_walk_the_tree = Workflow.update_waiting_tasks


def _update_waiting_tasks(workflow):
    waiting = [task for task in workflow.tasks.values() if task._state == TaskState.WAITING]
    if len(waiting) > 1:
        _walk_the_tree(workflow)
    elif waiting:
        waiting[0].task_spec._update(waiting[0])


Workflow.update_waiting_tasks = _update_waiting_tasks
