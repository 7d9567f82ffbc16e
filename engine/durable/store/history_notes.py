"""History rows that record what an operator did to an instance (a token moved, a migration to another
version), beside the rows of its tasks' changes of state. The read model's task list skips them
(views.tasks_from_history): they name no task that ran."""
from datetime import datetime, timezone

from sqlalchemy import insert

from .models import HistoryEntry

NOTE_STATES = ("MOVED", "MIGRATED")
_NAME_LENGTH = 255  # the history table's name column
_INSERT = insert(HistoryEntry.__table__)


def note(connection, instance_id: str, task_id: str, bpmn_id: str | None, state: str, text: str, actor: str,
         details: dict) -> None:
    """Adds the row: `state` one of NOTE_STATES, `text` the sentence a person reads (its name), `details`
    its parts as data (its data_in)."""
    if state not in NOTE_STATES:
        raise ValueError(f"not a note state: {state!r}")
    connection.execute(_INSERT, [dict(
        instance_id=instance_id, task_id=task_id, bpmn_id=bpmn_id, name=text[:_NAME_LENGTH], type="operatorAction",
        state=state, undo_of=None, actor=actor, at=datetime.now(timezone.utc), data_in=details, data_out=None,
        error=None)])
