"""What every job of a Maestro object shares: the database, the handlers, its actor and settings,
and the few steps each job takes: find an instance's row, load the instance, lock it for a user, notify.
"""
import os
import socket

from engine.handlers import Handlers
from engine.run.time_to_live import DEFAULT_TTL_SECONDS

from . import tracing
from .errors import Busy, NotFound
from .store import definitions, jobs
from .store.db import connect
from .store.models import Instance as InstanceRow
from .summaries import instance_summary


class Context:
    """Shared by the jobs of one Maestro object; its attributes are Maestro's own (see maestro._Shared)."""

    def __init__(self, database_url=None, handlers=None, actor=None, lease_seconds=None, batch_size=32):
        self.observers = []
        self.batch_size = batch_size
        self.engine, self.Session = connect(database_url)
        self.handlers = handlers or Handlers()
        self.actor = actor or f"{socket.gethostname()}:{os.getpid()}"
        self.lease_seconds = lease_seconds or float(os.environ.get("MAESTRO_LEASE_SECONDS", "30"))
        # A round longer than this commits what is done and lets go of the instances it has not reached.
        self.round_seconds = _setting("MAESTRO_ROUND_SECONDS", 1.0, float)
        self.max_crashes = _setting("MAESTRO_MAX_CRASHES", 3, int)
        # How long a message thrown or published without a time to live is kept for a catch to come.
        self.message_ttl_seconds = _setting("MAESTRO_MESSAGE_TTL_SECONDS", DEFAULT_TTL_SECONDS, float)
        self.specs = definitions.SpecCache()
        # Asked before every step a worker runs: True stops the batch there, committing what is done
        # (run_worker sets it; it also tells the worker's health that its loop moves).
        self.stop_requested = _never
        tracing.configure_from_environment()  # once per process: the first engine object of a worker, a command...

    def row(self, session, instance_id):
        row = session.get(InstanceRow, instance_id)
        if row is None:
            raise NotFound(f"no instance '{instance_id}'")
        return row

    def load(self, session, row, logged=None):
        """(instance, its writer): the instance as of its last commit, i.e. its snapshot and logged steps
        (read here unless given)."""
        # Imported here, by what loads an instance: starting and listing instances need no SpiffWorkflow.
        from engine.run import compensation, messages, outbound
        from engine.run.instance import Instance
        from engine.run.serializer import load_saved
        from engine.run.spiff import state_changes
        from engine.run.spiff.task_ids import TaskIds

        from .replay import replay
        from .store.instances import InstanceWriter, OutboxSettings, read_state, read_steps
        from .store.task_rows import TASK_IDS, TaskDelta

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
        # What the replayed steps undid, took out of the tree or threw is recorded (and sent) already.
        compensation.take_compensated(instance.workflow)
        state_changes.take_gone(instance.workflow)
        outbound.forget_thrown(instance.workflow)
        awaited = messages.subscriptions(instance.workflow)  # what the rows say: logged steps write them too
        traced = instance.workflow.script_engine.tracing = tracing.for_instance(row)  # after the replay: no spans
        # Saved before task ids were numbered: its steps could not be replayed, so snapshot at once.
        return instance, InstanceWriter(instance, delta, awaited, logged_steps=len(logged), snapshot_due=not numbered,
                                        start_data=None if row.state else row.variables,
                                        process=(row.key, row.version),
                                        outbox_settings=OutboxSettings(self.message_ttl_seconds, row.trace,
                                                                       traced.published if traced else None))

    def summary(self, session, instance_id):
        session.expire_all()  # the row was written with table-level statements
        return instance_summary(self.row(session, instance_id))

    def lock_for_user(self, session, instance_id):
        """A user action must not interleave with a worker (or another action) on the same instance."""
        if not jobs.take_for_user(session, instance_id, f"user@{self.actor}", self.lease_seconds):
            raise Busy(f"instance {instance_id} is being advanced right now; try again shortly")

    def notify(self, event):
        for observer in self.observers:
            observer(event)


def _never():
    return False


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
