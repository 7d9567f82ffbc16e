"""Takeovers: a worker that dies or loses its lease mid-run, and the worker that carries on.

Between snapshots a worker logs each step as its handlers' outcomes; the next
worker rebuilds the instance by replaying them (engine/durable/replay.py).
"""
import time
from datetime import datetime, timedelta, timezone

import pytest
from durable_helpers import DURABLE, drain, fresh_maestro
from sqlalchemy import func, select, update

from engine import Handlers
from engine.durable import Maestro
from engine.durable.store.models import HistoryEntry, InstanceStep, Job
from engine.run.interruptions import StepAbandoned
from engine.run.timers import next_timer_due


class WorkerDied(StepAbandoned):
    """Raised in a handler: unwinds the worker like a kill, past the engine's error handling (any other
    BaseException from a handler is a failure of its task; this is how a stopping worker abandons a step)."""


def recording_handlers(topics, die_at=None):
    """Handlers that record (topic, idempotency key, attempt); the first call of `die_at` kills the worker."""
    handlers, calls = Handlers(), []
    for topic in topics:
        def handler(context, topic=topic):
            calls.append((topic, context.idempotency_key, context.attempt))
            if topic == die_at and len([c for c in calls if c[0] == topic]) == 1:
                raise WorkerDied()
            return {f"{topic}_done": True}
        handlers.task(topic)(handler)
    return handlers, calls


def logged_steps(maestro, instance_id):
    with maestro.Session() as session:
        return session.scalar(select(func.count()).select_from(InstanceStep).where(
            InstanceStep.instance_id == instance_id))


def completions(maestro, instance_id):
    with maestro.Session() as session:
        return session.scalars(select(HistoryEntry.bpmn_id).where(
            HistoryEntry.instance_id == instance_id, HistoryEntry.state == "COMPLETED")
            .order_by(HistoryEntry.id)).all()


def test_a_takeover_replays_the_logged_steps_and_reruns_only_the_step_in_flight(tmp_path):
    handlers, calls = recording_handlers(["A", "B", "C"], die_at="C")
    first = fresh_maestro(tmp_path, handlers, lease_seconds=0.2)
    first.deploy_paths([DURABLE / "slow_step_timeout.bpmn"])
    instance_id = first.start("slow_step_timeout")["id"]
    with pytest.raises(WorkerDied):
        first.work_batch()
    assert logged_steps(first, instance_id) >= 1, "the step after B was logged, not saved whole"

    time.sleep(0.3)  # the dead worker's lease runs out
    second = fresh_maestro(tmp_path, handlers)
    drain(second)

    assert [topic for topic, _, _ in calls] == ["A", "B", "C", "C"]
    assert calls[3][1] == calls[2][1], "the re-run step presents its first attempt's idempotency key"
    shown = second.show(instance_id)
    assert shown["status"] == "completed"
    assert shown["data"] == {"A_done": True, "B_done": True, "C_done": True}
    assert completions(second, instance_id) == ["start", "A", "B", "C", "done"]
    assert [t["bpmn_id"] for t in shown["tasks"] if t["state"] == "COMPLETED"] == ["start", "A", "B", "C", "done"]


def test_steps_while_a_timer_waits_are_saved_whole_so_its_due_time_survives_a_takeover(tmp_path):
    handlers, _ = recording_handlers(["A", "X", "Y", "C"], die_at="Y")
    maestro = fresh_maestro(tmp_path, handlers, lease_seconds=0.2)
    maestro.deploy_paths([DURABLE / "subprocess_timeout.bpmn"])
    instance_id = maestro.start("subprocess_timeout")["id"]
    with pytest.raises(WorkerDied):
        maestro.work_batch()  # the hour's timeout on S starts with X; the worker dies in Y
    died_at = datetime.now(timezone.utc)
    assert logged_steps(maestro, instance_id) == 0, "no step was logged while the timer waited"

    time.sleep(0.3)
    with maestro.Session() as session:
        instance, _ = maestro._load(session, maestro._row(session, instance_id))
        due = next_timer_due(instance.workflow)
    # Had the steps been replayed, the timer would have started again, at the takeover.
    assert due is not None and due <= died_at + timedelta(hours=1)


def test_a_worker_that_loses_its_lease_commits_nothing_and_the_new_owner_finishes(tmp_path):
    """The slow worker's lease is lost while its handler runs (as when its heartbeat cannot reach the
    database for a whole lease): the new owner replays and finishes, the slow call is not committed."""
    handlers, calls = Handlers(), []
    url = f"sqlite:///{tmp_path / 'maestro.db'}"
    slow_worker = Maestro(url, handlers=handlers, lease_seconds=0.3, actor="slow")
    other_worker = Maestro(url, handlers=handlers, actor="other")

    @handlers.task("A")
    def a(context):
        calls.append("A")

    @handlers.task("B")
    def b(context):
        calls.append("B")
        if len(calls) == 2:  # the slow worker's call: its lease is freed and another worker takes over
            with slow_worker.engine.begin() as connection:
                connection.execute(update(Job.__table__).where(Job.instance_id == instance_id)
                                   .values(locked_by=None, lease_until=None))
            assert other_worker.work_batch() == 1
            time.sleep(0.2)  # the heartbeat (every 0.1 s) finds the lease gone before the slow call returns

    @handlers.task("C")
    def c(context):
        calls.append("C")

    slow_worker.deploy_paths([DURABLE / "slow_step_timeout.bpmn"])
    instance_id = slow_worker.start("slow_step_timeout")["id"]
    slow_worker.work_batch()

    assert calls == ["A", "B", "B", "C"]
    assert completions(other_worker, instance_id) == ["start", "A", "B", "C", "done"]
    assert other_worker.show(instance_id)["status"] == "completed"


BRANCH_ON_A_VARIABLE_A_TASK_CHANGES = """<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" targetNamespace="t">
  <process id="reroute" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="gw"/>
    <exclusiveGateway id="gw" default="to_b"/>
    <sequenceFlow id="to_a" sourceRef="gw" targetRef="a"><conditionExpression>${route == 'a'}</conditionExpression>
    </sequenceFlow>
    <sequenceFlow id="to_b" sourceRef="gw" targetRef="b"/>
    <serviceTask id="a" camunda:topic="a"/>
    <serviceTask id="b" camunda:topic="b"/>
    <sequenceFlow id="f2" sourceRef="a" targetRef="e"/>
    <sequenceFlow id="f3" sourceRef="b" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"""


def test_an_instance_that_ends_without_a_snapshot_is_shown_from_its_start_data(tmp_path):
    """Shown by replaying its logged steps from the start data: the row must keep them, not the end data."""
    handlers = Handlers()
    handlers.task("a")(lambda ctx: {"route": "b", "a_done": True})
    handlers.task("b")(lambda ctx: {"b_done": True})
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy([("reroute.bpmn", BRANCH_ON_A_VARIABLE_A_TASK_CHANGES.encode())])
    instance_id = maestro.start("reroute", {"route": "a"})["id"]
    drain(maestro)
    shown = maestro.show(instance_id)
    assert shown["status"] == "completed"
    assert [t["bpmn_id"] for t in shown["tasks"] if t["state"] == "COMPLETED"] == ["s", "gw", "a", "e"]
    assert shown["data"] == {"route": "b", "a_done": True}
