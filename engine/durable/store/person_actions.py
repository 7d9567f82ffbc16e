"""History rows of what a person did, beside the rows of the tasks' changes of state: a task claimed or
given back, a failed task retried, an instance's variables changed, the instance suspended or resumed,
a token moved, the instance migrated to another version.

They are history like the rest (one table, one order: who did what, when), but no task's state: the
read model's tasks (views.tasks_from_history), the task lists' table (user_task_rows) and the
timeline's durations leave them out, all by their state (is_person_action).
"""
from sqlalchemy import insert, select

from .jobs import now
from .models import HistoryEntry

ON_A_TASK = ("CLAIMED", "UNCLAIMED", "RETRIED")
ON_THE_INSTANCE = ("VARIABLES", "SUSPENDED", "RESUMED")
SURGERY = ("MOVED", "MIGRATED")  # an operator's: the row's name is the sentence a person reads
STATES = ON_A_TASK + ON_THE_INSTANCE + SURGERY
INSTANCE_ACTION = "action"  # the `type` of a row about the whole instance (it names no task)

_HISTORY = HistoryEntry.__table__
_NAME_LENGTH = 255  # the history table's name column


def is_person_action(entry: dict) -> bool:
    """Whether a history entry says what a person did rather than how a task's state changed."""
    return entry["state"] in STATES


def add(connection, instance_id: str, task_id: str, state: str, actor: str, *, bpmn_id: str | None,
        name: str | None, kind: str | None, details_in: dict | None = None,
        details_out: dict | None = None) -> None:
    """Adds the row of an action (`state`: one of STATES) by `actor`; `kind` is the row's type."""
    if state not in STATES:
        raise ValueError(f"not a person's action: {state!r}")
    connection.execute(insert(_HISTORY), [dict(
        instance_id=instance_id, task_id=task_id, bpmn_id=bpmn_id, name=name[:_NAME_LENGTH] if name else name,
        type=kind, state=state, undo_of=None, actor=actor, at=now(), data_in=details_in, data_out=details_out,
        error=None)])


def on_task(connection, instance_id: str, task_id: str, state: str, actor: str) -> None:
    """An action on a task known only by its id (e.g. RETRIED): its element, name and type are those of
    the task's newest entry."""
    newest = connection.execute(
        select(HistoryEntry.bpmn_id, HistoryEntry.name, HistoryEntry.type)
        .where(HistoryEntry.instance_id == instance_id, HistoryEntry.task_id == task_id)
        .order_by(HistoryEntry.id.desc()).limit(1)).first()
    bpmn_id, name, kind = newest if newest is not None else (None, None, None)
    add(connection, instance_id, task_id, state, actor, bpmn_id=bpmn_id, name=name, kind=kind)


def on_instance(connection, instance_id: str, state: str, name: str, actor: str,
                details: dict | None = None) -> None:
    """An action on the whole instance (VARIABLES, SUSPENDED, RESUMED): `name` says what happened,
    `details` its particulars (the variables' names, never their values; the reason)."""
    add(connection, instance_id, instance_id, state, actor, bpmn_id=None, name=name, kind=INSTANCE_ACTION,
        details_out=details)


def surgery(connection, instance_id: str, task_id: str, bpmn_id: str | None, state: str, text: str, actor: str,
            details: dict) -> None:
    """A token moved or the instance migrated: `text` the sentence a person reads, `details` its parts."""
    if state not in SURGERY:
        raise ValueError(f"not an operator's surgery: {state!r}")
    add(connection, instance_id, task_id, state, actor, bpmn_id=bpmn_id, name=text, kind="operatorAction",
        details_in=details)
