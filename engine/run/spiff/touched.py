"""Marks tasks whose saved form changed without a change of state, and tasks that left the tree.

Durable storage writes only the tasks that changed since the last commit:
ones whose state changed, ones in a state in which SpiffWorkflow edits them
in place (waiting, started, failed), and the ones marked here. Every Maestro
code path that edits a finished task's data, internal data or children marks
it (SpiffWorkflow itself only edits unfinished tasks, or changes a task's
state when it edits it). SpiffWorkflow's own edits without a change of state
are marked where they happen, while a writer tracks the instance (`take` has
been called): an update of a task (it takes its parent's data), a child
added (the parent's children change, and the child is new) and a task
removed (its parent's children change, its row goes).
"""
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.workflow import Workflow

_MARKED = "maestro_touched"  # on the top workflow: task id -> task
_REMOVED = "maestro_removed"  # on the top workflow: ids of tasks that left the tree


def mark(task):
    top = task.workflow.top_workflow
    marked = top.__dict__.get(_MARKED)
    if marked is None:
        marked = top.__dict__[_MARKED] = {}
    marked[task.id] = task


def _mark_if_tracked(task):
    marked = task.workflow.top_workflow.__dict__.get(_MARKED)
    if marked is not None:
        marked[task.id] = task


def take(workflow):
    """{id: task} marked since the last call, clearing them; from now on the instance is tracked."""
    marked = workflow.__dict__.get(_MARKED) or {}
    workflow.__dict__[_MARKED] = {}
    return marked


def take_removed(workflow):
    """The ids of the tasks removed from the tree since the last call (while tracked)."""
    removed = workflow.__dict__.get(_REMOVED) or set()
    workflow.__dict__[_REMOVED] = set()
    return removed


_update = TaskSpec._update
_add_child = Task._add_child
_task_removed_notify = Workflow._task_removed_notify


def _marked_update(spec, my_task):
    _mark_if_tracked(my_task)
    return _update(spec, my_task)


def _marked_child(task, task_spec, state=TaskState.MAYBE):
    child = _add_child(task, task_spec, state)
    _mark_if_tracked(task)
    _mark_if_tracked(child)
    return child


def _marked_removal(workflow, task):
    top = workflow.top_workflow
    if _MARKED in top.__dict__:
        top.__dict__.setdefault(_REMOVED, set()).add(task.id)
        parent = workflow.tasks.get(task._parent)
        if parent is not None:
            _mark_if_tracked(parent)
    _task_removed_notify(workflow, task)


TaskSpec._update = _marked_update
Task._add_child = _marked_child
Workflow._task_removed_notify = _marked_removal
