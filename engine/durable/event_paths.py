"""The event path: every instance and message one business transaction involved, across processes,
as one story (DESIGN.md, "Messages between processes").

A path starts from the instances whose business key is a key and the messages whose business key
or correlation is that key (or from one instance), then follows what links them — the instance that
threw a message, the instances a message reached or started — until nothing new is found, or
MAX_INSTANCES instances or MAX_MESSAGES messages are (then it says `truncated`). It returns the
instances, the messages with their deliveries and how long each waited, the edges between them and
one timeline: instances started and ended, messages published, delivered, buffered, pending or
expired, and the tasks that completed, failed or undid work, in time order.
"""
from datetime import datetime, timezone
from typing import Any

from .errors import NotFound
from .messages import delivery_summary, message_summary
from .store import event_paths as store
from .store.db import read_snapshot
from .store.jobs import _aware
from .summaries import instance_summary, iso

MAX_INSTANCES = 500
MAX_MESSAGES = 500
# History rows on a timeline, per kind (undo tasks and failures; completed activities).
MAX_TASK_ROWS = 1000

# Among entries at the same moment, the order a reader expects (a cause before its effect).
_RANK = {"instance_started": 0, "task_completed": 1, "task_failed": 1, "message_published": 2,
         "message_pending": 3, "message_buffered": 3, "message_delivered": 4, "message_expired": 5,
         "instance_ended": 6}
_ENTRY_FIELDS = ("instance_id", "message_id", "name", "element", "status", "message_kind", "started",
                 "undo", "wait_seconds", "error", "until")


class EventPaths:
    """Maestro's event_path and instance_messages, over its Context: reads only."""

    def __init__(self, context: Any) -> None:
        self.context = context

    def event_path(self, key: str | None = None, instance_id: str | None = None) -> dict:
        """The path of business key or correlation value `key`, or of instance `instance_id` (NotFound
        when there is no such instance): {key, instance_id, truncated, instances, messages, edges,
        timeline}. A key nothing carries gives empty lists."""
        if (key is None) == (instance_id is None):
            raise ValueError("an event path starts from a key or from an instance, one of them")
        with self.context.Session() as session:
            connection = read_snapshot(session)  # one state of the database for every round of the walk
            walk = _Walk(connection)
            if instance_id is not None:
                if not store.instances_by_ids(connection, [instance_id]):
                    raise NotFound(f"no instance '{instance_id}'")
                walk.grow({instance_id}, set())
            else:
                walk.grow(set(store.instance_ids_of_key(connection, key, MAX_INSTANCES + 1)),
                          set(store.message_ids_of_key(connection, key, MAX_MESSAGES + 1)))
            deliveries = store.deliveries_of(connection, walk.messages)
            undo_and_failures, completed = store.timeline_history(connection, walk.instances, MAX_TASK_ROWS)
        truncated = walk.truncated or MAX_TASK_ROWS in (len(undo_and_failures), len(completed))
        return _path(key, instance_id, walk, deliveries, [*undo_and_failures, *completed], truncated)

    def instance_messages(self, instance_id: str) -> dict:
        """The messages an instance's page lists: {"started_by": the one that started it (or none),
        "continued_by": those its catches took, "sent": those it threw (with their deliveries),
        "truncated"}; each with its deliveries to this instance or by it, and how long they waited."""
        with self.context.Session() as session:
            connection = read_snapshot(session)
            if not store.instances_by_ids(connection, [instance_id]):
                raise NotFound(f"no instance '{instance_id}'")
            received = store.deliveries_to(connection, [instance_id], MAX_MESSAGES + 1)
            sent_ids = store.sent_by(connection, [instance_id], MAX_MESSAGES + 1)
            rows = {row.id: row for row in store.messages_by_ids(
                connection, {*sent_ids[:MAX_MESSAGES], *(d.message_id for d in received[:MAX_MESSAGES])})}
            sent_deliveries = store.deliveries_of(connection, sent_ids[:MAX_MESSAGES])
            receivers = {row.id: row for row in store.instances_by_ids(
                connection, {delivery.instance_id for delivery in sent_deliveries})}
        by_message: dict[str, list] = {}
        for delivery in sent_deliveries:
            by_message.setdefault(delivery.message_id, []).append(delivery)

        def taken(delivery):
            message = rows[delivery.message_id]
            return {**message_summary(message), "element": delivery.element,
                    "delivered_at": iso(delivery.delivered_at), "wait_seconds": wait_seconds(message, delivery)}

        return {
            "started_by": [taken(d) for d in received[:MAX_MESSAGES] if d.process_key is not None],
            "continued_by": [taken(d) for d in received[:MAX_MESSAGES] if d.process_key is None],
            "sent": [_message(rows[message_id], by_message.get(message_id, []), receivers)
                     for message_id in sent_ids[:MAX_MESSAGES]],
            "truncated": len(received) > MAX_MESSAGES or len(sent_ids) > MAX_MESSAGES,
        }


class _Walk:
    """The instances and messages reached so far (rows by id), growing a round at a time."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.instances: dict[str, Any] = {}
        self.messages: dict[str, Any] = {}
        self.truncated = False

    def grow(self, instance_ids: set[str], message_ids: set[str]) -> None:
        """Adds these and everything linked to them, round by round, within the bounds."""
        connection = self.connection
        while instance_ids or message_ids:
            instance_ids = self._room(instance_ids - self.instances.keys(), len(self.instances), MAX_INSTANCES)
            message_ids = self._room(message_ids - self.messages.keys(), len(self.messages), MAX_MESSAGES)
            self.instances.update((row.id, row) for row in store.instances_by_ids(connection, instance_ids))
            new_messages = store.messages_by_ids(connection, message_ids)
            self.messages.update((row.id, row) for row in new_messages)
            # An instance leads to what it sent and what reached it; a message to its sender and receivers.
            next_messages = set(store.sent_by(connection, instance_ids, MAX_MESSAGES + 1))
            next_messages |= {d.message_id for d in store.deliveries_to(connection, instance_ids, MAX_MESSAGES + 1)}
            next_instances = {row.source_instance_id for row in new_messages if row.source_instance_id}
            next_instances |= {d.instance_id for d in store.deliveries_of(connection, message_ids)}
            instance_ids, message_ids = next_instances, next_messages

    def _room(self, candidates: set[str], held: int, bound: int) -> set[str]:
        """The candidates that fit under the bound (the smallest ids, so that a path reads the same twice)."""
        room = max(bound - held, 0)
        if len(candidates) > room:
            self.truncated = True
            return set(sorted(candidates)[:room])
        return candidates


def wait_seconds(message: Any, delivery: Any) -> float:
    """How long a message waited for this receiver: from its publishing to its delivery (never below
    0, which only clocks that disagree between machines could give)."""
    waited = (_aware(delivery.delivered_at) - _aware(message.published_at)).total_seconds()
    return round(max(waited, 0.0), 6)


def _path(key, instance_id, walk, deliveries, history, truncated) -> dict:
    instances, messages = walk.instances, walk.messages
    deliveries = [d for d in deliveries if d.message_id in messages]
    started_by = {d.instance_id: d.message_id for d in deliveries if d.process_key is not None}
    by_message: dict[str, list] = {}
    for delivery in deliveries:
        by_message.setdefault(delivery.message_id, []).append(delivery)
    ordered_instances = sorted(instances.values(), key=lambda row: (_aware(row.created_at), row.id))
    ordered_messages = sorted(messages.values(), key=lambda row: (_aware(row.published_at), row.id))
    return {
        "key": key,
        "instance_id": instance_id,
        "truncated": truncated,
        "instances": [{**instance_summary(row), "started_by_message": started_by.get(row.id)}
                      for row in ordered_instances],
        "messages": [_message(row, by_message.get(row.id, []), instances) for row in ordered_messages],
        "edges": _edges(ordered_messages, deliveries, instances),
        "timeline": _timeline(ordered_instances, ordered_messages, deliveries, history, started_by),
    }


def _message(row, deliveries, instances) -> dict:
    """A message's summary, its deliveries (each with its wait) and the wait of its first one."""
    shown = [{**delivery_summary(d, instances.get(d.instance_id)), "wait_seconds": wait_seconds(row, d)}
             for d in deliveries]
    return {**message_summary(row), "deliveries": shown,
            "wait_seconds": shown[0]["wait_seconds"] if shown else None}


def _edges(messages, deliveries, instances) -> list[dict]:
    """instance -sent-> message, and message -reached-> or -started-> instance, in time order."""
    edges = [{"kind": "sent", "instance_id": row.source_instance_id, "message_id": row.id,
              "element": row.source_element, "at": iso(row.published_at), "wait_seconds": None}
             for row in messages if row.source_instance_id in instances]
    published = {row.id: row for row in messages}
    edges += [{"kind": "started" if d.process_key is not None else "reached", "instance_id": d.instance_id,
               "message_id": d.message_id, "element": d.element, "at": iso(d.delivered_at),
               "wait_seconds": wait_seconds(published[d.message_id], d)}
              for d in deliveries if d.instance_id in instances]
    return sorted(edges, key=lambda edge: edge["at"])


def _timeline(instances, messages, deliveries, history, started_by) -> list[dict]:
    entries = []
    # The commit that ends an instance also stores what its last step threw, stamped a moment after the
    # end's time: the end is told with that commit's last moment, after them.
    last_thrown: dict[str, datetime] = {}
    for row in messages:
        if row.source_instance_id is not None:
            last_thrown[row.source_instance_id] = _aware(row.published_at)
    for row in instances:
        entries.append(_entry(row.created_at, "instance_started", instance_id=row.id, name=row.key,
                              status=row.started_by, message_id=started_by.get(row.id)))
        if row.ended_at is not None:
            ended_at = max(_aware(row.ended_at), last_thrown.get(row.id, _aware(row.ended_at)))
            entries.append(_entry(ended_at, "instance_ended", instance_id=row.id, name=row.key, status=row.status))
    published = {}
    for row in messages:
        published[row.id] = row
        about = {"message_id": row.id, "name": row.name, "message_kind": row.kind,
                 "instance_id": row.source_instance_id}
        entries.append(_entry(row.published_at, "message_published", element=row.source_element, status=row.status,
                              **about))
        if row.status == "buffered":
            entries.append(_entry(row.published_at, "message_buffered", until=iso(row.expires_at), **about))
        elif row.status == "pending":
            entries.append(_entry(row.published_at, "message_pending", **about))
        elif row.status == "expired":
            entries.append(_entry(row.ended_at or row.expires_at, "message_expired", **about))
    for delivery in deliveries:
        message = published[delivery.message_id]
        entries.append(_entry(delivery.delivered_at, "message_delivered", message_id=message.id, name=message.name,
                              message_kind=message.kind, instance_id=delivery.instance_id, element=delivery.element,
                              started=delivery.process_key is not None, wait_seconds=wait_seconds(message, delivery)))
    for row in history:
        failed = row.state == "ERROR" or row.error is not None
        entries.append(_entry(row.at, "task_failed" if failed else "task_completed", instance_id=row.instance_id,
                              name=row.name, element=row.bpmn_id, status=row.state, undo=row.undo_of is not None,
                              error=(row.error or {}).get("message")))
    entries.sort(key=lambda entry: (entry[0], _RANK[entry[1]["kind"]]))
    return [entry for _, entry in entries]


def _entry(moment: datetime | None, kind: str, **fields: Any) -> tuple[datetime, dict]:
    """(when, a timeline entry): every field present (None when it does not apply), so that readers
    need no checks."""
    moment = _aware(moment) or datetime.min.replace(tzinfo=timezone.utc)
    return moment, {"at": iso(moment), "kind": kind, **{name: fields.get(name) for name in _ENTRY_FIELDS},
                    "undo": bool(fields.get("undo")), "started": bool(fields.get("started"))}
