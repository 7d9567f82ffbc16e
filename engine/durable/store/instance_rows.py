"""The instances table as the API sees it: adding an instance, finding, paging and counting instances,
and what an instance's page reads of it (its history, its task marks, its newest step's variables).

The worker's writes of a running instance's state are in instances.py.
"""
from sqlalchemy import bindparam, func, insert, or_, select, update

from .instance_filters import InstanceFilter
from .jobs import now
from .models import HistoryEntry, InstanceStep, TaskMark
from .models import Instance as InstanceRow

BUSINESS_KEY_LENGTH = InstanceRow.__table__.c.business_key.type.length
INSERT_INSTANCE = insert(InstanceRow.__table__)
_NEWEST_START = select(InstanceRow.definition_id, InstanceRow.called_definitions) \
    .where(InstanceRow.key == bindparam("key")).order_by(InstanceRow.created_at.desc()).limit(1)
SELECT_INSTANCES = select(InstanceRow.__table__).where(InstanceRow.id.in_(bindparam("ids", expanding=True)))
# What a page reads: table-level statements built once (a page is read often; the ORM would double its cost).
_OF_INSTANCE = bindparam("instance")
_HISTORY = select(HistoryEntry.__table__).where(HistoryEntry.instance_id == _OF_INSTANCE).order_by(HistoryEntry.id)
_MARKS = select(TaskMark.task_id, TaskMark.mark).where(TaskMark.instance_id == _OF_INSTANCE)
_NEWEST_VARIABLES = select(InstanceStep.variables).where(InstanceStep.instance_id == _OF_INSTANCE) \
    .order_by(InstanceStep.seq.desc()).limit(1)


def add(connection, values):
    """Inserts a new instance row (`values`: its columns)."""
    connection.execute(INSERT_INSTANCE, values)


def newest_start(connection, key):
    """(definition_id, called_definitions) of the newest instance of process `key`, or None (one index seek)."""
    return connection.execute(_NEWEST_START, {"key": key}).first()


def by_ids(connection, instance_ids):
    """The rows of these instances (table rows, not ORM objects), in no particular order."""
    return connection.execute(SELECT_INSTANCES, {"ids": list(instance_ids)}).all()


def history(connection, instance_id):
    """The instance's history rows (table rows), oldest first."""
    return connection.execute(_HISTORY, {"instance": instance_id}).all()


def task_marks(connection, instance_id):
    """{mark: {task id}} of the instance's task_marks."""
    marks: dict[str, set] = {}
    for task_id, mark in connection.execute(_MARKS, {"instance": instance_id}):
        marks.setdefault(mark, set()).add(task_id)
    return marks


def newest_step_variables(connection, instance_id):
    """The variables its newest logged step wrote (JSON text), or None when no step is logged."""
    return connection.execute(_NEWEST_VARIABLES, {"instance": instance_id}).scalar()


def page(session, filters: InstanceFilter, limit, after):
    """Up to `limit` + 1 instances, newest first, filtered; `after` is (created_at, id) of the last one seen.

    Pages by position (keyset), not by offset: the 2,000th page costs what the first does.
    """
    query = select(InstanceRow).where(*filters.conditions())
    if after:
        created_at, instance_id = after
        # The first condition alone is a range an index can seek to; the second breaks ties.
        query = query.where(InstanceRow.created_at <= created_at,
                            or_(InstanceRow.created_at < created_at, InstanceRow.id < instance_id))
    query = query.order_by(InstanceRow.created_at.desc(), InstanceRow.id.desc()).limit(limit + 1)
    return session.scalars(query).all()


def ids_matching(session, filters: InstanceFilter, limit: int) -> list[str]:
    """Ids of up to `limit` instances the filter matches, oldest first (a batch action's, in its order)."""
    query = select(InstanceRow.id).where(*filters.conditions()) \
        .order_by(InstanceRow.created_at, InstanceRow.id).limit(limit)
    return list(session.scalars(query))


def count_matching(session, filters: InstanceFilter) -> int:
    """How many instances the filter matches."""
    return session.scalar(select(func.count()).select_from(InstanceRow).where(*filters.conditions())) or 0


def counts(session):
    """{process key: {status: number of instances}}, and "rolled_back": how many of the completed ones
    rolled back (their outcome: engine.run.outcomes)."""
    found: dict[str, dict[str, int]] = {}
    by_status = select(InstanceRow.key, InstanceRow.status, InstanceRow.outcome, func.count()) \
        .group_by(InstanceRow.key, InstanceRow.status, InstanceRow.outcome)
    for key, status, outcome, number in session.execute(by_status):
        numbers = found.setdefault(key, {})
        numbers[status] = numbers.get(status, 0) + number
        if outcome == "rolled_back":
            numbers["rolled_back"] = numbers.get("rolled_back", 0) + number
    return found


def started_by_timer_below(session, key, below_version):
    """Running or waiting instances of `key`'s versions below `below_version` that a start timer began."""
    return session.scalars(select(InstanceRow).where(
        InstanceRow.key == key, InstanceRow.version < below_version, InstanceRow.started_by == "timer",
        InstanceRow.status.in_(("running", "waiting")))).all()


def any_running(connection, instance_ids) -> bool:
    """Whether any of these instances is running or waiting (not failed, suspended, ended or cancelled)."""
    if not instance_ids:
        return False
    return connection.execute(select(InstanceRow.id).where(
        InstanceRow.id.in_(list(instance_ids)), InstanceRow.status.in_(("running", "waiting")),
        InstanceRow.suspended_at.is_(None)).limit(1)).first() \
        is not None


def mark_failed(connection, instance_id):
    connection.execute(update(InstanceRow.__table__).where(InstanceRow.id == instance_id)
                       .values(status="failed", updated_at=now()))
