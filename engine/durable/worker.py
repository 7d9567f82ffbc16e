"""The worker job: claiming due instances in a batch and advancing them together, one commit per
round, under leases a heartbeat keeps alive (DESIGN.md, "Durability model").

The loop that calls it until stopped is worker_loop.py.
"""
import time
import traceback

from engine.run.instance import FAILURES

from . import observer_events, poison_pills, tracing
from .replay import commit_point
from .settling import settle
from .store import incidents, instance_rows, jobs
from .store.instances import read_steps, write_round

# How often a running batch looks for due work to join it: every round would cost a short round
# (a no-op saga's) several per cent, for a timer that gains at most this much.
JOIN_EVERY_SECONDS = 0.05


class Worker:
    """Maestro's worker methods (work_batch, release_leases, next_due), over its Context."""

    def __init__(self, context):
        self.context = context
        self.claims = 0  # claims made so far: starts get their share over them (jobs.starts_share)

    def work_batch(self, size=None, join=True):
        """Claims up to `size` due jobs and advances their instances; returns how many it claimed.

        The instances advance together, one activity each per round, and every
        round is one transaction (a group commit): each task is committed
        before its instance's next task runs, so a crash re-runs at most one
        task per instance, while commits are shared by the whole batch. A
        heartbeat keeps the batch's leases alive meanwhile (jobs.Lease).
        Between rounds, due work joins the batch (_joiners, unless not `join`):
        starts while it holds fewer than `size` instances, promised work (a
        timer, a retry...) up to as many again, so that a timer falling due
        waits one round, not the whole batch, even when new instances fill it.
        """
        context = self.context
        size = size or context.batch_size
        with context.Session() as session:
            taken_at = time.monotonic()
            claimed = self._claim(session, size, size)
            if not claimed:
                return 0
            # A suspected poison pill runs alone (jobs.claim): nothing joins it.
            joinable = 0 if not join or any(job.crashes for job in claimed) else size
            with jobs.Lease(context.engine, context.actor, context.lease_seconds,
                            [job.instance_id for job in claimed], taken_at) as lease:
                try:
                    joined = self._advance(session, self._open(session, claimed, lease), lease, joinable)
                except BaseException:
                    session.rollback()  # its row locks would keep the heartbeat (joined next) waiting
                    raise
            return len(claimed) + joined

    def _claim(self, session, limit, starts, joining=False):
        """Up to `limit` due jobs, of them at most `starts` starts (promised work first, starts
        their share); see jobs.claim. Joining a batch, the caller commits."""
        context = self.context
        reserved = jobs.starts_share(starts, self.claims)
        self.claims += 1
        return jobs.claim(session, context.actor, context.lease_seconds, limit, starts, reserved, joining,
                          commit=not joining)

    def _joiners(self, session, size, running):
        """Due work claimed, not committed, to join a batch of `size` that `running` instances will
        go on with (see work_batch for how many of each lane); never a suspected poison pill."""
        room = 2 * size - running  # the size bounds new instances; promised work, due now, may double it
        return self._claim(session, room, max(0, size - running), joining=True) if room > 0 else []

    def release_leases(self):
        """Gives up every lease this worker holds (it stopped, or its batch failed): others claim at once."""
        with self.context.Session() as session:
            held = jobs.held_by(session, self.context.actor)
            if held:
                jobs.release(session, held, self.context.actor)
                session.commit()
            return len(held)

    def next_due(self):
        with self.context.Session() as session:
            return jobs.next_due(session)

    def _open(self, session, claimed, lease):
        """The claimed instances, loaded, in the order they fell due; those that cannot run are let go."""
        batch = []
        jobs_by_id = {job.instance_id: job for job in claimed}
        rows = instance_rows.by_ids(session.connection(), jobs_by_id)
        logged = read_steps(session.connection(), list(jobs_by_id))
        order = {instance_id: position for position, instance_id in enumerate(jobs_by_id)}
        rows.sort(key=lambda row: order[row.id])  # the order they fell due
        for row in rows:
            job = jobs_by_id[row.id]
            if row.status in ("completed", "cancelled", "failed"):
                lease.drop([row.id])  # before writing its row: the heartbeat must not wait on this transaction
                jobs.unschedule(session, row.id)
                continue
            if row.suspended_at is not None:  # claimed as it was being suspended: it waits for its resume
                lease.drop([row.id])
                jobs.park(session, row.id)
                continue
            try:
                instance, writer = self.context.load(session, row, logged.get(row.id, []))
            except Exception as error:  # one unreadable instance must not stop the worker
                lease.drop([row.id])
                incidents.add(session, row.id, {
                    "task": "", "bpmn_id": None, "message": f"{type(error).__name__}: {error}",
                    "type": type(error).__name__, "traceback": "".join(traceback.format_exception(error))})
                self._mark_failed(session, row.id)
                continue
            if job.crashes >= self.context.max_crashes:
                lease.drop([row.id])
                self._fail_poison_pill(session, instance, writer, job.crashes)
                continue
            if job.reason in ("retry", "manual_retry") and instance.error is not None:
                if job.reason == "manual_retry":  # an operator's retry gives a fresh set of tries
                    failed = instance.failed_task()
                    failed.internal_data["maestro_retry_base"] = failed.internal_data.get(FAILURES, 0)
                instance.prepare_retry()
                writer.snapshot_due = True  # a replay starts from the snapshot, which holds the failure
            batch.append(_Claimed(row.id, writer, settle_only=instance.error is not None,
                                  suspected=job.crashes > 0))
        session.commit()
        return batch

    def _mark_failed(self, session, instance_id):
        instance_rows.mark_failed(session.connection(), instance_id)
        jobs.unschedule(session, instance_id)

    def _fail_poison_pill(self, session, instance, writer, crashes):
        """Fails an instance whose step killed `crashes` workers in a row: an incident, no more tries."""
        error = poison_pills.worker_deaths(instance, crashes)
        instance.error = error
        incidents.add(session, instance.id, error)
        writer.write(session.connection(), f"worker@{self.context.actor}", status="failed", error=error)
        jobs.unschedule(session, instance.id)

    def _advance(self, session, batch, lease, size):
        """Runs the batch round after round until none of its instances has more to do; between
        rounds, due work joins it (_joiners; none when `size` is 0). Returns how many joined."""
        context = self.context
        actor = f"worker@{context.actor}"
        joined, looked = 0, time.monotonic()
        while batch:
            round_started = time.monotonic()
            prepared, next_jobs, still_running, events, unreached, dropped = {}, {}, [], [], [], []
            completed = []  # (instance id, its InstanceTrace, when it ended): traced instances that completed
            over_budget = False
            for position, item in enumerate(batch):
                if context.stop_requested():  # the worker is stopping: hand back the instances not yet run
                    unreached = batch[position:]
                    break
                if item.id in lease.lost:
                    continue  # another worker has it now: leave it alone
                status = None
                try:
                    stepped = not item.settle_only and _run_one_step(item.instance)
                except jobs.LeaseLost:
                    dropped.append(item.id)  # the step found out itself: drop it, let the instance go
                    continue
                if stepped:
                    prepared[item.id] = item.writer.prepare_step(actor)
                    still_running.append(item)
                else:
                    fields, next_job = settle(session, item.id, item.instance)
                    status = fields["status"]
                    if status == "completed":
                        prepared[item.id] = item.writer.prepare_end(actor, fields["ended_at"], fields["outcome"],
                                                                     fields["end_event"])
                        if tracing.of(item.instance) is not None:
                            completed.append((item.id, tracing.of(item.instance), fields["ended_at"]))
                    else:
                        prepared[item.id] = item.writer.prepare(actor, **fields)
                    next_jobs[item.id] = next_job
                if context.observers:  # building events costs a scan of the tree at the end: only when watched
                    events += [(item.id, event)
                               for event in observer_events.round_events(item.instance, item.writer, status)]
                    events += [(item.id, observer_events.published(row)) for row in prepared[item.id].sent]
                if time.monotonic() - round_started > context.round_seconds:
                    # A slow round: commit what is done now, and let another worker (or this one's
                    # next claim) take the instances this round has not reached.
                    unreached = batch[position + 1:]
                    over_budget = True
                    break
            # Due work joins in this round's transaction (no commit of its own); none after a slow
            # round (the instances it let go are for other workers) or when stopping.
            join = bool(size and still_running and not over_budget and not context.stop_requested()
                        and time.monotonic() - looked >= JOIN_EVERY_SECONDS)
            if join:
                looked = time.monotonic()
            held, claimed = self._commit_round(session, lease, prepared, next_jobs,
                                               [item.id for item in unreached] + dropped,
                                               suspected=any(item.suspected for item in batch),
                                               join=(size, len(still_running)) if join else None)
            for instance_id, event in events:
                if instance_id in held:
                    context.notify(event)
            for instance_id, traced, ended_at in completed:
                if instance_id in held:
                    traced.ended("completed", ended_at)
            for item in batch:
                item.suspected = False  # its progress is committed: the crash count is cleared
            batch = [item for item in still_running if item.id in held]
            holding = [item.id for item in batch] + [job.instance_id for job in claimed]
            if holding and context.stop_requested():
                # Every finished step is committed; the rest go back at once, for another worker.
                with lease.writing:
                    jobs.release(session, holding, context.actor)
                    session.commit()
                    lease.drop(holding)
                return joined + len(claimed)
            if claimed:  # they fell due while the batch ran: they go first
                joined += len(claimed)
                batch = self._open(session, claimed, lease) + batch
        return joined

    def _commit_round(self, session, lease, prepared, next_jobs, let_go, suspected, join=None):
        """Commits a round's steps ({instance id: prepared}) and settled instances' next jobs ({id: job}),
        releases `let_go` and, given `join` (size, running), claims the due work that joins the batch
        (_joiners); (the ids whose leases the worker still held: only their work is written, the
        jobs claimed)."""
        with lease.writing:  # the heartbeat waits for this commit rather than lock rows against it
            held = lease.hold(session, list(prepared), suspected)
            incidents.forget_pending(session, keep=held)  # a settled instance whose lease was lost
            write_round(session.connection(), [step for instance_id, step in prepared.items() if instance_id in held])
            settled = [instance_id for instance_id in next_jobs if instance_id in held]
            jobs.unschedule(session, *(instance_id for instance_id in settled if next_jobs[instance_id] is None))
            for instance_id in settled:
                if next_jobs[instance_id] is not None:
                    jobs.schedule(session, instance_id, *next_jobs[instance_id])
            jobs.release(session, let_go, self.context.actor)
            claimed = self._joiners(session, *join) if join else []
            session.commit()
            lease.drop(settled + let_go)
            lease.add([job.instance_id for job in claimed])
        return held, claimed


class _Claimed:
    """An instance a worker holds in its batch."""

    def __init__(self, instance_id, writer, settle_only=False, suspected=False):
        self.id, self.writer, self.settle_only = instance_id, writer, settle_only
        self.suspected = suspected  # a worker died holding it: its next commit clears that
        self.instance = writer.instance


def _run_one_step(instance):
    """Runs an instance to its next commit point; True if it has more to do.

    A fault of the engine itself (not of a handler, which Instance handles)
    fails this instance like any technical failure, not the worker's batch.
    """
    try:
        return instance.run_until(commit_point)
    except jobs.LeaseLost:
        raise  # the worker's problem, not the instance's
    except Exception as error:
        instance.fail_from_engine(error)
        return False
