"""An operator's edit of a failed instance's variables, applied where the tasks to run will read them.

SpiffWorkflow keeps data per task: the instance's variables as shown are the data of the task that
completed last, while the failed task holds its own copy, taken when it became ready. An edit is the
whole object the operator saw (the shown variables, changed): its differences from them are applied
to both, so that the retried task and every task after it see the edited values.
"""
from copy import deepcopy
from typing import Any

from SpiffWorkflow.task import Task

from .spiff import touched


def differences(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[str]]:
    """{"added", "changed", "removed"}: the names of the variables an edit from `before` to `after` touched."""
    return {"added": sorted(name for name in after if name not in before),
            "changed": sorted(name for name in after if name in before and after[name] != before[name]),
            "removed": sorted(name for name in before if name not in after)}


def apply(shown_task: Task | None, shown: dict[str, Any], failed: Task | None, edited: dict[str, Any]) -> dict:
    """Applies `edited` (the operator's version of `shown`, the variables of `shown_task`) to those
    variables and to the `failed` task's own; returns the differences (see `differences`)."""
    found = differences(shown, edited)
    targets = {id(shown): shown}
    if failed is not None:
        targets[id(failed.data)] = failed.data
    for data in targets.values():
        for name in found["removed"]:
            data.pop(name, None)
        for name in (*found["added"], *found["changed"]):
            data[name] = deepcopy(edited[name])
    for task in (shown_task, failed):
        if task is not None:
            touched.mark(task)  # its data changed without a change of state: its row is written
    return found
