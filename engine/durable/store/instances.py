"""Reading and writing instance state: the instance row, its task rows, its logged steps, its history.

All table-level SQL: on the worker's hot path the ORM's bookkeeping would
cost more than the writes themselves.
"""
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engine.durable.replay import MAX_LOGGED_STEPS, TimerWatch
from engine.run import compensation, messages, outbound
from engine.run.serializer import SERIALIZER
from engine.run.spiff import state_changes
from engine.run.time_to_live import DEFAULT_TTL_SECONDS, InvalidTimeToLive, ttl_seconds

from . import outbox, user_task_rows
from .fast_insert import FastInsert
from .history import HistoryRecorder
from .jobs import now
from .models import HistoryEntry, InstanceStep, InstanceTask, Subscription, TaskMark
from .models import Instance as InstanceRow
from .task_rows import assemble, skeleton

INSTANCES, TASKS, HISTORY = InstanceRow.__table__, InstanceTask.__table__, HistoryEntry.__table__
STEPS, SUBSCRIPTIONS, MARKS = InstanceStep.__table__, Subscription.__table__, TaskMark.__table__

# Built once: building SQLAlchemy statements costs more than running them on this path.
_STATE_VALUES = dict(state=bindparam("state"), variables=bindparam("variables"), updated_at=bindparam("updated_at"),
                     status=bindparam("status"), error=bindparam("error"), ended_at=bindparam("ended_at"),
                     outcome=bindparam("outcome"), end_event=bindparam("end_event"))
UPDATE_STATE = update(INSTANCES).where(INSTANCES.c.id == bindparam("instance")).values(**_STATE_VALUES)
UPDATE_STATUS = update(INSTANCES).where(INSTANCES.c.id == bindparam("instance")) \
    .values(**{name: value for name, value in _STATE_VALUES.items() if name != "state"})
DELETE_TASKS = delete(TASKS).where(TASKS.c.instance_id == bindparam("instance"),
                                   TASKS.c.task_id.in_(bindparam("ids", expanding=True)))
INSERT_HISTORY = FastInsert(HISTORY)
INSERT_STEP = FastInsert(STEPS)
SELECT_STEPS = select(STEPS.c.instance_id, STEPS.c.outcomes) \
    .where(STEPS.c.instance_id.in_(bindparam("ids", expanding=True))).order_by(STEPS.c.instance_id, STEPS.c.seq)
DELETE_STEPS = delete(STEPS).where(STEPS.c.instance_id == bindparam("instance"))
INSERT_SUBSCRIPTIONS = insert(SUBSCRIPTIONS)
DELETE_SUBSCRIPTION = delete(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.instance_id == bindparam("instance"),
                                                  SUBSCRIPTIONS.c.kind == bindparam("kind"),
                                                  SUBSCRIPTIONS.c.name == bindparam("name"))
INSERT_MARKS = insert(MARKS)


def _upsert_tasks(dialect_insert):
    statement = dialect_insert(TASKS)
    return statement.on_conflict_do_update(
        index_elements=[TASKS.c.instance_id, TASKS.c.task_id],
        set_={"body": statement.excluded.body, "workflow": statement.excluded.workflow},
    )


UPSERT_TASKS = {"postgresql": _upsert_tasks(postgres_insert), "sqlite": _upsert_tasks(sqlite_insert)}


def read_steps(connection, instance_ids):
    """{instance id: the handler outcomes of each step logged since its snapshot, in order}."""
    logged = {}
    for instance_id, outcomes in connection.execute(SELECT_STEPS, {"ids": instance_ids}):
        logged.setdefault(instance_id, []).append(json.loads(outcomes))
    return logged


def read_state(connection, instance_id, skeleton_text):
    """The saved workflow in SpiffWorkflow's format, ready for SERIALIZER.from_dict."""
    rows = connection.execute(
        select(TASKS.c.workflow, TASKS.c.task_id, TASKS.c.body).where(TASKS.c.instance_id == instance_id)
    ).all()
    saved = assemble(skeleton_text, rows)
    SERIALIZER.migrate(saved)
    return saved


class InstanceWriter:
    """Writes what changed in one loaded (or new) instance since the last write.

    A write is a snapshot (the changed tasks, the instance row; the step log is
    folded in and emptied) or, while the instance runs on, one logged step
    (the outcomes of its handler calls: see engine.durable.replay).
    """

    def __init__(self, instance, delta, awaited, logged_steps=0, snapshot_due=False, start_data=None,
                 outbox_settings=None, process=("", 0)):
        self.instance = instance
        self.process = process  # (key, version) of the instance's process, for its user_tasks rows
        # An instance never snapshotted is rebuilt from the start data in its row: they must stay.
        self.start_data = start_data
        self.delta = delta  # the tasks as the snapshot holds them
        self.recorder = HistoryRecorder(instance)
        self.timers = TimerWatch(instance.workflow)
        self.logged_steps = logged_steps  # steps logged since the snapshot
        self.snapshot_due = snapshot_due  # the next write must be a snapshot (the tree changed outside a step)
        self.awaited = awaited  # the subscriptions its message_subscriptions rows hold (as of the last write)
        self.outbox_settings = outbox_settings or OutboxSettings()
        state_changes.track(instance.workflow)

    def write(self, connection, actor, status, error=None, ended_at=None, outcome=None, end_event=None):
        """Writes a snapshot of the instance (the caller holds its lease, see jobs)."""
        write_round(connection, [self.prepare(actor, status, error, ended_at, outcome=outcome, end_event=end_event)])

    def prepare(self, actor, status, error=None, ended_at=None, changed=None, outcome=None, end_event=None):
        """A snapshot: what changed since the last one, ready for `write_round`."""
        if changed is None:
            changed, _ = self._take_changes()
        sent = self._sent(actor)  # before the snapshot: what was thrown is in the outbox, not in the state
        upserts, removed, written = self.delta.changes()
        self.instance.workflow.script_engine.take_outcomes()  # the snapshot holds their effects
        clear_steps, self.logged_steps, self.snapshot_due = self.logged_steps > 0, 0, False
        self.start_data = None  # from now on the instance is rebuilt from this snapshot
        history, marks = self.recorder.changes(actor, [*changed, *written]), self._marks()
        return Prepared(
            awaited=self._awaited_now(messages.subscriptions(self.instance.workflow)),
            instance_id=self.instance.id,
            business_key=self.instance.business_key,
            values={"instance": self.instance.id,
                    "state": skeleton(self.instance.workflow, self.instance.task_ids),
                    "variables": self.instance.data, "updated_at": now(), "status": status, "error": error,
                    "ended_at": ended_at, "outcome": outcome, "end_event": end_event},
            upserts=[{"instance_id": self.instance.id, **row} for row in upserts],
            removed=removed,
            history=history,
            clear_steps=clear_steps,
            marks=marks,
            sent=sent,
            user_tasks=user_task_rows.changes(self.instance, self.process, history, marks),
            ended=status in ("completed", "cancelled"),
        )

    def prepare_step(self, actor):
        """A step of an instance that runs on: logged, unless a snapshot is due (engine.durable.replay)."""
        changed, timer_involved = self._take_changes()
        if self._snapshot_due() or timer_involved:
            return self.prepare(actor, "running", changed=changed)
        return self._logged(actor, changed)

    def prepare_end(self, actor, ended_at, outcome=None, end_event=None):
        """The last step of a completed instance: logged, and the row says completed.

        No snapshot is written: nothing will run the instance again, and reading
        it back (`show`) replays its logged steps.
        """
        changed, _ = self._take_changes()
        if self._snapshot_due():
            return self.prepare(actor, "completed", ended_at=ended_at, changed=changed, outcome=outcome,
                                end_event=end_event)
        prepared = self._logged(actor, changed)
        nothing_awaited = self._awaited_now([])
        if nothing_awaited is not None:  # else the rows say so already (maybe since this very step)
            prepared.awaited = nothing_awaited
        variables = self.instance.data if self.start_data is None else self.start_data
        prepared.status = {"instance": self.instance.id, "variables": variables, "updated_at": now(),
                           "status": "completed", "error": None, "ended_at": ended_at, "outcome": outcome,
                           "end_event": end_event}
        prepared.ended = True
        return prepared

    def _marks(self):
        """task_marks rows for what the step did that task states do not say (views.py)."""
        top = self.instance.workflow
        gone = {str(task.id) for task in state_changes.take_gone(top) if task.task_spec.bpmn_id is not None}
        return [{"instance_id": self.instance.id, "task_id": task_id, "mark": mark}
                for mark, task_ids in (("compensated", set(compensation.take_compensated(top))), ("gone", gone))
                for task_id in sorted(task_ids)]

    def _sent(self, actor):
        """The outbox rows of the messages and signals the step threw for other instances and processes."""
        instance, settings = self.instance, self.outbox_settings
        rows = [outbox.new_message(
            thrown.kind, thrown.name, thrown.payload, actor,
            correlation=self._correlation(thrown),
            business_key=instance.business_key, ttl_seconds=self._time_to_live(thrown),
            source_instance_id=instance.id, source_element=thrown.element, trace=settings.trace)
            for thrown in outbound.take_thrown(instance.workflow)]
        if settings.stamp is not None:
            for row in rows:
                row["trace"] = settings.stamp(row)
        return rows

    def _correlation(self, thrown):
        """Without a key from the diagram, a message reaches the catches of its thrower's business key;
        a signal reaches every catch of its name."""
        if thrown.kind == "signal":
            return None
        return thrown.correlation if thrown.correlation is not None else self.instance.business_key

    def _time_to_live(self, thrown):
        """Seconds a thrown message is kept while nobody waits: its diagram's `maestro.ttl`, else the
        default; a signal, none (BPMN keeps no signal)."""
        if thrown.kind == "signal":
            return 0
        default = self.outbox_settings.message_ttl_seconds
        try:
            return ttl_seconds(thrown.time_to_live) if thrown.time_to_live else default
        except InvalidTimeToLive:  # refused at deploy (checks.task_settings); an older deployment keeps the default
            return default

    def _awaited_now(self, subscriptions):
        """(the subscriptions it had, those it has now), or None when the rows already say so."""
        if subscriptions == self.awaited:
            return None
        before, self.awaited = self.awaited, subscriptions
        return before, subscriptions

    def _snapshot_due(self):
        return self.snapshot_due or self.logged_steps >= MAX_LOGGED_STEPS

    def _take_changes(self):
        """(tasks whose state changed since the last write, whether a timer waited before or after)."""
        changed = state_changes.take(self.instance.workflow)
        self.delta.note(changed)
        return changed, self.timers.step_involves_timer(changed)

    def _logged(self, actor, changed):
        self.logged_steps += 1
        outcomes = self.instance.workflow.script_engine.take_outcomes()
        history, marks = self.recorder.changes(actor, changed), self._marks()
        return Prepared(
            instance_id=self.instance.id,
            business_key=self.instance.business_key,
            history=history,
            # The variables too, so that the instance's page reads them without a replay (views.py).
            step={"instance_id": self.instance.id, "seq": self.logged_steps, "outcomes": json.dumps(outcomes),
                  "variables": json.dumps(self.instance.data)},
            awaited=self._awaited_after_step(changed),
            marks=marks,
            sent=self._sent(actor),
            user_tasks=user_task_rows.changes(self.instance, self.process, history, marks),
        )

    def _awaited_after_step(self, changed):
        """The messages awaited after a logged step, when it may have changed them (else None).

        A catch can start or stop waiting while the instance runs on (a parallel
        branch): `publish` must find it after every commit, not only when the
        instance settles. Only a step that changed a task waiting for a message,
        or cancelled one (a whole activity, with what it ran), is looked at. A
        cancelled join is not such a task: a parallel join cancels the arrivals
        that waited on it at every arrival, and they run nothing.
        """
        if not any((task.state == TaskState.CANCELLED and not isinstance(task.task_spec, Join))
                   or messages.waits_for_a_message(task.task_spec) for task in changed):
            return None
        return self._awaited_now(messages.subscriptions(self.instance.workflow))


@dataclass
class OutboxSettings:
    """What the messages an instance throws are published with."""
    message_ttl_seconds: float = DEFAULT_TTL_SECONDS  # kept this long for a catch that does not wait yet
    trace: str | None = None  # the W3C traceparent of the trace the instance belongs to
    # Tracing on: what gives each message the traceparent of the span publishing it (a child of the instance's)
    stamp: Callable[[dict], str] | None = None


@dataclass
class Prepared:
    instance_id: str
    business_key: str | None = None  # what its subscriptions are reached by when the diagram gives no key
    values: dict | None = None  # the instance row, for a snapshot
    status: dict | None = None  # the instance row's status alone, for a logged last step
    upserts: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    history: list = field(default_factory=list)
    clear_steps: bool = False
    step: dict | None = None  # the step row, for a logged step
    # (the subscriptions before, after) when the messages and signals it waits for changed
    awaited: tuple | None = None
    marks: list = field(default_factory=list)  # task_marks rows: what this step undid or took out of the tree
    sent: list = field(default_factory=list)  # outbox rows: the messages and signals the step threw
    # (user_tasks rows of the tasks that began waiting, closings of those that ended): user_task_rows.changes
    user_tasks: tuple = ([], [])
    ended: bool = False  # the instance completed or was cancelled: none of its user tasks stays open


def write_round(connection, prepared):
    """Writes several instances' changes with one statement per table (a group commit's writes).

    The caller holds the instances' leases in the same transaction (jobs.Lease).
    """
    snapshots = [p.values for p in prepared if p.values is not None]
    if snapshots:
        connection.execute(UPDATE_STATE, snapshots)
    statuses = [p.status for p in prepared if p.status is not None]
    if statuses:
        connection.execute(UPDATE_STATUS, statuses)
    cleared = [{"instance": p.instance_id} for p in prepared if p.clear_steps]
    if cleared:
        connection.execute(DELETE_STEPS, cleared)
    for p in prepared:
        if p.removed:
            connection.execute(DELETE_TASKS, {"instance": p.instance_id, "ids": p.removed})
    upserts = [row for p in prepared for row in p.upserts]
    if upserts:
        connection.execute(UPSERT_TASKS[connection.dialect.name], upserts)
    _write_subscriptions(connection, [p for p in prepared if p.awaited is not None])
    outbox.add(connection, [row for p in prepared for row in p.sent])
    steps = [p.step for p in prepared if p.step is not None]
    if steps:
        INSERT_STEP(connection, steps)
    history = [entry for p in prepared for entry in p.history]
    if history:
        INSERT_HISTORY(connection, history)
    marks = [mark for p in prepared for mark in p.marks]
    if marks:
        connection.execute(INSERT_MARKS, marks)
    user_task_rows.write(connection, [row for p in prepared for row in p.user_tasks[0]],
                         [row for p in prepared for row in p.user_tasks[1]],
                         [p.instance_id for p in prepared if p.ended])


def _write_subscriptions(connection, rewritten):
    """Rewrites what changed of the instances' subscriptions (one that stays keeps when it began), and
    wakes the buffered messages a new one may take."""
    removed, added = [], []
    for p in rewritten:
        before, after = p.awaited
        gone = set(before) - set(after)
        new = set(after) - set(before)
        removed += [{"instance": p.instance_id, "kind": s.kind, "name": s.name} for s in sorted(gone)]
        added += [{"instance_id": p.instance_id, "kind": s.kind, "name": s.name, "correlation_key": s.correlation_key,
                   "business_key": p.business_key, "element": s.element, "since": now()} for s in sorted(new)]
    if removed:
        connection.execute(DELETE_SUBSCRIPTION, removed)
    if added:
        connection.execute(INSERT_SUBSCRIPTIONS, added)
        outbox.wake_buffered(connection, added)
