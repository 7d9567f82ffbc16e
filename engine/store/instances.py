"""Reading and writing instance state: the instance row, its task rows, its history rows.

All table-level SQL: on the worker's hot path the ORM's bookkeeping would
cost more than the writes themselves.
"""
from sqlalchemy import bindparam, delete, exists, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..serializer import SERIALIZER
from .history import HistoryRecorder
from .jobs import JOBS, LeaseLost, now
from .models import HistoryEntry, InstanceTask
from .models import Instance as InstanceRow
from .task_rows import TaskDelta, assemble, skeleton

INSTANCES, TASKS, HISTORY = InstanceRow.__table__, InstanceTask.__table__, HistoryEntry.__table__

# Built once: building SQLAlchemy statements costs more than running them on this path.
_STATE_VALUES = dict(state=bindparam("state"), variables=bindparam("variables"), updated_at=bindparam("updated_at"),
                     status=bindparam("status"), error=bindparam("error"), ended_at=bindparam("ended_at"))
UPDATE_STATE = update(INSTANCES).where(INSTANCES.c.id == bindparam("instance")).values(**_STATE_VALUES)
UPDATE_STATE_UNDER_LEASE = update(INSTANCES).where(
    INSTANCES.c.id == bindparam("instance"),
    exists(select(JOBS.c.instance_id).where(JOBS.c.instance_id == bindparam("instance"),
                                            JOBS.c.locked_by == bindparam("holder"))),
).values(**_STATE_VALUES)
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

    def __init__(self, instance, new=False):
        self.instance = instance
        self.delta = TaskDelta(instance.workflow) if new else TaskDelta.loaded(instance.workflow)
        self.recorder = HistoryRecorder(instance)

    def insert(self, connection, **fields):
        upserts, _, _ = self.delta.changes()
        connection.execute(insert(INSTANCES).values(
            id=self.instance.id, state=skeleton(self.instance.workflow), variables=self.instance.data, **fields))
        self._write_tasks(connection, upserts, [])

    def write(self, connection, actor, status, error=None, ended_at=None, lease_holder=None):
        """Updates the instance; with `lease_holder`, only while that worker holds the lease."""
        values = {"instance": self.instance.id, "state": skeleton(self.instance.workflow),
                  "variables": self.instance.data, "updated_at": now(), "status": status, "error": error,
                  "ended_at": ended_at}
        if lease_holder is None:
            saved = connection.execute(UPDATE_STATE, values).rowcount
        else:
            saved = connection.execute(UPDATE_STATE_UNDER_LEASE, {**values, "holder": lease_holder}).rowcount
        if saved != 1:
            raise LeaseLost(self.instance.id)
        upserts, removed, written = self.delta.changes()
        self._write_tasks(connection, upserts, removed)
        entries = self.recorder.changes(actor, written)
        if entries:
            connection.execute(INSERT_HISTORY, entries)

    def _write_tasks(self, connection, upserts, removed):
        if removed:
            connection.execute(DELETE_TASKS, {"instance": self.instance.id, "ids": removed})
        if upserts:
            rows = [{"instance_id": self.instance.id, **row} for row in upserts]
            connection.execute(UPSERT_TASKS[connection.dialect.name], rows)
