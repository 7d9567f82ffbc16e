"""The messages table: messages and signals published by a step (in its commit) or from outside, due
for the workers that deliver them; their deliveries; and the subscriptions they are delivered by.

A message's life: pending (due: a worker claims it with a lease, as jobs are claimed) -> delivered
(every receiver found got it) or buffered (nobody waited: kept until it expires, woken when a
matching catch starts waiting) -> expired. Each receiver's delivery row is written in the
receiver's own commit, under unique keys: a receiver gets a message once, whatever dies when.
"""
import uuid
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, or_, select, union_all, update

from . import locks
from .jobs import _aware, now
from .models import Delivery, Message, Subscription

MESSAGES, DELIVERIES, SUBSCRIPTIONS = Message.__table__, Delivery.__table__, Subscription.__table__
PENDING, DELIVERED, BUFFERED, EXPIRED = "pending", "delivered", "buffered", "expired"

_FREE = or_(MESSAGES.c.lease_until.is_(None), MESSAGES.c.lease_until < bindparam("now"))
_DUE = select(MESSAGES.c.id).where(MESSAGES.c.status.in_((PENDING, BUFFERED)),
                                   MESSAGES.c.due_at <= bindparam("now"), _FREE) \
    .order_by(MESSAGES.c.due_at).limit(bindparam("limit"))
_TAKE = update(MESSAGES).where(MESSAGES.c.id.in_(bindparam("ids", expanding=True)), _FREE) \
    .values(locked_by=bindparam("worker"), lease_until=bindparam("lease_until")).returning(MESSAGES.c.id)
_BY_ID = select(MESSAGES).where(MESSAGES.c.id == bindparam("id"))
_DELIVERED_TO = select(DELIVERIES.c.instance_id, DELIVERIES.c.process_key) \
    .where(DELIVERIES.c.message_id == bindparam("id"))
# Only messages to deliver: a buffered one falls due to expire, which no one waits for (`worker
# --until-idle` must not wait an hour for it); a worker expires it when it next looks.
_NEXT_DUE = select(MESSAGES.c.due_at, MESSAGES.c.lease_until) \
    .where(MESSAGES.c.status == PENDING).order_by(MESSAGES.c.due_at).limit(1)
_RECEIVERS = select(SUBSCRIPTIONS.c.instance_id, SUBSCRIPTIONS.c.element, SUBSCRIPTIONS.c.since)
INSERT_MESSAGES = insert(MESSAGES)


def new_message(kind: str, name: str, payload: dict, published_by: str, *, correlation: str | None = None,
                business_key: str | None = None, match_variables: dict | None = None,
                ttl_seconds: float | None = None, source_instance_id: str | None = None,
                source_element: str | None = None, trace: str | None = None) -> dict:
    """The row of a message to publish, due now."""
    moment = now()
    return {"id": str(uuid.uuid4()), "kind": kind, "name": name, "correlation": correlation,
            "business_key": business_key, "match_variables": match_variables, "payload": payload,
            "status": PENDING, "due_at": moment, "locked_by": None, "lease_until": None,
            "published_at": moment, "published_by": published_by,
            "expires_at": moment + timedelta(seconds=ttl_seconds or 0), "ended_at": None,
            "source_instance_id": source_instance_id, "source_element": source_element, "trace": trace,
            "attempts": 0}


def add(connection, rows: list[dict]) -> None:
    if rows:
        connection.execute(INSERT_MESSAGES, rows)


def claim(connection, worker: str, lease_seconds: float, limit: int) -> list[str]:
    """Ids of up to `limit` due messages, oldest first, leased to `worker` (not committed)."""
    moment = now()
    due = _DUE.with_for_update(skip_locked=True) if connection.dialect.name == "postgresql" else _DUE
    ids = connection.execute(due, {"now": moment, "limit": limit}).scalars().all()
    if not ids:
        return []
    taken = set(connection.execute(_TAKE, {"ids": ids, "now": moment, "worker": worker,
                                           "lease_until": moment + timedelta(seconds=lease_seconds)}).scalars())
    return [message_id for message_id in ids if message_id in taken]


def get(connection, message_id: str):
    return connection.execute(_BY_ID, {"id": message_id}).first()


def delivered_to(connection, message_id: str) -> tuple[set, set]:
    """(ids of the instances it reached or started, keys of the processes it started)."""
    rows = connection.execute(_DELIVERED_TO, {"id": message_id}).all()
    return {row.instance_id for row in rows}, {row.process_key for row in rows if row.process_key}


def add_delivery(connection, message_id: str, instance_id: str, element: str | None,
                 process_key: str | None = None) -> None:
    connection.execute(insert(DELIVERIES), {"message_id": message_id, "instance_id": instance_id, "element": element,
                                            "process_key": process_key, "delivered_at": now()})


def receivers(connection, message) -> list:
    """The subscriptions (instance_id, element, since) a message reaches by its key, those waiting
    longest first: index lookups, whatever the number of instances waiting for other keys.

    By a publish's business key: the instances with that business key. By a key: the catches whose
    diagram key is that value, those without one whose instance's business key is that value, and
    those reached by name alone (neither). Without a key: every catch of its name.
    """
    columns = _RECEIVERS.where(SUBSCRIPTIONS.c.kind == message.kind, SUBSCRIPTIONS.c.name == message.name)
    by_business_key = (message.match_variables or {}).get("business_key")
    if by_business_key is not None:
        branches = [columns.where(SUBSCRIPTIONS.c.business_key == str(by_business_key))]
    elif message.correlation is not None:
        # Three disjoint lookups, each on its index: SQLite reads an OR of them as one range over every
        # catch of the name, which grows with the instances that wait (bench/bench_correlation.py).
        no_key = SUBSCRIPTIONS.c.correlation_key.is_(None)
        branches = [columns.where(SUBSCRIPTIONS.c.correlation_key == message.correlation),
                    columns.where(no_key, SUBSCRIPTIONS.c.business_key == message.correlation),
                    columns.where(no_key, SUBSCRIPTIONS.c.business_key.is_(None))]
    else:
        branches = [columns]
    found = union_all(*branches).subquery() if len(branches) > 1 else branches[0].subquery()
    return connection.execute(select(found).order_by(found.c.since, found.c.instance_id)).all()


def finish(connection, message_id: str, status: str) -> None:
    """The message is delivered or expired: nothing more is due for it."""
    moment = now()
    _let_go(connection, message_id, status=status, ended_at=moment, due_at=moment)


def buffer(connection, message_id: str, until: datetime) -> None:
    """Nobody waits for it: kept until `until`, when it is due once more (to expire)."""
    _let_go(connection, message_id, status=BUFFERED, due_at=until)


def again_at(connection, message_id: str, due_at: datetime) -> None:
    """Some receivers were busy: due again at `due_at` for them (a buffered one stays buffered)."""
    _let_go(connection, message_id, due_at=due_at, attempts=MESSAGES.c.attempts + 1)


def _let_go(connection, message_id, **values):
    """Writes what became of a message its deliverer is done with, and ends the deliverer's lease."""
    connection.execute(update(MESSAGES).where(MESSAGES.c.id == message_id).values(
        locked_by=None, lease_until=None, **values))


def wake_buffered(connection, subscriptions: list[dict]) -> None:
    """Makes the buffered messages that these subscriptions (new ones, in the transaction that writes
    them) may take due now; the worker that delivers them decides exactly.

    Under each name's lock, taken in the order of their keys (no deadlock): a message of that name
    being buffered meanwhile either is seen here or sees these rows (deliveries.py takes the lock to
    buffer).
    """
    for key in sorted({locks.message_name(row["name"]) for row in subscriptions if row["kind"] == "message"}):
        locks.hold_until_commit(connection, key)
    moment = now()
    for row in subscriptions:
        if row["kind"] != "message":
            continue
        keys = [key for key in (row["correlation_key"], row["business_key"]) if key is not None]
        conditions = [MESSAGES.c.status == BUFFERED, MESSAGES.c.kind == "message", MESSAGES.c.name == row["name"],
                      MESSAGES.c.expires_at > moment]
        if keys:  # else it is reached by name alone: any buffered message of its name may be for it
            conditions.append(or_(MESSAGES.c.correlation.is_(None), MESSAGES.c.correlation.in_(keys)))
        connection.execute(update(MESSAGES).where(*conditions).values(due_at=moment))


def wake_for(connection, instance_id: str) -> None:
    """Makes the buffered messages the instance's catches may take due now (it can take messages again:
    a failed instance retried)."""
    wake_buffered(connection, [dict(row._mapping) for row in connection.execute(
        select(SUBSCRIPTIONS.c.kind, SUBSCRIPTIONS.c.name, SUBSCRIPTIONS.c.correlation_key,
               SUBSCRIPTIONS.c.business_key).where(SUBSCRIPTIONS.c.instance_id == instance_id))])


def next_due(connection) -> datetime | None:
    """When a message is next due for delivery (its lease's end when leased), or None."""
    row = connection.execute(_NEXT_DUE).first()
    if row is None:
        return None
    due_at, lease_until = _aware(row.due_at), _aware(row.lease_until)
    return max(due_at, lease_until) if lease_until else due_at


def deliveries(connection, message_ids) -> list:
    """The delivery rows of these messages, in the order they were made."""
    return connection.execute(select(DELIVERIES).where(DELIVERIES.c.message_id.in_(list(message_ids)))
                              .order_by(DELIVERIES.c.id)).all()
