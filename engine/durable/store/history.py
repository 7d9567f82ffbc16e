"""History: turning task state changes of a running instance into rows (store.instance_rows reads them)."""
from datetime import datetime, timezone

from SpiffWorkflow.util.task import TaskState

from engine.run.compensation import UNDO_OF
from engine.run.instance import element_type
from engine.run.runtime import ATTEMPT

# TaskState.get_name looks the name up anew at every call; a row per state change adds up.
_STATE_NAMES = {state: TaskState.get_name(state) for state in
                (TaskState.READY, TaskState.WAITING, TaskState.STARTED, TaskState.COMPLETED, TaskState.ERROR,
                 TaskState.CANCELLED)}
# What SpiffWorkflow expects to happen (MAYBE, LIKELY) or will happen (FUTURE): not a row of history,
# which says only what happened.
PREDICTED = TaskState.PREDICTED_MASK | TaskState.FUTURE


class HistoryRecorder:
    """Remembers the state of every visible task at the last save; reports what changed since."""

    def __init__(self, instance):
        self.instance = instance
        self.seen = {str(t.id): _mark(t) for t in self._visible()}
        self.started_at = {}  # task id -> when it became ready, for the tasks this recorder saw start
        self.durations = []  # (task entry, seconds from ready to completed) since the last take_durations()

    def _visible(self):
        top = self.instance.workflow
        for workflow in (top, *top.subprocesses.values()):
            for task in workflow.tasks.values():
                if task.task_spec.bpmn_id is not None:
                    yield task

    def changes(self, actor, candidates):
        """Rows (as dicts for an INSERT) for the visible tasks among `candidates` that changed
        since the last call: every task whose state changed must be among them."""
        calls = self.instance.workflow.script_engine.calls
        entries = []
        for task in {task.id: task for task in candidates}.values():
            spec = task.task_spec
            if spec.bpmn_id is None:
                continue
            task_id, mark = str(task.id), _mark(task)
            if self.seen.get(task_id) == mark:
                continue
            self.seen[task_id] = mark  # also for a prediction: a later return to the state seen before is news
            if task._state & PREDICTED:
                continue
            data_in, data_out = calls.pop(task_id, (None, None))
            internal = task.internal_data
            entries.append(dict(
                instance_id=self.instance.id, task_id=task_id, bpmn_id=spec.bpmn_id,
                name=spec.bpmn_name or spec.bpmn_id, type=element_type(spec), state=_state_name(task._state),
                undo_of=internal.get(UNDO_OF), actor=actor,
                at=datetime.fromtimestamp(task.last_state_change, timezone.utc),  # when SpiffWorkflow changed it
                data_in=data_in, data_out=data_out, error=internal.get("maestro_error"),
            ))
            self._time(entries[-1])
        return entries

    def _time(self, entry):
        if entry["state"] in ("READY", "WAITING", "STARTED"):
            self.started_at.setdefault(entry["task_id"], entry["at"])
        elif entry["task_id"] in self.started_at:
            started = self.started_at.pop(entry["task_id"])
            if entry["state"] == "COMPLETED":
                self.durations.append((entry, (entry["at"] - started).total_seconds()))

    def take_durations(self):
        durations, self.durations = self.durations, []
        return durations


def _state_name(state):
    return _STATE_NAMES.get(state) or TaskState.get_name(state)


def _mark(task):
    """What makes a change worth a row: a new state, or another attempt (a retry that failed again)."""
    return task._state, task.internal_data.get(ATTEMPT, 0)

