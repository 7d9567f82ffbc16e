"""What an event path reads (engine/durable/event_paths.py): the instances and messages a business key
or a correlation value names, the links between them (who sent what, who took it), and the history
rows worth a line on its timeline. Every query is one index lookup per batch of ids: instances by
business key, messages by business key, correlation and source, deliveries by message and instance.
"""
from sqlalchemy import and_, bindparam, not_, or_, select

from .models import Delivery, HistoryEntry, Message
from .models import Instance as InstanceRow

MESSAGES, DELIVERIES, HISTORY = Message.__table__, Delivery.__table__, HistoryEntry.__table__
INSTANCES = InstanceRow.__table__

_IDS = bindparam("ids", expanding=True)
# What a path tells of an instance (summaries.instance_summary): not its state or variables, which are large.
_INSTANCES_BY_ID = select(INSTANCES.c.id, INSTANCES.c.key, INSTANCES.c.version, INSTANCES.c.status,
                          INSTANCES.c.business_key, INSTANCES.c.started_by, INSTANCES.c.created_at,
                          INSTANCES.c.updated_at, INSTANCES.c.ended_at, INSTANCES.c.outcome, INSTANCES.c.end_event,
                          INSTANCES.c.error, INSTANCES.c.suspended_at, INSTANCES.c.suspended_by,
                          INSTANCES.c.suspended_reason).where(INSTANCES.c.id.in_(_IDS))
_INSTANCES_OF_KEY = select(INSTANCES.c.id).where(INSTANCES.c.business_key == bindparam("key")) \
    .order_by(INSTANCES.c.created_at).limit(bindparam("limit"))
_MESSAGES_OF_KEY = select(MESSAGES.c.id).where(or_(MESSAGES.c.business_key == bindparam("key"),
                                                   MESSAGES.c.correlation == bindparam("key"))) \
    .order_by(MESSAGES.c.published_at).limit(bindparam("limit"))
_MESSAGES_BY_ID = select(MESSAGES).where(MESSAGES.c.id.in_(_IDS))
_SENT_BY = select(MESSAGES.c.id).where(MESSAGES.c.source_instance_id.in_(_IDS)) \
    .order_by(MESSAGES.c.published_at).limit(bindparam("limit"))
_DELIVERIES_OF_MESSAGES = select(DELIVERIES).where(DELIVERIES.c.message_id.in_(_IDS)).order_by(DELIVERIES.c.id)
_DELIVERIES_TO = select(DELIVERIES).where(DELIVERIES.c.instance_id.in_(_IDS)) \
    .order_by(DELIVERIES.c.id).limit(bindparam("limit"))

# The history rows a timeline shows: every undo task and every failure (a task that failed, or whose
# BPMN error a boundary event caught), and the activities that completed. Events and gateways are
# left out: the messages, starts and ends tell those.
_UNDO_OR_FAILED = or_(HISTORY.c.state == "ERROR", HISTORY.c.error.is_not(None),
                      and_(HISTORY.c.undo_of.is_not(None), HISTORY.c.state == "COMPLETED"))
_ACTIVITY_COMPLETED = and_(HISTORY.c.state == "COMPLETED", HISTORY.c.undo_of.is_(None), HISTORY.c.error.is_(None),
                           not_(HISTORY.c.type.like("%Event")), not_(HISTORY.c.type.like("%Gateway")))
_HISTORY_COLUMNS = (HISTORY.c.id, HISTORY.c.instance_id, HISTORY.c.task_id, HISTORY.c.bpmn_id, HISTORY.c.name,
                    HISTORY.c.type, HISTORY.c.state, HISTORY.c.undo_of, HISTORY.c.at, HISTORY.c.error)
_UNDO_AND_FAILURES = select(*_HISTORY_COLUMNS).where(HISTORY.c.instance_id.in_(_IDS), _UNDO_OR_FAILED) \
    .order_by(HISTORY.c.id).limit(bindparam("limit"))
_COMPLETED_ACTIVITIES = select(*_HISTORY_COLUMNS).where(HISTORY.c.instance_id.in_(_IDS), _ACTIVITY_COMPLETED) \
    .order_by(HISTORY.c.id).limit(bindparam("limit"))


def instance_ids_of_key(connection, key: str, limit: int) -> list[str]:
    """Ids of up to `limit` instances whose business key is `key`, oldest first."""
    return list(connection.execute(_INSTANCES_OF_KEY, {"key": key, "limit": limit}).scalars())


def instances_by_ids(connection, instance_ids) -> list:
    """The summary columns of these instances, in no particular order."""
    ids = list(instance_ids)
    return connection.execute(_INSTANCES_BY_ID, {"ids": ids}).all() if ids else []


def message_ids_of_key(connection, key: str, limit: int) -> list[str]:
    """Ids of up to `limit` messages whose business key or correlation is `key`, oldest first."""
    return list(connection.execute(_MESSAGES_OF_KEY, {"key": key, "limit": limit}).scalars())


def messages_by_ids(connection, message_ids) -> list:
    """The rows of these messages, in no particular order."""
    ids = list(message_ids)
    return connection.execute(_MESSAGES_BY_ID, {"ids": ids}).all() if ids else []


def sent_by(connection, instance_ids, limit: int) -> list[str]:
    """Ids of up to `limit` messages these instances threw, oldest first."""
    ids = list(instance_ids)
    return list(connection.execute(_SENT_BY, {"ids": ids, "limit": limit}).scalars()) if ids else []


def deliveries_of(connection, message_ids) -> list:
    """The deliveries of these messages, in the order they were made."""
    ids = list(message_ids)
    return connection.execute(_DELIVERIES_OF_MESSAGES, {"ids": ids}).all() if ids else []


def deliveries_to(connection, instance_ids, limit: int) -> list:
    """Up to `limit` deliveries to these instances (messages they took, or were started by), oldest first."""
    ids = list(instance_ids)
    return connection.execute(_DELIVERIES_TO, {"ids": ids, "limit": limit}).all() if ids else []


def timeline_history(connection, instance_ids, limit: int) -> tuple[list, list]:
    """(every undo task and failure, the activities that completed) of these instances' history, each
    up to `limit` rows, oldest first."""
    ids = list(instance_ids)
    if not ids:
        return [], []
    parameters = {"ids": ids, "limit": limit}
    return (connection.execute(_UNDO_AND_FAILURES, parameters).all(),
            connection.execute(_COMPLETED_ACTIVITIES, parameters).all())
