"""Due work: one row per instance that has something to do, claimed by workers with a lease.

Claiming is a compare-and-set UPDATE, so it is safe on any database; on
PostgreSQL the candidate is picked with FOR UPDATE SKIP LOCKED so that many
workers do not queue up behind one row.

Due work queues in two lanes: what was promised for its time or is under way
(a timer, a retry, an instance a message or a user moved on) before new
instances, so that a stream of starts never makes a timer late; starts keep a
share of every claim, so that a stream of promised work never stops them.
"""
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import bindparam, case, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from .models import Job

log = logging.getLogger(__name__)
JOBS = Job.__table__  # table-level statements: no ORM bookkeeping on the hot path

PROMISED, STARTS = 0, 1  # the lanes (Job.lane)
# The lane of a suspended instance's job: no claim reads it (claims read the lanes above by the
# (lane, due_at) index), so suspended work costs a claim nothing; resuming puts it back, due as it was.
SUSPENDED = 2
# Starts get one place in this many of a worker's claims when any are due (see starts_share).
START_SHARE = 4

# Built once with bind parameters: building SQLAlchemy statements costs more than running them.
_FREE = or_(JOBS.c.lease_until.is_(None), JOBS.c.lease_until < bindparam("now"))
# A free job that still names a worker was never released: that worker died holding it.
_ABANDONED = JOBS.c.locked_by.is_not(None)
INSERT = JOBS.insert()
RESCHEDULE = update(JOBS).where(JOBS.c.instance_id == bindparam("instance")).values(
    reason=bindparam("reason"), due_at=bindparam("due_at"), lane=bindparam("lane"), locked_by=None,
    lease_until=None, crashes=0)
DELETE = delete(JOBS).where(JOBS.c.instance_id == bindparam("instance"))
# One lane's due jobs, oldest first: a range of the (lane, due_at) index.
CANDIDATES = select(JOBS.c.instance_id, _ABANDONED.label("abandoned"), JOBS.c.crashes, JOBS.c.due_at) \
    .where(JOBS.c.lane == bindparam("lane"), JOBS.c.due_at <= bindparam("now"), _FREE) \
    .order_by(JOBS.c.due_at).limit(bindparam("limit"))
TAKE = update(JOBS).where(JOBS.c.instance_id.in_(bindparam("ids", expanding=True)), _FREE) \
    .values(locked_by=bindparam("worker"), lease_until=bindparam("lease_until"),
            crashes=JOBS.c.crashes + case((_ABANDONED, 1), else_=0)) \
    .returning(JOBS.c.instance_id, JOBS.c.reason, JOBS.c.crashes)
CANDIDATES_SKIP_LOCKED = CANDIDATES.with_for_update(skip_locked=True)
_MINE = (JOBS.c.instance_id.in_(bindparam("ids", expanding=True)), JOBS.c.locked_by == bindparam("worker"))
RENEW = update(JOBS).where(*_MINE).values(lease_until=bindparam("lease_until")).returning(JOBS.c.instance_id)
# At a commit of progress: the instance is no longer suspected of killing its workers.
RENEW_AT_PROGRESS = update(JOBS).where(*_MINE).values(lease_until=bindparam("lease_until"), crashes=0) \
    .returning(JOBS.c.instance_id)
RELEASE = update(JOBS).where(*_MINE).values(locked_by=None, lease_until=None)


@dataclass(frozen=True)
class Claimed:
    instance_id: str
    reason: str
    crashes: int = 0  # workers that died holding it since its last progress (this claim included)


class LeaseLost(Exception):
    """Another worker took the instance over (this worker's lease expired): stop without saving."""


def now():
    return datetime.now(timezone.utc)


def _aware(moment):
    # SQLite hands back naive datetimes; they were stored as UTC.
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def lane_of(reason: str) -> int:
    """A start waits in the starts lane; everything else (timer, retry, continue...) was promised."""
    return STARTS if reason == "start" else PROMISED


def add(connection, instance_id, reason, due_at=None, lane=None):
    """Due work for an instance that has none yet (a new instance); `lane` defaults to its reason's."""
    connection.execute(INSERT, {"instance_id": instance_id, "reason": reason, "due_at": due_at or now(),
                                "lane": lane_of(reason) if lane is None else lane})


def schedule(session, instance_id, reason, due_at=None):
    """Makes the instance due at `due_at` (now by default), replacing what it had."""
    values = {"instance": instance_id, "reason": reason, "due_at": due_at or now(), "lane": lane_of(reason)}
    if session.connection().execute(RESCHEDULE, values).rowcount == 0:
        add(session.connection(), instance_id, reason, values["due_at"])


def unschedule(session, *instance_ids):
    """Removes the instances' due work (they are done, or wait for a user)."""
    if instance_ids:
        session.connection().execute(DELETE, [{"instance": instance_id} for instance_id in instance_ids])


def park(session, instance_id):
    """Moves the instance's due work to the SUSPENDED lane, unleased (the suspending action's lease
    ends); a row the action's lease made (it had no due work: it waits) is dropped."""
    connection = session.connection()
    connection.execute(delete(JOBS).where(JOBS.c.instance_id == instance_id, JOBS.c.reason == "user"))
    connection.execute(update(JOBS).where(JOBS.c.instance_id == instance_id)
                       .values(lane=SUSPENDED, locked_by=None, lease_until=None))


def unpark(session, instance_id):
    """Puts a resumed instance's due work back in its lane, due when it was (a timer due meanwhile fires now)."""
    connection = session.connection()
    connection.execute(delete(JOBS).where(JOBS.c.instance_id == instance_id, JOBS.c.reason == "user"))
    connection.execute(update(JOBS).where(JOBS.c.instance_id == instance_id).values(
        lane=case((JOBS.c.reason == "start", STARTS), else_=PROMISED), locked_by=None, lease_until=None))


def starts_share(limit: int, claim_number: int) -> int:
    """The places of a worker's `claim_number`th claim of `limit` jobs kept for starts: one in
    START_SHARE over its claims, whatever their sizes (a claim of 1 keeps one every fourth time)."""
    return (limit * (claim_number + 1)) // START_SHARE - (limit * claim_number) // START_SHARE


def claim(session, worker_id, lease_seconds, limit=1, starts=None, starts_reserved=0, joining=False, commit=True):
    """Takes up to `limit` due jobs for this worker (a list of Claimed, maybe empty). Commits
    (unless not `commit`: the caller's transaction then takes them).

    Promised work is taken before starts, each lane oldest first, except for
    `starts_reserved` places that go to the oldest due starts (starts_share); of
    the starts, at most `starts` (default: `limit`). The jobs taken come in the
    order they fell due. A job whose last worker died holding it is suspected of
    killing workers (a poison pill): it is taken alone, so that it cannot take
    innocent instances down with it (and never when `joining` a running batch);
    it keeps its place in its lane, so a suspect is never starved by a stream of
    new work.
    """
    moment = now()
    connection = session.connection()
    candidates = CANDIDATES_SKIP_LOCKED if connection.dialect.name == "postgresql" else CANDIDATES
    starts = limit if starts is None else min(starts, limit)
    due = {lane: connection.execute(candidates, {"lane": lane, "now": moment, "limit": most}).all() if most else []
           for lane, most in ((PROMISED, limit), (STARTS, starts))}
    ids = _batch_of(_chosen(due[PROMISED], due[STARTS], limit, starts_reserved), joining)
    taken = []
    if ids:
        # Compare-and-set: a job another worker claimed meanwhile is no longer free.
        taken = connection.execute(TAKE, {"ids": ids, "now": moment, "worker": worker_id,
                                          "lease_until": moment + timedelta(seconds=lease_seconds)}).all()
    if commit:
        session.commit()
    position = {instance_id: index for index, instance_id in enumerate(ids)}  # RETURNING keeps no order
    return sorted((Claimed(instance_id, reason, crashes) for instance_id, reason, crashes in taken),
                  key=lambda job: position[job.instance_id])


def _chosen(promised, starts, limit, starts_reserved):
    """Up to `limit` of the two lanes' due candidates (each oldest first, as many as may be taken):
    the reserved places to starts, the rest to promised work, what promised work leaves to starts;
    in the order they fell due."""
    reserved = min(starts_reserved, len(starts))
    taken = promised[:limit - reserved]
    taken += starts[:limit - len(taken)]
    return sorted(taken, key=lambda candidate: candidate.due_at)


def _batch_of(candidates, joining=False):
    """The ids to take from chosen candidates (instance_id, abandoned, crashes, due_at), oldest first:
    a suspect alone if it comes first (unless `joining` a batch), else the innocents before the first suspect."""
    batch = []
    for instance_id, abandoned, crashes, _ in candidates:
        if abandoned or crashes:
            return batch or ([] if joining else [instance_id])
        batch.append(instance_id)
    return batch


def take_for_user(session, instance_id, actor, lease_seconds):
    """Leases an instance to a user action (complete, cancel, retry); False if a worker holds it.

    A waiting instance has no due-work row: one is made, leased, so that a
    second action or a worker cannot interleave. The action's own rescheduling
    (or unscheduling) then replaces it, in the same transaction.
    """
    moment = now()
    lease = {"worker": actor, "lease_until": moment + timedelta(seconds=lease_seconds), "now": moment}
    if session.connection().execute(TAKE, {**lease, "ids": [instance_id]}).all():
        return True
    if session.connection().execute(select(JOBS.c.instance_id).where(JOBS.c.instance_id == instance_id)).first():
        return False  # leased to someone else
    try:
        with session.begin_nested():
            session.connection().execute(INSERT, {"instance_id": instance_id, "reason": "user", "due_at": moment,
                                                  "lane": PROMISED, "locked_by": actor,
                                                  "lease_until": lease["lease_until"]})
    except IntegrityError:  # another action made it first
        return False
    return True


class Lease:
    """A worker's leases on the instances of its batch, kept alive by a heartbeat thread.

    The heartbeat renews every lease each third of its length on its own
    connection, whatever the worker's thread is doing (a slow handler, a long
    round), so that no other worker takes an instance this one is running. An
    instance whose lease could not be renewed (it ran out while the database
    was unreachable, and another worker took it) is `lost`: the worker drops its
    uncommitted step and stops touching it. Use as a context manager.
    """

    def __init__(self, engine, worker_id: str, lease_seconds: float, instance_ids, taken_at: float):
        self.engine, self.worker_id, self.lease_seconds = engine, worker_id, lease_seconds
        self.held, self.lost = set(instance_ids), set()
        self.renewed = taken_at  # time.monotonic() before claim() set the leases
        self._guard = threading.Lock()
        # Held by the worker's thread while it writes job rows: on PostgreSQL two transactions
        # updating the same rows in different orders would deadlock.
        self.writing = threading.Lock()
        self._stopped = threading.Event()
        self._heartbeat = threading.Thread(target=self._beat, name=f"lease heartbeat {worker_id}", daemon=True)

    def __enter__(self):
        self._heartbeat.start()
        return self

    def __exit__(self, *_):
        self._stopped.set()
        # A renewal stuck on the database may finish later: harmless, it renews only this worker's leases.
        self._heartbeat.join(timeout=self.lease_seconds)

    def _beat(self):
        while not self._stopped.wait(self.lease_seconds / 3):
            try:
                instance_ids, started = self.holding(), time.monotonic()
                with self.writing, self.engine.begin() as connection:
                    kept = self._renewed(connection, RENEW, instance_ids)
                self._note(instance_ids, kept, started)  # only once committed: a failed commit renewed nothing
            except Exception as error:  # the database is away: the check before each commit decides
                log.warning("lease heartbeat of %s failed: %s: %s", self.worker_id, type(error).__name__, error)

    def holding(self):
        with self._guard:
            return sorted(self.held)

    def _renewed(self, connection, statement, instance_ids):
        """Renews the leases on `instance_ids` (not committed yet); the set of those still held."""
        if not instance_ids:
            return set()
        return set(connection.execute(statement, {
            "ids": instance_ids, "worker": self.worker_id,
            "lease_until": now() + timedelta(seconds=self.lease_seconds)}).scalars())

    def _note(self, instance_ids, kept, started):
        """Records a renewal of `instance_ids`, begun at `started`, that kept `kept`."""
        with self._guard:
            gone = (set(instance_ids) - kept) & self.held
            self.lost |= gone
            self.held -= gone
            if kept:
                self.renewed = started

    def hold(self, session, instance_ids, suspected=False):
        """The ids among `instance_ids` (whose progress is about to be committed) the worker still
        holds, checked in that transaction.

        The statement is skipped when the heartbeat renewed the leases less than
        a third of their length ago (they cannot have run out), unless one of
        them is `suspected`: the statement also clears their crash counts (see claim).
        """
        with self._guard:
            ids = [instance_id for instance_id in instance_ids if instance_id in self.held]
        if suspected or time.monotonic() - self.renewed >= self.lease_seconds / 3:
            started = time.monotonic()
            kept = self._renewed(session.connection(), RENEW_AT_PROGRESS, ids)
            self._note(ids, kept, started)  # a failed commit of this transaction ends the batch
            return kept
        return set(ids)

    def add(self, instance_ids):
        """Instances claimed into the running batch (their leases fresh): the heartbeat renews them too."""
        with self._guard:
            self.held.update(instance_ids)

    def drop(self, instance_ids):
        """The worker is done with these (settled, released or lost): the heartbeat leaves them alone."""
        with self._guard:
            self.held.difference_update(instance_ids)


def release(session, instance_ids, worker_id):
    """Gives up this worker's leases (after abandoning work), so that others may claim at once."""
    if instance_ids:
        session.connection().execute(RELEASE, {"ids": list(instance_ids), "worker": worker_id})


def held_by(session, worker_id):
    """Ids of the instances whose leases this worker holds."""
    return session.scalars(select(Job.instance_id).where(Job.locked_by == worker_id)).all()


def next_due(session):
    """When a worker could next claim a job (None when there is none): how long it may sleep.

    A job under a lease is claimable when the lease runs out (its worker may have died).
    """
    claimable_at = case((Job.lease_until > Job.due_at, Job.lease_until), else_=Job.due_at)
    return _aware(session.scalar(select(func.min(claimable_at)).where(Job.lane != SUSPENDED)))
