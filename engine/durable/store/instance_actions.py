"""A person's actions on a whole instance (its variables changed, suspended, resumed) as history rows.

They are history like a task's state changes, in the same table and order, so that an instance's
history tells who did what when; they belong to no task (engine/durable/views.py leaves them out
of the instance's tasks). `name` says what happened, `data_out` the details (the variables' names,
never their values; the reason).
"""
from .jobs import now
from .models import HistoryEntry

ACTION = "action"  # the `type` of such a row
HISTORY = HistoryEntry.__table__


def record(connection, instance_id: str, state: str, name: str, actor: str, details: dict | None = None) -> None:
    """Adds the row of an action (`state`: VARIABLES, SUSPENDED, RESUMED) to the instance's history."""
    connection.execute(HISTORY.insert(), {
        "instance_id": instance_id, "task_id": instance_id, "bpmn_id": None, "name": name, "type": ACTION,
        "state": state, "undo_of": None, "actor": actor, "at": now(), "data_in": None, "data_out": details,
        "error": None})


def is_action(entry: dict) -> bool:
    return entry["type"] == ACTION
