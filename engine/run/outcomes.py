"""How an instance that completed ended: normally, or rolled back (its saga's undo tasks ran).

The status stays "completed" either way (DESIGN.md, "Statuses"); the outcome says which, and the
end event reached names where it ended ("Order cancelled"). Worked out once, when the instance
completes, and kept in its row so that lists filter on it without reading its history.
"""
from typing import Literal

from SpiffWorkflow.util.task import TaskState

from .compensation import UNDO_OF
from .instance import element_type

Outcome = Literal["completed", "rolled_back"]
COMPLETED: Outcome = "completed"
ROLLED_BACK: Outcome = "rolled_back"
OUTCOMES: tuple[Outcome, ...] = (COMPLETED, ROLLED_BACK)


def outcome_of(workflow) -> tuple[Outcome, str | None]:
    """(the outcome, the name of the end event it reached, or None when that end has no name) of a completed
    workflow."""
    undone, end, end_order = False, None, -1.0
    for process in (workflow, *workflow.subprocesses.values()):
        for task in process.tasks.values():
            if task.state != TaskState.COMPLETED:
                continue
            if task.internal_data.get(UNDO_OF):
                undone = True
            # The newest end reached is where the instance ended: an inner subprocess's end comes before its
            # parent's, an interrupting event subprocess's (a saga's "Order cancelled") is the last.
            if element_type(task.task_spec) == "endEvent" and task.last_state_change >= end_order:
                end, end_order = task.task_spec.bpmn_name, task.last_state_change  # None: an unnamed end
    return (ROLLED_BACK if undone else COMPLETED), end

