"""Turns task state changes of a running instance into history rows."""
from SpiffWorkflow.util.task import TaskState

from ..instance import describe_task
from .jobs import now


class HistoryRecorder:
    """Remembers the state of every visible task at the last save; reports what changed since."""

    def __init__(self, instance):
        self.instance = instance
        self.seen = {str(t.id): _mark(t) for t in self._visible()}

    def _visible(self):
        top = self.instance.workflow
        for workflow in (top, *top.subprocesses.values()):
            for task in workflow.tasks.values():
                if task.task_spec.bpmn_id is not None:
                    yield task

    def changes(self, actor, candidates=None):
        """Rows (as dicts for an INSERT) for every visible task that changed since the last call.

        `candidates`, when given, are the only tasks that can have changed (those just written).
        """
        calls = self.instance.workflow.script_engine.calls
        entries = []
        tasks = self._visible() if candidates is None else (t for t in candidates if t.task_spec.bpmn_id is not None)
        for task in tasks:
            task_id = str(task.id)
            if self.seen.get(task_id) == _mark(task) or task.state & TaskState.PREDICTED_MASK:
                continue
            self.seen[task_id] = _mark(task)
            described = describe_task(task)
            data_in, data_out = calls.pop(task_id, (None, None))
            entries.append(dict(
                instance_id=self.instance.id, task_id=task_id, bpmn_id=described["bpmn_id"],
                name=described["name"], type=described["type"], state=described["state"],
                undo_of=described["undo_of"], actor=actor, at=now(), data_in=data_in, data_out=data_out,
                error=described["error"],
            ))
        return entries


def _mark(task):
    """What makes a change worth a row: a new state, or another attempt (a retry that failed again)."""
    return task.state, task.internal_data.get("maestro_attempt", 0)
