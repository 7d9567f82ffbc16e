"""The deliveries job: workers deliver the due messages and signals of the outbox (store/outbox.py).

A message reaches the catches its name and key find in the subscriptions (an index lookup) and
starts each process whose newest version begins with it; a signal reaches every catch of its name
in other instances (the thrower caught its own already) and starts the processes it begins.
Each receiver is taken under its lease, like a user's action, and gets the message in its own
commit together with its delivery row: a receiver that is busy gets it on a later try, and no
receiver gets it twice, whichever worker dies when. A message that reached nobody is buffered
until its time to live runs out; a catch that starts waiting for it meanwhile wakes it.
"""
import logging
from datetime import timedelta

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from engine.run import messages as catching

from . import tracing
from .store import definitions, instance_rows, jobs, locks, outbox

# Tries for busy receivers: soon at first (a receiver is busy for a round), then less often.
FIRST_RETRY_SECONDS, MAX_RETRY_SECONDS = 0.05, 2.0
# Messages a worker takes at once.
CLAIM = 16

log = logging.getLogger(__name__)


class Deliveries:
    """Delivering the outbox's due messages, over the Context."""

    def __init__(self, context, instances):
        self.context = context
        self.instances = instances  # a start event adds an instance
        self._starts = {}  # {definition id: {(kind, name) its start events start it with}}

    def deliver_due(self, limit=CLAIM) -> int:
        """Delivers up to `limit` due messages; how many it took."""
        context = self.context
        with context.Session() as session:
            taken = outbox.claim(session.connection(), f"deliverer@{context.actor}", context.lease_seconds, limit)
            session.commit()
        for message_id in taken:
            try:
                self._deliver(message_id)
            except SQLAlchemyError:
                raise  # the database is away: the worker's loop waits and tries again (the lease runs out)
            except Exception:  # a fault of Maestro's: the other messages and the instances must go on
                log.exception("delivering message %s failed; it is tried again later", message_id)
                self._try_later(message_id)
        return len(taken)

    def next_due(self):
        """When a message is next due (None when none is)."""
        with self.context.engine.connect() as connection:
            return outbox.next_due(connection)

    def _deliver(self, message_id):
        with self.context.Session() as session:
            message = outbox.get(session.connection(), message_id)
            if message.status == outbox.BUFFERED and jobs._aware(message.expires_at) <= jobs.now():
                # Its time to live ran out: a catch that began waiting since does not get it.
                outbox.finish(session.connection(), message_id, outbox.EXPIRED)
                session.commit()
                self.context.notify({"event": "message_expired", "kind": message.kind, "name": message.name})
                return
            reached, started = outbox.delivered_to(session.connection(), message_id)
            receivers = self._receivers(session, message, reached)
            starts = [key for key in self._processes_started_by(session, message) if key not in started]
        outcomes = {receiver.instance_id: self._to_instance_or_later(message, receiver) for receiver in receivers}
        for key in starts:
            self._start(message, key)
        failed = {instance_id for instance_id, outcome in outcomes.items() if outcome == "failed"}
        self._settle(message, "busy" in outcomes.values(), {(r.instance_id, r.since) for r in receivers}, failed)

    def _receivers(self, session, message, reached):
        """The subscriptions still to reach (not the thrower's own catches of its signal)."""
        return [receiver for receiver in outbox.receivers(session.connection(), message)
                if receiver.instance_id not in reached
                and not (message.kind == "signal" and receiver.instance_id == message.source_instance_id)]

    def _to_instance_or_later(self, message, receiver):
        """_to_instance; a receiver that cannot be loaded or run is tried again later, as a busy one is,
        without keeping the message from the others."""
        try:
            return self._to_instance(message, receiver)
        except SQLAlchemyError:
            raise
        except Exception:
            log.exception("delivering message %s to instance %s failed; it is tried again later",
                          message.id, receiver.instance_id)
            return "busy"

    def _try_later(self, message_id):
        with self.context.Session() as session:
            outbox.again_at(session.connection(), message_id, _retry_at(outbox.get(session.connection(), message_id)))
            session.commit()

    def _to_instance(self, message, receiver):
        """Delivers to one waiting instance in its own commit: "delivered", "busy", "failed" (it takes
        nothing until retried) or "not_for_it"."""
        context = self.context
        began = tracing.now_ns()
        with context.Session() as session:
            row = context.row(session, receiver.instance_id)
            closed = _closed(row)
            if closed:
                return closed
            taker = f"message@{context.actor}"
            if not jobs.take_for_user(session, row.id, taker, context.lease_seconds):
                return "busy"
            session.refresh(row)  # as of the lease: a commit for it may have come between the read and the take
            closed = _closed(row)
            if closed:
                session.rollback()
                return closed
            instance, writer = context.load(session, row)
            matched = catching.correlates(_variable_matches(message), instance.data, row.business_key)
            if not (matched and _hand_over(instance, message, message.correlation)):
                session.rollback()  # also the lease taken above
                return "not_for_it"
            # A task's failure awaiting its retry stays (the retry runs it again).
            writer.write(session.connection(), taker, status="running", error=instance.error)
            outbox.add_delivery(session.connection(), message.id, row.id, receiver.element)
            if instance.error is None:
                jobs.schedule(session, row.id, "continue")
            else:  # a retry is due for a failed task: it keeps its time and reason, and runs on from the catch too
                jobs.release(session, [row.id], taker)
            try:
                session.commit()
            except IntegrityError:  # another worker delivered it meanwhile (its lease on the message ran out)
                session.rollback()
                return "not_for_it"
        tracing.delivered(message, row.id, row.key, row.trace, began, receiver.element)
        context.notify(_delivered(message))
        return "delivered"

    def _processes_started_by(self, session, message):
        """Keys of the processes whose newest version starts with this message or signal."""
        wanted = (message.kind, message.name)
        found = []
        for head in definitions.latest_heads(session.connection()):
            if head.id not in self._starts:
                called = definitions.pinned_calls(session.connection(), head)
                spec = self.context.specs.specs(session, head.id, called)[0]
                self._starts[head.id] = catching.start_events(spec)
            if wanted in self._starts[head.id]:
                found.append(head.key)
        return found

    def _start(self, message, key):
        """An instance of `key` whose start event caught the message, in one commit with its delivery row."""
        context = self.context
        began = tracing.now_ns()
        with context.Session() as session:
            connection = session.connection()
            business_key = _business_key_of_started(message)
            instance_id = self.instances.insert(connection, key, {}, business_key, message.kind)
            row = context.row(session, instance_id)
            row.trace = message.trace
            instance, writer = context.load(session, row)
            instance.run_until()  # up to its start event, which waits for the message
            _hand_over(instance, message)
            writer.write(connection, f"{message.kind}@{context.actor}", status="running")
            outbox.add_delivery(connection, message.id, instance_id, None, process_key=key)
            # Only now can a worker see it; a new instance, it queues with the starts.
            jobs.add(connection, instance_id, "continue", lane=jobs.STARTS)
            try:
                session.commit()
            except IntegrityError:  # another worker started it meanwhile
                session.rollback()
                return
        tracing.delivered(message, instance_id, key, message.trace, began)  # it took the message's trace
        context.notify({"event": "instance_started", "key": key})
        context.notify(_delivered(message))

    def _settle(self, message, busy, tried, failed):
        """After a delivery round that tried the subscriptions `tried` ((instance id, since)), of which the
        instances `failed` had failed: due again for busy receivers, else delivered, buffered or expired."""
        context = self.context
        outcome = None  # what became of a message nobody took: message_buffered or message_expired
        with context.Session() as session:
            connection = session.connection()
            if busy:
                outbox.again_at(connection, message.id, _retry_at(message))
            elif message.kind == "signal" or outbox.delivered_to(connection, message.id)[0]:
                outbox.finish(connection, message.id, outbox.DELIVERED)
            else:
                # Nobody took it. Under its name's lock a catch starting to wait now is seen, or sees it.
                locks.hold_until_commit(connection, locks.message_name(message.name))
                reached, _ = outbox.delivered_to(connection, message.id)
                # A subscription not tried: a catch began waiting, maybe in an instance tried at a catch it
                # has left since (its subscription then began anew), and woke no message, as this one
                # was pending.
                # A failed one retried since: its retry found the message still pending, so did not wake it.
                if {(receiver.instance_id, receiver.since) for receiver in self._receivers(session, message, reached)} \
                        - tried or instance_rows.any_running(connection, failed):
                    outbox.again_at(connection, message.id, jobs.now())
                elif jobs._aware(message.expires_at) > jobs.now():
                    outbox.buffer(connection, message.id, jobs._aware(message.expires_at))
                    # Counted when it starts waiting, not each time a catch that did not take it woke it.
                    outcome = "message_buffered" if message.status != outbox.BUFFERED else None
                else:
                    outbox.finish(connection, message.id, outbox.EXPIRED)
                    outcome = "message_expired"
            session.commit()
        if outcome:
            context.notify({"event": outcome, "kind": message.kind, "name": message.name})


def _retry_at(message):
    """When a message some receivers could not take yet is due again: soon at first, then less often."""
    return jobs.now() + timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** message.attempts, MAX_RETRY_SECONDS))


def _closed(row):
    """Why the instance takes no message now ("failed": until retried or resumed, as a suspended one
    waits too; "not_for_it": it ended), or None."""
    if row.suspended_at is not None and row.status != "cancelled":
        return "failed"  # kept for it (buffered): resuming wakes what its catches may take
    if row.status in ("running", "waiting"):
        return None
    return "failed" if row.status == "failed" else "not_for_it"


def _hand_over(instance, message, key=None):
    """Whether a catch of the instance took the message (a signal: every catch waiting for it)."""
    if message.kind == "signal":
        return catching.deliver_signal(instance, message.name, message.payload)
    return catching.deliver(instance, message.name, message.payload, key)


def _delivered(message):
    """The event of a delivery, with the time from publishing to it."""
    latency = (jobs.now() - jobs._aware(message.published_at)).total_seconds()
    return {"event": "message_delivered", "kind": message.kind, "name": message.name, "latency_seconds": latency}


def _business_key_of_started(message):
    """One order's message starts the next process of that order: the instance it starts takes its
    business key (the thrower's, the publish's), else its correlation key, so that the order's later
    messages reach it too. A signal is everybody's: none."""
    if message.kind == "signal":
        return None
    return message.business_key or (message.match_variables or {}).get("business_key") or message.correlation


def _variable_matches(message):
    """The variables a receiver must hold, beyond the key it was found by (None: any)."""
    return {name: value for name, value in (message.match_variables or {}).items() if name != "business_key"}
