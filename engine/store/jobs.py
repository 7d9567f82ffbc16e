"""Due work: one row per instance that has something to do, claimed by workers with a lease.

Claiming is a compare-and-set UPDATE, so it is safe on any database; on
PostgreSQL the candidate is picked with FOR UPDATE SKIP LOCKED so that many
workers do not queue up behind one row.
"""
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import bindparam, case, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from .models import Job

JOBS = Job.__table__  # table-level statements: no ORM bookkeeping on the hot path

# Built once with bind parameters: building SQLAlchemy statements costs more than running them.
_FREE = or_(JOBS.c.lease_until.is_(None), JOBS.c.lease_until < bindparam("now"))
INSERT = JOBS.insert()
RESCHEDULE = update(JOBS).where(JOBS.c.instance_id == bindparam("instance")).values(
    reason=bindparam("reason"), due_at=bindparam("due_at"), locked_by=None, lease_until=None)
DELETE = delete(JOBS).where(JOBS.c.instance_id == bindparam("instance"))
CANDIDATES = select(JOBS.c.instance_id).where(JOBS.c.due_at <= bindparam("now"), _FREE) \
    .order_by(JOBS.c.due_at).limit(bindparam("limit"))
TAKE = update(JOBS).where(JOBS.c.instance_id.in_(bindparam("ids", expanding=True)), _FREE) \
    .values(locked_by=bindparam("worker"), lease_until=bindparam("lease_until")) \
    .returning(JOBS.c.instance_id, JOBS.c.reason)
CANDIDATES_SKIP_LOCKED = CANDIDATES.with_for_update(skip_locked=True)
RENEW = update(JOBS).where(JOBS.c.instance_id.in_(bindparam("ids", expanding=True)),
                           JOBS.c.locked_by == bindparam("worker")).values(lease_until=bindparam("lease_until"))


@dataclass(frozen=True)
class Claimed:
    instance_id: str
    reason: str


class LeaseLost(Exception):
    """Another worker took the instance over (this worker's lease expired): stop without saving."""


def now():
    return datetime.now(timezone.utc)


def _aware(moment):
    # SQLite hands back naive datetimes; they were stored as UTC.
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def add(connection, instance_id, reason, due_at=None):
    """Due work for an instance that has none yet (a new instance)."""
    connection.execute(INSERT, {"instance_id": instance_id, "reason": reason, "due_at": due_at or now()})


def schedule(session, instance_id, reason, due_at=None):
    """Makes the instance due at `due_at` (now by default), replacing what it had."""
    values = {"instance": instance_id, "reason": reason, "due_at": due_at or now()}
    if session.connection().execute(RESCHEDULE, values).rowcount == 0:
        add(session.connection(), instance_id, reason, values["due_at"])


def unschedule(session, *instance_ids):
    """Removes the instances' due work (they are done, or wait for a user)."""
    if instance_ids:
        session.connection().execute(DELETE, [{"instance": instance_id} for instance_id in instance_ids])


def claim(session, worker_id, lease_seconds, limit=1):
    """Takes up to `limit` due jobs for this worker (a list of Claimed, maybe empty). Commits."""
    moment = now()
    connection = session.connection()
    candidates = CANDIDATES_SKIP_LOCKED if connection.dialect.name == "postgresql" else CANDIDATES
    ids = list(connection.execute(candidates, {"now": moment, "limit": limit}).scalars())
    taken = []
    if ids:
        # Compare-and-set: a job another worker claimed meanwhile is no longer free.
        taken = connection.execute(TAKE, {"ids": ids, "now": moment, "worker": worker_id,
                                          "lease_until": moment + timedelta(seconds=lease_seconds)}).all()
    session.commit()
    return [Claimed(instance_id, reason) for instance_id, reason in taken]


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
                                                  "locked_by": actor, "lease_until": lease["lease_until"]})
    except IntegrityError:  # another action made it first
        return False
    return True


class Lease:
    """A worker's leases on the instances of its batch, taken when it claimed them."""

    def __init__(self, worker_id, lease_seconds):
        self.worker_id, self.lease_seconds = worker_id, lease_seconds
        self.renewed = time.monotonic()  # claim() just set them

    def hold(self, session, instance_ids):
        """Makes sure the worker still holds the leases before it commits; LeaseLost if not.

        A lease renewed less than a third of its length ago cannot have run out,
        so most rounds of a batch skip the statement.
        """
        if time.monotonic() - self.renewed < self.lease_seconds / 3:
            return
        renewed = session.connection().execute(RENEW, {
            "ids": instance_ids, "worker": self.worker_id,
            "lease_until": now() + timedelta(seconds=self.lease_seconds)}).rowcount
        if renewed != len(instance_ids):
            raise LeaseLost(", ".join(instance_ids))
        self.renewed = time.monotonic()


def release(session, instance_ids, worker_id):
    """Gives up this worker's leases (after abandoning work), so that others may claim at once."""
    session.connection().execute(
        update(JOBS).where(JOBS.c.instance_id.in_(instance_ids), JOBS.c.locked_by == worker_id)
        .values(locked_by=None, lease_until=None))


def next_due(session):
    """When a worker could next claim a job (None when there is none): how long it may sleep.

    A job under a lease is claimable when the lease runs out (its worker may have died).
    """
    claimable_at = case((Job.lease_until > Job.due_at, Job.lease_until), else_=Job.due_at)
    return _aware(session.scalar(select(func.min(claimable_at))))
