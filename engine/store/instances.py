"""Reading and writing instance state: the instance row, its task rows, its history rows.

All table-level SQL: on the worker's hot path the ORM's bookkeeping would
cost more than the writes themselves.
"""
from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..serializer import SERIALIZER
from .history import HistoryRecorder
from .jobs import JOBS, LeaseLost, now
from .models import HistoryEntry, InstanceTask
from .models import Instance as InstanceRow
from .task_rows import TaskDelta, assemble, skeleton

INSTANCES, TASKS, HISTORY = InstanceRow.__table__, InstanceTask.__table__, HistoryEntry.__table__


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

    def write(self, connection, actor, lease_holder=None, **fields):
        """Updates the instance; with `lease_holder`, only while that worker holds the lease."""
        condition = INSTANCES.c.id == self.instance.id
        if lease_holder is not None:
            condition &= exists(select(JOBS.c.instance_id).where(
                JOBS.c.instance_id == self.instance.id, JOBS.c.locked_by == lease_holder))
        saved = connection.execute(update(INSTANCES).where(condition).values(
            state=skeleton(self.instance.workflow), variables=self.instance.data, updated_at=now(), **fields
        )).rowcount
        if saved != 1:
            raise LeaseLost(self.instance.id)
        upserts, removed, written = self.delta.changes()
        self._write_tasks(connection, upserts, removed)
        entries = self.recorder.changes(actor, written)
        if entries:
            connection.execute(insert(HISTORY), entries)

    def _write_tasks(self, connection, upserts, removed):
        if removed:
            connection.execute(delete(TASKS).where(TASKS.c.instance_id == self.instance.id,
                                                   TASKS.c.task_id.in_(removed)))
        if upserts:
            rows = [{"instance_id": self.instance.id, **row} for row in upserts]
            statement = (postgres_insert if connection.dialect.name == "postgresql" else sqlite_insert)(TASKS)
            connection.execute(statement.on_conflict_do_update(
                index_elements=[TASKS.c.instance_id, TASKS.c.task_id],
                set_={"body": statement.excluded.body, "workflow": statement.excluded.workflow},
            ), rows)
