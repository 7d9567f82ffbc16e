"""Maestro's durable engine API: deployments and instances in a database, advanced by workers.

The CLI and the web app are thin layers over this class. State lives in the
database: a worker loads an instance, runs it, and commits its progress after
every completed task, holding a lease on the instance's due-work row so that
no other worker advances it at the same time (DESIGN.md, "Durability model").
"""
import os
import socket
import time
from datetime import timedelta

from sqlalchemy import exists, insert, select, update
from SpiffWorkflow.util.task import TaskState

from .handlers import Handlers
from .instance import Instance, InstanceError
from .namespaces import ACTIVITIES
from .retries import policy_for
from .serializer import dump_workflow
from .specs import maestro_info
from .store import definitions, jobs
from .store.db import connect
from .store.history import HistoryRecorder
from .store.models import Definition, HistoryEntry, Incident
from .store.models import Instance as InstanceRow
from .timers import next_timer_due


class NotFound(Exception):
    pass


class Busy(Exception):
    """A worker is advancing the instance right now; try again in a moment."""


class Progress:
    """Commits an instance's progress after every completed activity, while the lease holds.

    Events and gateways between two activities are not committed on their own:
    they call no handler, so a worker that takes over simply runs them again.
    """

    def __init__(self, maestro, session, instance_id, instance, actor):
        self.maestro, self.session, self.instance_id = maestro, session, instance_id
        self.instance, self.actor = instance, actor
        self.recorder = HistoryRecorder(instance)
        self.lease_renewed = time.monotonic()

    def task_done(self, task):
        # COMPLETED, ERROR, or CANCELLED by a BPMN error it raised: its handler ran.
        if not task.has_state(TaskState.FINISHED_MASK):
            return
        if maestro_info(task.task_spec).get("element") not in ACTIVITIES:
            return
        # Table-level statements: the ORM's bulk UPDATE would cost more than the write itself.
        connection = self.session.connection()
        saved = connection.execute(
            update(INSTANCES)
            .where(INSTANCES.c.id == self.instance_id, _holds_lease(self.instance_id, self.maestro.actor))
            .values(state=dump_workflow(self.instance.workflow), variables=self.instance.data,
                    status="running", updated_at=jobs.now())
        ).rowcount
        if saved != 1:
            raise jobs.LeaseLost(self.instance_id)
        entries = self.recorder.changes(self.actor)
        if entries:
            connection.execute(insert(HISTORY), entries)
        if time.monotonic() - self.lease_renewed > self.maestro.lease_seconds / 3:
            jobs.renew(self.session, self.instance_id, self.maestro.actor, self.maestro.lease_seconds)
            self.lease_renewed = time.monotonic()
        self.session.commit()


INSTANCES, HISTORY, JOBS = InstanceRow.__table__, HistoryEntry.__table__, jobs.Job.__table__


def _holds_lease(instance_id, actor):
    return exists(select(JOBS.c.instance_id).where(JOBS.c.instance_id == instance_id, JOBS.c.locked_by == actor))


class Maestro:

    def __init__(self, database_url=None, handlers=None, actor=None, lease_seconds=None):
        self.engine, self.Session = connect(database_url)
        self.handlers = handlers or Handlers()
        self.actor = actor or f"{socket.gethostname()}:{os.getpid()}"
        self.lease_seconds = lease_seconds or float(os.environ.get("MAESTRO_LEASE_SECONDS", "30"))
        self.specs = definitions.SpecCache()

    # -- definitions -----------------------------------------------------

    def deploy(self, files):
        """Deploys (name, bytes) files; see store.definitions.deploy."""
        with self.Session() as session:
            deployed = definitions.deploy(session, list(files))
            session.commit()
            return deployed

    def deploy_paths(self, paths):
        return self.deploy([(str(path), open(path, "rb").read()) for path in paths])

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
        with self.Session() as session:
            query = select(Definition).where(Definition.key == key)
            if version is not None:
                query = query.where(Definition.version == version)
            definition = session.scalars(query.order_by(Definition.version.desc()).limit(1)).first()
            if definition is None:
                raise NotFound(f"no process '{key}'" + (f" version {version}" if version else "") + " is deployed")
            return definition.xml

    # -- instances -----------------------------------------------------------

    def start(self, key, data=None, business_key=None):
        """Creates an instance of the newest version of `key`; a worker runs it."""
        with self.Session() as session:
            definition = definitions.latest(session, key)
            if definition is None:
                raise NotFound(f"no process '{key}' is deployed")
            called = definitions.pinned_calls(session, definition)
            spec, subprocess_specs = self.specs.specs(session, definition.id, called)
            instance = Instance.from_specs(spec, subprocess_specs, self.handlers, data, business_key=business_key)
            row = InstanceRow(
                id=instance.id, definition_id=definition.id, key=definition.key, version=definition.version,
                called_definitions=called, status="running", business_key=business_key,
                variables=dict(data or {}), state=dump_workflow(instance.workflow),
            )
            session.add(row)
            jobs.schedule(session, row.id, "start")
            session.commit()
            return {"id": row.id, "status": row.status}

    def instances(self, status=None, key=None, business_key=None, limit=50, offset=0):
        with self.Session() as session:
            query = select(InstanceRow)
            if status:
                query = query.where(InstanceRow.status == status)
            if key:
                query = query.where(InstanceRow.key == key)
            if business_key:
                query = query.where(InstanceRow.business_key == business_key)
            query = query.order_by(InstanceRow.created_at.desc(), InstanceRow.id).limit(limit).offset(offset)
            return [_instance_summary(row) for row in session.scalars(query)]

    def show(self, instance_id):
        """Everything about an instance: tasks, history, open incident."""
        with self.Session() as session:
            row = self._row(session, instance_id)
            instance = self._load(session, row)
            history = session.scalars(
                select(HistoryEntry).where(HistoryEntry.instance_id == instance_id).order_by(HistoryEntry.id)
            ).all()
            incident = self._open_incident(session, instance_id)
            return {
                **_instance_summary(row),
                "data": row.variables,
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
            instance = self._load(session, row)
            recorder = HistoryRecorder(instance)
            instance.cancel()
            row.status, row.ended_at = "cancelled", jobs.now()
            self._save(session, row, instance, recorder, actor=f"user@{self.actor}")
            jobs.unschedule(session, row.id)
            session.commit()
            return _instance_summary(row)

    def complete_task(self, instance_id, task_ref, data=None):
        """Completes a waiting user task; a worker carries the instance on from there."""
        with self.Session() as session:
            row = self._row(session, instance_id)
            self._lock_for_user(session, row.id)
            instance = self._load(session, row)
            recorder = HistoryRecorder(instance)
            task = instance._find_waiting_task(task_ref)
            task.data.update(data or {})
            if instance._run_task(task):
                row.status = "running"
                jobs.schedule(session, row.id, "continue")
            else:
                self._settle(session, row, instance)
            self._save(session, row, instance, recorder, actor=f"user@{self.actor}")
            session.commit()
            return _instance_summary(row)

    # -- workers -----------------------------------------------------------

    def work_once(self):
        """Claims one due job and advances its instance; False when nothing was due."""
        with self.Session() as session:
            job = jobs.claim(session, self.actor, self.lease_seconds)
            if job is None:
                return False
            try:
                self._advance(session, job)
            except jobs.LeaseLost:
                session.rollback()  # another worker owns it now; our uncommitted step is redone there
            return True

    def next_due(self):
        with self.Session() as session:
            return jobs.next_due(session)

    def _advance(self, session, job):
        row = session.get(InstanceRow, job.instance_id)
        if row.status in ("completed", "cancelled", "failed"):
            jobs.unschedule(session, row.id)
            session.commit()
            return
        instance = self._load(session, row)
        progress = Progress(self, session, row.id, instance, f"worker@{self.actor}")
        instance.on_step = progress.task_done
        if job.reason in ("retry", "manual_retry") and instance.error is not None:
            if job.reason == "manual_retry":
                failed = instance.failed_task()
                failed.internal_data["maestro_retry_base"] = failed.internal_data.get("maestro_attempt", 0)
            instance.retry()
        else:
            instance.run()
        jobs.renew(session, row.id, self.actor, self.lease_seconds)
        session.expire(row)  # Progress wrote the row with table-level statements the ORM did not see
        self._settle(session, row, instance)
        self._save(session, row, instance, progress.recorder, progress.actor)
        session.commit()

    def _settle(self, session, row, instance):
        """Decides what the instance is now, and when it is next due."""
        if instance.error is not None:
            self._settle_failure(session, row, instance)
        elif instance.workflow.completed:
            row.status, row.ended_at, row.error = "completed", jobs.now(), None
            jobs.unschedule(session, row.id)
        else:
            row.status, row.error = "waiting", None
            due = next_timer_due(instance.workflow)
            if due is None:
                jobs.unschedule(session, row.id)
            else:
                jobs.schedule(session, row.id, "timer", due)

    def _settle_failure(self, session, row, instance):
        error, failed = instance.error, instance.failed_task()
        row.error = error
        attempts = failed.internal_data.get("maestro_attempt", 1) - failed.internal_data.get("maestro_retry_base", 0)
        policy = policy_for(maestro_info(failed.task_spec))
        if not error.get("business") and attempts < policy.tries:
            row.status = "running"
            jobs.schedule(session, row.id, "retry", jobs.now() + timedelta(seconds=policy.delay(attempts)))
            return
        row.status = "failed"
        session.add(Incident(instance_id=row.id, task_id=error["task"], bpmn_id=error["bpmn_id"],
                             message=error["message"], error_type=error["type"], traceback=error["traceback"]))
        jobs.unschedule(session, row.id)

    # -- helpers -------------------------------------------------------------

    def _row(self, session, instance_id):
        row = session.get(InstanceRow, instance_id)
        if row is None:
            raise NotFound(f"no instance '{instance_id}'")
        return row

    def _load(self, session, row):
        spec, subprocess_specs = self.specs.specs(session, row.definition_id, row.called_definitions)
        saved = {"id": row.id, "business_key": row.business_key, "workflow": row.state,
                 "error": row.error, "cancelled": row.status == "cancelled"}
        return Instance.from_state(saved, spec, subprocess_specs, self.handlers)

    def _save(self, session, row, instance, recorder, actor):
        row.state = dump_workflow(instance.workflow)
        row.variables = instance.data
        row.updated_at = jobs.now()
        entries = recorder.changes(actor)
        if entries:
            session.connection().execute(insert(HISTORY), entries)

    def _lock_for_user(self, session, instance_id):
        """A user action must not interleave with a worker advancing the same instance."""
        job = session.get(jobs.Job, instance_id)
        if job is not None and job.locked_by and job.lease_until and jobs._aware(job.lease_until) > jobs.now():
            raise Busy(f"instance {instance_id} is being advanced by {job.locked_by}; try again shortly")

    def _open_incident(self, session, instance_id):
        return session.scalars(
            select(Incident).where(Incident.instance_id == instance_id, Incident.resolved_at.is_(None))
            .order_by(Incident.id.desc()).limit(1)
        ).first()


def _iso(moment):
    return jobs._aware(moment).isoformat() if moment else None


def _definition_summary(definition):
    return {"key": definition.key, "version": definition.version, "name": definition.name,
            "file_name": definition.file_name, "deployed_at": _iso(definition.deployed_at)}


def _instance_summary(row):
    return {"id": row.id, "key": row.key, "version": row.version, "status": row.status,
            "business_key": row.business_key, "created_at": _iso(row.created_at),
            "updated_at": _iso(row.updated_at), "ended_at": _iso(row.ended_at)}


def _history_entry(entry):
    return {"task_id": entry.task_id, "bpmn_id": entry.bpmn_id, "name": entry.name, "type": entry.type,
            "state": entry.state, "undo_of": entry.undo_of, "actor": entry.actor, "at": _iso(entry.at),
            "data_in": entry.data_in, "data_out": entry.data_out, "error": entry.error}


def _incident(incident):
    return {"task_id": incident.task_id, "bpmn_id": incident.bpmn_id, "message": incident.message,
            "type": incident.error_type, "traceback": incident.traceback, "created_at": _iso(incident.created_at)}
