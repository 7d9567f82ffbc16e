"""Maestro's durable engine API: deployments and instances in a database, advanced by workers.

The CLI and the web app are thin layers over this class. State lives in the
database: a worker loads an instance, runs it, and commits its progress after
every completed task, holding a lease on the instance's due-work row so that
no other worker advances it at the same time (DESIGN.md, "Durability model").
"""
import os
import socket
import time
import traceback
import uuid
from datetime import datetime, timedelta

from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, func, insert, or_, select, update

from engine.durable.store.db import connect
from engine.durable.store.instances import InstanceWriter, read_state, read_steps, write_round
from engine.durable.store.models import AwaitedMessage, Definition, HistoryEntry, Incident, Job
from engine.durable.store.models import Instance as InstanceRow
from engine.durable.store.task_rows import TASK_IDS, TaskDelta
from engine.handlers import Handlers
from engine.run import compensation, messages, variable_limits
from engine.run.instance import FAILURES, Instance, InstanceError
from engine.run.retries import policy_for
from engine.run.serializer import load_saved
from engine.run.specs import maestro_info
from engine.run.spiff.task_ids import TaskIds
from engine.run.timers import next_timer_due

from . import poison_pills
from .replay import commit_point, replay
from .store import definitions, jobs

INSERT_INSTANCE = insert(InstanceRow.__table__)
SELECT_INSTANCES = select(InstanceRow.__table__).where(InstanceRow.id.in_(bindparam("ids", expanding=True)))


class NotFound(Exception):
    pass


class Busy(Exception):
    """A worker is advancing the instance right now; try again in a moment."""


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


class _Claimed:
    """An instance a worker holds in its batch."""

    def __init__(self, instance_id, writer, settle_only=False, suspected=False):
        self.id, self.writer, self.settle_only = instance_id, writer, settle_only
        self.suspected = suspected  # a worker died holding it: its next commit clears that
        self.instance = writer.instance


class Maestro:

    def __init__(self, database_url=None, handlers=None, actor=None, lease_seconds=None, batch_size=32):
        """`observers` (a list, empty at first) are called with a dict for what this engine object
        commits: instance_started, instance_ended (status, compensated) and task_completed (seconds
        from ready to completed); the web app's metrics are made from them."""
        self.observers = []
        self.batch_size = batch_size
        self.engine, self.Session = connect(database_url)
        self.handlers = handlers or Handlers()
        self.actor = actor or f"{socket.gethostname()}:{os.getpid()}"
        self.lease_seconds = lease_seconds or float(os.environ.get("MAESTRO_LEASE_SECONDS", "30"))
        # A round longer than this commits what is done and lets go of the instances it has not reached.
        self.round_seconds = _setting("MAESTRO_ROUND_SECONDS", 1.0, float)
        self.max_crashes = _setting("MAESTRO_MAX_CRASHES", 3, int)
        self.specs = definitions.SpecCache()
        # Asked before every step a worker runs: True stops the batch there, committing what is done
        # (run_worker sets it; it also tells the worker's health that its loop moves).
        self.stop_requested = _never

    # -- definitions -----------------------------------------------------

    def deploy(self, files, force_executable=False):
        """Deploys (name, bytes) files; see store.definitions.deploy.

        A new version of a process with a timer start event is started at once
        (its instance waits for the timer), and the older versions' instances
        still waiting for their start timer are cancelled: the newest version's
        timer is the one that holds.
        """
        with self.Session() as session:
            deployed = definitions.deploy(session, list(files), force_executable)
            session.commit()
            timed = [item for item in deployed
                     if item["new"] and definitions.has_timer_start(session.get(Definition, item["id"]))]
        for item in timed:
            for waiting in self._waiting_for_start_timer(item["key"], below_version=item["version"]):
                self.cancel(waiting)
            item["started"] = self.start(item["key"], started_by="timer")["id"]
        return deployed

    def _waiting_for_start_timer(self, key, below_version):
        with self.Session() as session:
            rows = session.scalars(select(InstanceRow).where(
                InstanceRow.key == key, InstanceRow.version < below_version, InstanceRow.started_by == "timer",
                InstanceRow.status.in_(("running", "waiting")))).all()
            return [row.id for row in rows if not self._load(session, row)[0].workflow.get_tasks(
                state=TaskState.COMPLETED, spec_class=StartEvent)]

    def deploy_paths(self, paths, force_executable=False):
        return self.deploy([(str(path), open(path, "rb").read()) for path in paths], force_executable)

    def definitions(self):
        with self.Session() as session:
            return [_definition_summary(d) for d in definitions.latest_of_each(session)]

    def definition_versions(self, key):
        with self.Session() as session:
            found = definitions.versions(session, key)
            if not found:
                raise NotFound(f"no process '{key}' is deployed")
            return [_definition_summary(d) for d in found]

    def definition_xml(self, key, version=None):
        """The BPMN file a version (the newest by default) was deployed from, as text."""
        return self._definition(key, version).xml

    def start_form(self, key):
        """The form of the newest version's start event ({"fields": [...]} etc., see forms), or None."""
        with self.Session() as session:
            definition = definitions.latest_head(session.connection(), key)
            if definition is None:
                raise NotFound(f"no process '{key}' is deployed")
            spec, _ = self.specs.specs(session, definition.id,
                                       definitions.pinned_calls(session.connection(), definition))
        for start_event in spec.start.outputs:
            if maestro_info(start_event).get("form"):
                return maestro_info(start_event)["form"]
        return None

    def instance_counts(self):
        """{process key: {status: number of instances}}."""
        with self.Session() as session:
            counts = {}
            by_status = select(InstanceRow.key, InstanceRow.status, func.count()).group_by(InstanceRow.key,
                                                                                          InstanceRow.status)
            for key, status, number in session.execute(by_status):
                counts.setdefault(key, {})[status] = number
            return counts

    def _definition(self, key, version=None):
        with self.Session() as session:
            found = definitions.latest(session, key) if version is None else definitions.version(session, key, version)
            if found is None:
                raise NotFound(f"no process '{key}'" + (f" version {version}" if version else "") + " is deployed")
            return found

    # -- instances -----------------------------------------------------------

    def start(self, key, data=None, business_key=None, started_by="user"):
        """Creates an instance of the newest version of `key`; a worker runs it."""
        data = variable_limits.checked(data or {}, "the start data")
        # A plain connection, not an ORM session: a start is three statements, often many a second.
        with self.engine.begin() as connection:
            instance_id = self._insert_instance(connection, key, data, business_key, started_by)
            jobs.add(connection, instance_id, "start")
        self._notify({"event": "instance_started", "key": key})
        return {"id": instance_id, "status": "running"}

    def _insert_instance(self, connection, key, data, business_key, started_by):
        definition = definitions.latest_head(connection, key)
        if definition is None:
            raise NotFound(f"no process '{key}' is deployed")
        called = definitions.pinned_calls(connection, definition)
        if not self.specs.cached(definition.id, called):
            with self.Session() as session:  # parsed once per version, before the first start is accepted
                self.specs.specs(session, definition.id, called)
        instance_id = str(uuid.uuid4())
        # Only the start data is stored: the worker that runs it builds the task tree.
        connection.execute(INSERT_INSTANCE, dict(
            id=instance_id, definition_id=definition.id, key=definition.key, version=definition.version,
            called_definitions=called, status="running", business_key=business_key, started_by=started_by,
            variables=dict(data or {}), state="", created_at=jobs.now(), updated_at=jobs.now()))
        return instance_id

    # -- messages ------------------------------------------------------------

    def publish(self, name, correlation=None, data=None):
        """Delivers message `name` (its `data` become variables) to every instance waiting for it
        whose variables match `correlation`, and starts each process that begins with it.

        Returns {"reached": [ids], "started": [ids], "busy": [ids]}; "busy" instances were
        being advanced at that moment and did not get the message: publish again for them.
        """
        data = variable_limits.checked(data or {}, f"the data of message '{name}'")
        reached, busy = [], []
        with self.Session() as session:
            waiting = session.scalars(select(AwaitedMessage.instance_id).where(AwaitedMessage.name == name)).all()
        for instance_id in waiting:
            try:
                if self._deliver(instance_id, name, correlation, data):
                    reached.append(instance_id)
            except Busy:
                busy.append(instance_id)
        started = [self._start_with_message(key, name, correlation, data) for key in self._started_by(name)]
        return {"reached": reached, "started": started, "busy": busy}

    def _deliver(self, instance_id, name, correlation, data):
        with self.Session() as session:
            row = self._row(session, instance_id)
            if row.status not in ("running", "waiting"):
                return False
            self._lock_for_user(session, row.id)  # rolled back, with the rest, if the message is not for it
            instance, writer = self._load(session, row)
            if not messages.correlates(correlation, instance.data, row.business_key) or \
                    not messages.deliver(instance, name, data):
                return False
            writer.write(session.connection(), f"message@{self.actor}", status="running")
            jobs.schedule(session, row.id, "continue")
            session.commit()
            return True

    def _started_by(self, name):
        """Keys of the processes whose newest version starts with message `name`."""
        with self.Session() as session:
            return [definition.key for definition in definitions.latest_of_each(session)
                    if messages.starts_with(self.specs.specs(
                        session, definition.id, definitions.pinned_calls(session.connection(), definition))[0], name)]

    def _start_with_message(self, key, name, correlation, data):
        """An instance whose message start event has caught the message; a worker runs on from there."""
        with self.Session() as session:
            business_key = (correlation or {}).get("business_key")
            instance_id = self._insert_instance(session.connection(), key, {}, business_key, "message")
            instance, writer = self._load(session, self._row(session, instance_id))
            instance.run_until()  # up to its start event, which waits for the message
            messages.deliver(instance, name, data)
            writer.write(session.connection(), f"message@{self.actor}", status="running")
            jobs.add(session.connection(), instance_id, "continue")  # only now can a worker see it
            session.commit()
        self._notify({"event": "instance_started", "key": key})
        return instance_id

    def instances(self, status=None, key=None, business_key=None, limit=50, after=None):
        """Instances, newest first; `after` is the `next` cursor of the previous page (see instance_page)."""
        return self.instance_page(status, key, business_key, limit, after)["instances"]

    def instance_page(self, status=None, key=None, business_key=None, limit=50, after=None):
        """{"instances": [...], "next": cursor of the following page or None}.

        Pages by position (keyset), not by offset: the 2,000th page costs what the first does.
        """
        with self.Session() as session:
            query = select(InstanceRow)
            if status:
                query = query.where(InstanceRow.status == status)
            if key:
                query = query.where(InstanceRow.key == key)
            if business_key:
                query = query.where(InstanceRow.business_key == business_key)
            if after:
                created_at, instance_id = _cursor(after)
                # The first condition alone is a range an index can seek to; the second breaks ties.
                query = query.where(InstanceRow.created_at <= created_at,
                                    or_(InstanceRow.created_at < created_at, InstanceRow.id < instance_id))
            query = query.order_by(InstanceRow.created_at.desc(), InstanceRow.id.desc()).limit(limit + 1)
            rows = session.scalars(query).all()
            more, rows = len(rows) > limit, rows[:limit]
            return {"instances": [_instance_summary(row) for row in rows],
                    "next": f"{_iso(rows[-1].created_at)}|{rows[-1].id}" if more else None}

    def show(self, instance_id):
        """Everything about an instance: tasks, history, open incident."""
        with self.Session() as session:
            row = self._row(session, instance_id)
            instance, _ = self._load(session, row)
            history = session.scalars(
                select(HistoryEntry).where(HistoryEntry.instance_id == instance_id).order_by(HistoryEntry.id)
            ).all()
            incident = self._open_incident(session, instance_id)
            return {
                **_instance_summary(row),
                "data": instance.data,
                "error": row.error,
                "tasks": instance.tasks(),
                "waiting": instance.waiting_tasks(),
                "history": [_history_entry(entry) for entry in history],
                "incident": _incident(incident) if incident else None,
            }

    def retry(self, instance_id):
        """Resumes a failed instance from its failed task (a worker runs it)."""
        with self.Session() as session:
            row = self._row(session, instance_id)
            if row.status != "failed":
                raise InstanceError(f"instance {instance_id} is {row.status}, not failed: nothing to retry")
            self._lock_for_user(session, row.id)
            incident = self._open_incident(session, instance_id)
            if incident is not None:
                incident.resolved_at = jobs.now()
            row.status = "running"
            jobs.schedule(session, row.id, "manual_retry")
            session.commit()
            return _instance_summary(row)

    def cancel(self, instance_id):
        with self.Session() as session:
            row = self._row(session, instance_id)
            if row.status in ("completed", "cancelled"):
                raise InstanceError(f"instance {instance_id} is already {row.status}")
            self._lock_for_user(session, row.id)
            instance, writer = self._load(session, row)
            instance.cancel()
            writer.write(session.connection(), f"user@{self.actor}", status="cancelled",
                         error=instance.error, ended_at=jobs.now())
            jobs.unschedule(session, row.id)
            session.commit()
            self._notify(_ended(instance, "cancelled"))
            return self._summary(session, instance_id)

    def complete_task(self, instance_id, task_ref, data=None):
        """Completes a waiting user task; a worker carries the instance on from there."""
        data = variable_limits.checked(data or {}, f"the data completing task '{task_ref}'")
        with self.Session() as session:
            row = self._row(session, instance_id)
            self._lock_for_user(session, row.id)
            instance, writer = self._load(session, row)
            task = instance._find_waiting_task(task_ref)
            task.data.update(data or {})
            if instance._run_task(task):
                fields, next_job = {"status": "running"}, ("continue", None)
            else:
                fields, next_job = self._settle(session, row.id, instance)
            writer.write(session.connection(), f"user@{self.actor}", **fields)
            _reschedule(session, row.id, next_job)
            session.commit()
            return self._summary(session, instance_id)

    # -- workers -----------------------------------------------------------

    def work_once(self):
        """Claims one due job and advances its instance; False when nothing was due."""
        return self.work_batch(1) > 0

    def work_batch(self, size=None):
        """Claims up to `size` due jobs and advances their instances; returns how many it claimed.

        The instances advance together, one activity each per round, and every
        round is one transaction (a group commit): each task is committed
        before its instance's next task runs, so a crash re-runs at most one
        task per instance, while commits are shared by the whole batch. A
        heartbeat keeps the batch's leases alive meanwhile (jobs.Lease).
        """
        with self.Session() as session:
            taken_at = time.monotonic()
            claimed = jobs.claim(session, self.actor, self.lease_seconds, size or self.batch_size)
            if not claimed:
                return 0
            with jobs.Lease(self.engine, self.actor, self.lease_seconds,
                            [job.instance_id for job in claimed], taken_at) as lease:
                try:
                    self._advance(session, self._open(session, claimed, lease), lease)
                except BaseException:
                    session.rollback()  # its row locks would keep the heartbeat (joined next) waiting
                    raise
            return len(claimed)

    def release_leases(self):
        """Gives up every lease this worker holds (it stopped, or its batch failed): others claim at once."""
        with self.Session() as session:
            held = session.scalars(select(Job.instance_id).where(Job.locked_by == self.actor)).all()
            if held:
                jobs.release(session, held, self.actor)
                session.commit()
            return len(held)

    def next_due(self):
        with self.Session() as session:
            return jobs.next_due(session)

    def _open(self, session, claimed, lease):
        batch = []
        jobs_by_id = {job.instance_id: job for job in claimed}
        rows = session.connection().execute(SELECT_INSTANCES, {"ids": list(jobs_by_id)}).all()
        logged = read_steps(session.connection(), list(jobs_by_id))
        order = {instance_id: position for position, instance_id in enumerate(jobs_by_id)}
        rows.sort(key=lambda row: order[row.id])  # the order they fell due
        for row in rows:
            job = jobs_by_id[row.id]
            if row.status in ("completed", "cancelled", "failed"):
                lease.drop([row.id])  # before writing its row: the heartbeat must not wait on this transaction
                jobs.unschedule(session, row.id)
                continue
            try:
                instance, writer = self._load(session, row, logged.get(row.id, []))
            except Exception as error:  # one unreadable instance must not stop the worker
                lease.drop([row.id])
                _add_incident(session, row.id, {
                    "task": "", "bpmn_id": None, "message": f"{type(error).__name__}: {error}",
                    "type": type(error).__name__, "traceback": "".join(traceback.format_exception(error))})
                self._mark_failed(session, row.id)
                continue
            if job.crashes >= self.max_crashes:
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
        session.connection().execute(update(InstanceRow.__table__).where(InstanceRow.id == instance_id)
                                     .values(status="failed", updated_at=jobs.now()))
        jobs.unschedule(session, instance_id)

    def _fail_poison_pill(self, session, instance, writer, crashes):
        """Fails an instance whose step killed `crashes` workers in a row: an incident, no more tries."""
        error = poison_pills.worker_deaths(instance, crashes)
        instance.error = error
        _add_incident(session, instance.id, error)
        writer.write(session.connection(), f"worker@{self.actor}", status="failed", error=error)
        jobs.unschedule(session, instance.id)

    def _advance(self, session, batch, lease):
        actor = f"worker@{self.actor}"
        while batch:
            round_started = time.monotonic()
            prepared, next_jobs, still_running, events, unreached, dropped = {}, {}, [], [], [], []
            for position, item in enumerate(batch):
                if self.stop_requested():  # the worker is stopping: hand back the instances not yet run
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
                    fields, next_job = self._settle(session, item.id, item.instance)
                    status = fields["status"]
                    if status == "completed":
                        prepared[item.id] = item.writer.prepare_end(actor, fields["ended_at"])
                    else:
                        prepared[item.id] = item.writer.prepare(actor, **fields)
                    next_jobs[item.id] = next_job
                if self.observers:  # building events costs a scan of the tree at the end: only when watched
                    events += [(item.id, event) for event in _events(item, status)]
                if time.monotonic() - round_started > self.round_seconds:
                    # A slow round: commit what is done now, and let another worker (or this one's
                    # next claim) take the instances this round has not reached.
                    unreached = batch[position + 1:]
                    break
            held = self._commit_round(session, lease, prepared, next_jobs, [item.id for item in unreached] + dropped,
                                      suspected=any(item.suspected for item in batch))
            for instance_id, event in events:
                if instance_id in held:
                    self._notify(event)
            for item in batch:
                item.suspected = False  # its progress is committed: the crash count is cleared
            batch = [item for item in still_running if item.id in held]
            if batch and self.stop_requested():
                # Every finished step is committed; the rest go back at once, for another worker.
                with lease.writing:
                    jobs.release(session, [item.id for item in batch], self.actor)
                    session.commit()
                    lease.drop([item.id for item in batch])
                return

    def _commit_round(self, session, lease, prepared, next_jobs, let_go, suspected):
        """Commits a round's steps ({instance id: prepared}) and settled instances' next jobs ({id: job}),
        and releases `let_go`; the ids whose leases the worker still held (only their work is written)."""
        with lease.writing:  # the heartbeat waits for this commit rather than lock rows against it
            held = lease.hold(session, list(prepared), suspected)
            _forget_incidents(session, keep=held)  # a settled instance whose lease was lost
            write_round(session.connection(), [step for instance_id, step in prepared.items() if instance_id in held])
            settled = [instance_id for instance_id in next_jobs if instance_id in held]
            jobs.unschedule(session, *(instance_id for instance_id in settled if next_jobs[instance_id] is None))
            for instance_id in settled:
                if next_jobs[instance_id] is not None:
                    jobs.schedule(session, instance_id, *next_jobs[instance_id])
            jobs.release(session, let_go, self.actor)
            session.commit()
            lease.drop(settled + let_go)
        return held

    def _notify(self, event):
        for observer in self.observers:
            observer(event)

    def _settle(self, session, instance_id, instance):
        """What the instance is now: (row fields to write, next job as (reason, due) or None)."""
        if instance.error is not None:
            return self._settle_failure(session, instance_id, instance)
        if instance.ended:
            return {"status": "completed", "ended_at": jobs.now(), "error": None}, None
        due = next_timer_due(instance.workflow)
        return {"status": "waiting", "error": None}, (("timer", due) if due else None)

    def _settle_failure(self, session, instance_id, instance):
        error, failed = instance.error, instance.failed_task()
        attempts = failed.internal_data.get(FAILURES, 1) - failed.internal_data.get("maestro_retry_base", 0)
        policy = policy_for(maestro_info(failed.task_spec))
        if not error.get("business") and attempts < policy.tries:
            retry_at = jobs.now() + timedelta(seconds=policy.delay(attempts))
            return {"status": "running", "error": error}, ("retry", retry_at)
        _add_incident(session, instance_id, error)
        return {"status": "failed", "error": error}, None

    # -- helpers -------------------------------------------------------------

    def _row(self, session, instance_id):
        row = session.get(InstanceRow, instance_id)
        if row is None:
            raise NotFound(f"no instance '{instance_id}'")
        return row

    def _load(self, session, row, logged=None):
        """(instance, its writer): the instance as of its last commit, i.e. its snapshot and logged steps
        (read here unless given)."""
        spec, subprocess_specs = self.specs.specs(session, row.definition_id, row.called_definitions)
        connection = session.connection()
        if not row.state:  # started, never saved: nothing stored but the start data
            instance = Instance.from_specs(spec, subprocess_specs, self.handlers, row.variables, row.id,
                                           row.business_key)
            delta, numbered = TaskDelta(instance.workflow), True
        else:
            saved = read_state(connection, row.id, row.state)
            workflow = load_saved(saved, spec, subprocess_specs)
            numbered = TASK_IDS in saved
            instance = Instance(workflow, self.handlers, row.id, row.business_key, TaskIds.restore(saved.get(TASK_IDS)))
            instance.error, instance.cancelled = row.error, row.status == "cancelled"
            delta = TaskDelta.loaded(workflow)
        if logged is None:
            logged = read_steps(connection, [row.id]).get(row.id, [])
        replay(instance, logged)
        awaited = messages.awaited(instance.workflow)  # what the rows say: logged steps write them too
        # Saved before task ids were numbered: its steps could not be replayed, so snapshot at once.
        return instance, InstanceWriter(instance, delta, awaited, logged_steps=len(logged), snapshot_due=not numbered,
                                        start_data=None if row.state else row.variables)

    def _summary(self, session, instance_id):
        session.expire_all()  # the row was written with table-level statements
        return _instance_summary(self._row(session, instance_id))

    def _lock_for_user(self, session, instance_id):
        """A user action must not interleave with a worker (or another action) on the same instance."""
        if not jobs.take_for_user(session, instance_id, f"user@{self.actor}", self.lease_seconds):
            raise Busy(f"instance {instance_id} is being advanced right now; try again shortly")

    def _open_incident(self, session, instance_id):
        return session.scalars(
            select(Incident).where(Incident.instance_id == instance_id, Incident.resolved_at.is_(None))
            .order_by(Incident.id.desc()).limit(1)
        ).first()


def _never():
    return False


def _events(item, status):
    """What an instance's round tells observers: its completed tasks' durations, and its end."""
    key = item.instance.workflow.spec.name
    events = [{"event": "task_completed", "key": key, "bpmn_id": entry["bpmn_id"], "type": entry["type"],
               "seconds": seconds} for entry, seconds in item.writer.recorder.take_durations()]
    if status in ("completed", "failed"):
        events.append(_ended(item.instance, status))
    return events


def _ended(instance, status):
    return {"event": "instance_ended", "key": instance.workflow.spec.name, "status": status,
            "compensated": compensation.has_compensated(instance.workflow)}


def _add_incident(session, instance_id, error):
    """An incident from an error record (as Instance keeps it: task, bpmn_id, message, type, traceback)."""
    session.add(Incident(instance_id=instance_id, task_id=error["task"], bpmn_id=error["bpmn_id"],
                         message=error["message"], error_type=error["type"], traceback=error["traceback"]))


def _setting(name, default, kind):
    """A number from the environment (above 0), or ValueError naming the variable."""
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not 0 < value < float("inf"):
        raise ValueError(f"{name} must be a {'whole ' if kind is int else ''}number above 0, not {text!r}")
    return value


def _forget_incidents(session, keep):
    """Drops the incidents about to be added for instances not in `keep` (their step is dropped)."""
    for pending in list(session.new):
        if isinstance(pending, Incident) and pending.instance_id not in keep:
            session.expunge(pending)


def _reschedule(session, instance_id, next_job):
    if next_job is None:
        jobs.unschedule(session, instance_id)
    else:
        jobs.schedule(session, instance_id, *next_job)


def _cursor(text):
    try:
        moment, instance_id = text.split("|", 1)
        return datetime.fromisoformat(moment), instance_id
    except ValueError as error:
        raise InstanceError(f"not a page cursor: {text!r}") from error


def _iso(moment):
    return jobs._aware(moment).isoformat() if moment else None


def _definition_summary(definition):
    return {"key": definition.key, "version": definition.version, "name": definition.name,
            "file_name": definition.file_name, "deployed_at": _iso(definition.deployed_at)}


def _instance_summary(row):
    return {"id": row.id, "key": row.key, "version": row.version, "status": row.status,
            "business_key": row.business_key, "started_by": row.started_by, "created_at": _iso(row.created_at),
            "updated_at": _iso(row.updated_at), "ended_at": _iso(row.ended_at)}


def _history_entry(entry):
    return {"task_id": entry.task_id, "bpmn_id": entry.bpmn_id, "name": entry.name, "type": entry.type,
            "state": entry.state, "undo_of": entry.undo_of, "actor": entry.actor, "at": _iso(entry.at),
            "data_in": entry.data_in, "data_out": entry.data_out, "error": entry.error}


def _incident(incident):
    return {"task_id": incident.task_id, "bpmn_id": incident.bpmn_id, "message": incident.message,
            "type": incident.error_type, "traceback": incident.traceback, "created_at": _iso(incident.created_at)}
