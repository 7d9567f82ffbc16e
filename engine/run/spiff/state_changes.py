"""The tasks whose state changed since the last look, for instances that are being tracked.

A worker writes history rows for the tasks a step changed and checks them for
waiting timers (engine.durable.replay). Rescanning the whole task tree for that at
every step would make a step's cost grow with the length of the process;
instead every state change (SpiffWorkflow makes them all in Task._set_state)
is noted on the instance's top workflow while a writer tracks it. Changes into
READY or WAITING also go to the index of live tasks (live_tasks).
"""
import logging
import time

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.task import logger as spiff_task_logger
from SpiffWorkflow.util.task import TaskState

from . import live_tasks

_LIVE = TaskState.READY | TaskState.WAITING
_CHANGED = "maestro_state_changes"
_GONE = "maestro_state_changes_gone"
_set_state = Task._set_state
_PREDICTED = TaskState.PREDICTED_MASK | TaskState.FUTURE


def _noting_set_state(task, value):
    if value == task._state:
        _set_state(task, value)
    else:
        changed = getattr(task.workflow.top_workflow, _CHANGED, None)
        if changed is not None:
            changed[task.id] = task
        if spiff_task_logger.isEnabledFor(logging.INFO):
            _set_state(task, value)
        else:
            # What SpiffWorkflow's own does, less building a log record nobody reads (paid at every change).
            task.last_state_change = time.time()
            task._state = value
    if value & _LIVE:  # also when set again: a task born READY or WAITING may become so only this way
        live_tasks.note(task)


Task._set_state = _noting_set_state
_delete_subprocess = BpmnWorkflow.delete_subprocess


def note_gone(top, tasks):
    """Notes tasks that left the tree (see take_gone); predicted ones never showed, so they are not noted."""
    gone = getattr(top, _GONE, None)
    if gone is not None:
        gone.extend(task for task in tasks if not task._state & _PREDICTED)


def _noting_delete_subprocess(workflow, task):
    deleted = _delete_subprocess(workflow, task)
    note_gone(workflow, deleted)
    return deleted


BpmnWorkflow.delete_subprocess = _noting_delete_subprocess


def track(top):
    """Starts noting the state changes of the instance whose top workflow is `top`."""
    setattr(top, _CHANGED, {})
    setattr(top, _GONE, [])


def take(top):
    """The tasks (still in the tree) whose state changed since the last call or `track`."""
    changed = getattr(top, _CHANGED)
    setattr(top, _CHANGED, {})
    return [task for task in changed.values() if task.workflow.tasks.get(task.id) is task]


def take_gone(top):
    """The tasks that left the tree with a deleted subprocess (one an event interrupted, a finished
    multi-instance's children) since the last call: their last state is no longer theirs to show."""
    gone = getattr(top, _GONE, None) or []
    setattr(top, _GONE, [])
    return gone
