"""Marks tasks whose saved form changed without a change of state.

Durable storage writes only the tasks that changed since the last commit:
unfinished ones, ones whose state changed, and the ones marked here. Every
Maestro code path that edits a finished task's data, internal data or
children marks it (SpiffWorkflow itself only edits unfinished tasks, or
changes a task's state when it edits it).
"""


def mark(task):
    top = task.workflow.top_workflow
    marked = getattr(top, "maestro_touched", None)
    if marked is None:
        marked = top.maestro_touched = set()
    marked.add(task.id)


def take(workflow):
    """The ids marked since the last call, clearing them."""
    marked = getattr(workflow, "maestro_touched", None) or set()
    workflow.maestro_touched = set()
    return marked
