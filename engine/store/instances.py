"""Reading and writing instance state: the instance row, its task rows, its history rows.

All table-level SQL: on the worker's hot path the ORM's bookkeeping would
cost more than the writes themselves.
"""
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..serializer import SERIALIZER
from .history import HistoryRecorder
from .jobs import LeaseLost, now
from .models import HistoryEntry, InstanceTask
from .models import Instance as InstanceRow
from .task_rows import TaskDelta, assemble, skeleton

INSTANCES, TASKS, HISTORY = InstanceRow.__table__, InstanceTask.__table__, HistoryEntry.__table__

# Built once: building SQLAlchemy statements costs more than running them on this path.
_STATE_VALUES = dict(state=bindparam("state"), variables=bindparam("variables"), updated_at=bindparam("updated_at"),
                     status=bindparam("status"), error=bindparam("error"), ended_at=bindparam("ended_at"))
UPDATE_STATE = update(INSTANCES).where(INSTANCES.c.id == bindparam("instance")).values(**_STATE_VALUES)
DELETE_TASKS = delete(TASKS).where(TASKS.c.instance_id == bindparam("instance"),
                                   TASKS.c.task_id.in_(bindparam("ids", expanding=True)))
INSERT_HISTORY = insert(HISTORY)


def _upsert_tasks(dialect_insert):
    statement = dialect_insert(TASKS)
    return statement.on_conflict_do_update(
        index_elements=[TASKS.c.instance_id, TASKS.c.task_id],
        set_={"body": statement.excluded.body, "workflow": statement.excluded.workflow},
    )


UPSERT_TASKS = {"postgresql": _upsert_tasks(postgres_insert), "sqlite": _upsert_tasks(sqlite_insert)}


def read_state(connection, instance_id, skeleton_text):
    """The saved workflow in SpiffWorkflow's format, ready for SERIALIZER.from_dict."""
    rows = connection.execute(
        select(TASKS.c.workflow, TASKS.c.task_id, TASKS.c.body).where(TASKS.c.instance_id == instance_id)
    ).all()
    saved = assemble(skeleton_text, rows)
    SERIALIZER.migrate(saved)
    return saved


class InstanceWriter:
    """Writes what changed in one loaded (or new) instance since the last write."""

    def __init__(self, instance):
        self.instance = instance
        # An instance built from its start data has no rows yet: its first write writes every task.
        unsaved = getattr(instance, "unsaved", False)
        self.delta = TaskDelta(instance.workflow) if unsaved else TaskDelta.loaded(instance.workflow)
        self.recorder = HistoryRecorder(instance)

    def write(self, connection, actor, status, error=None, ended_at=None):
        """Writes the instance's changes (the caller holds its lease, see jobs)."""
        write_round(connection, [self.prepare(actor, status, error, ended_at)])

    def prepare(self, actor, status, error=None, ended_at=None):
        """What changed since the last write, ready for `write_round`."""
        upserts, removed, written = self.delta.changes()
        return Prepared(
            instance_id=self.instance.id,
            values={"instance": self.instance.id, "state": skeleton(self.instance.workflow),
                    "variables": self.instance.data, "updated_at": now(), "status": status, "error": error,
                    "ended_at": ended_at},
            upserts=[{"instance_id": self.instance.id, **row} for row in upserts],
            removed=removed,
            history=self.recorder.changes(actor, written),
        )



@dataclass
class Prepared:
    instance_id: str
    values: dict
    upserts: list
    removed: list
    history: list


def write_round(connection, prepared):
    """Writes several instances' changes with one statement per table (a group commit's writes).

    The caller holds the instances' leases in the same transaction (jobs.renew_all).
    """
    saved = connection.execute(UPDATE_STATE, [p.values for p in prepared]).rowcount
    if saved != len(prepared):
        raise LeaseLost(", ".join(p.instance_id for p in prepared))
    for p in prepared:
        if p.removed:
            connection.execute(DELETE_TASKS, {"instance": p.instance_id, "ids": p.removed})
    upserts = [row for p in prepared for row in p.upserts]
    if upserts:
        connection.execute(UPSERT_TASKS[connection.dialect.name], upserts)
    history = [entry for p in prepared for entry in p.history]
    if history:
        connection.execute(INSERT_HISTORY, history)
