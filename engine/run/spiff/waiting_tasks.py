"""A cheaper way for SpiffWorkflow to find its waiting tasks after each completed task.

SpiffWorkflow's Workflow.update_waiting_tasks walks the whole task tree after
every completed task to find the WAITING ones: the main reason its cost per
task grows with the length of the process. They come from the workflow's
index of live tasks instead (live_tasks). Several are updated in the order
the walk would meet them (tree_order), each only if it still waits when its
turn comes, as the walk checks a task's state when it reaches it: an update
may change which of the others are still waiting (a join cancels the other
arrivals that wait on it).
"""
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.workflow import Workflow

from . import live_tasks
from .tree_order import order_key


def _update_waiting_tasks(workflow):
    waiting = live_tasks.of(workflow).waiting_tasks()
    if len(waiting) > 1:
        waiting.sort(key=order_key)
        for task in waiting:
            if task._state == TaskState.WAITING and workflow.tasks.get(task.id) is task:
                task.task_spec._update(task)
    elif waiting:
        waiting[0].task_spec._update(waiting[0])


Workflow.update_waiting_tasks = _update_waiting_tasks
