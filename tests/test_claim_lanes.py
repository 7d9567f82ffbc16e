"""Due work is claimed in two lanes: timers, retries and instances moved on by a message or a user
before new instances, whatever their order of falling due, while new instances keep one claim in
four; and due work joins a running batch between its rounds (a timer even when new instances fill
it), so that a timer waits one round, not the whole batch. On SQLite and on PostgreSQL (FOR UPDATE
SKIP LOCKED)."""
import time
from datetime import datetime, timedelta, timezone

from durable_helpers import DURABLE, delivered
from sqlalchemy import update
from test_leases import database, postgres  # noqa: F401 (fixtures)

from engine import Handlers
from engine.durable import Maestro
from engine.durable.store import jobs
from engine.durable.store.models import Job

ONE_STEP = """<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="t">
  <process id="one_step" isExecutable="true">
    <startEvent id="s"/><sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
    <serviceTask id="work"/><sequenceFlow id="f2" sourceRef="work" targetRef="e"/><endEvent id="e"/>
  </process>
</definitions>"""


def long_process(steps):
    tasks = "".join(f'<serviceTask id="step{n}"/><sequenceFlow id="f{n}" sourceRef="step{n}" '
                    f'targetRef="{f"step{n + 1}" if n + 1 < steps else "e"}"/>' for n in range(steps))
    return (f'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="t">'
            f'<process id="long" isExecutable="true"><startEvent id="s"/>'
            f'<sequenceFlow id="f_s" sourceRef="s" targetRef="step0"/>{tasks}<endEvent id="e"/></process>'
            f'</definitions>')


def recording(steps=0, pause=0.0):
    """Handlers for one_step ("work"), timer_date ("B") and long ("step0"...; each call pausing
    `pause` s), recording (topic, instance id) in the order of the calls."""
    handlers, calls = Handlers(), []
    for topic in ["work", "B", "reserve", "ship", "record"] + [f"step{n}" for n in range(steps)]:
        def record(ctx, topic=topic):
            calls.append((topic, ctx.instance_id))
            time.sleep(pause if topic.startswith("step") else 0)
        handlers.task(topic)(record)
    return handlers, calls


def engine_on(url, handlers, steps=0):
    maestro = Maestro(url, handlers=handlers)
    files = [("one_step.bpmn", ONE_STEP.encode())] + [
        (name, (DURABLE / name).read_bytes()) for name in ("timer_date.bpmn", "messages.bpmn")]
    maestro.deploy(files + ([("long.bpmn", long_process(steps).encode())] if steps else []))
    return maestro


DUE_IN = 1.5  # seconds: long enough for another worker to run them to their timers, PostgreSQL included


def waiting_timers(url, maestro, calls, count, due_in):
    """`count` instances waiting on timers due from `due_in` seconds from now on, 10 ms apart, run to
    them by another worker (its calls are not kept); (their ids in the order they fall due, the last
    one's due time)."""
    other_worker = Maestro(url, handlers=maestro.handlers)
    first = datetime.now(timezone.utc) + timedelta(seconds=due_in)
    whens = [(first + timedelta(milliseconds=10 * n)).isoformat() for n in range(count)]
    timers = [maestro.start("timer_date", {"when": when})["id"] for when in whens]
    while other_worker.work_batch():
        pass
    other_worker.engine.dispose()
    calls.clear()
    assert all(maestro.show(instance_id)["status"] == "waiting" for instance_id in timers)
    return timers, whens[-1]


def sleep_until(when):
    time.sleep(max(0.0, (datetime.fromisoformat(when) - datetime.now(timezone.utc)).total_seconds()) + 0.05)


def test_a_due_timer_is_claimed_before_older_starts_beyond_a_batch(database):
    handlers, calls = recording()
    maestro = engine_on(database, handlers)
    (timer,), when = waiting_timers(database, maestro, calls, 1, due_in=DUE_IN)
    starts = [maestro.start("one_step")["id"] for _ in range(10)]  # all due before the timer
    sleep_until(when)

    # A batch of 4 would be 4 of those starts in the order they fell due; the timer takes a place,
    # one start its share, the rest go to the oldest starts; the batch runs in the order they fell due.
    assert maestro.work_batch(4) == 4
    assert calls == [("work", starts[0]), ("work", starts[1]), ("work", starts[2]), ("B", timer)]
    assert maestro.show(timer)["status"] == "completed"
    assert [maestro.show(i)["status"] for i in starts] == ["completed"] * 3 + ["running"] * 7


def test_starts_keep_one_claim_in_four_while_older_timers_are_due(database):
    handlers, calls = recording()
    maestro = engine_on(database, handlers)
    timers, when = waiting_timers(database, maestro, calls, 6, due_in=DUE_IN)
    sleep_until(when)
    starts = [maestro.start("one_step")["id"] for _ in range(2)]  # due after every timer

    while maestro.work_once():
        pass

    order = [instance_id for _, instance_id in calls]
    assert order == timers[:3] + starts[:1] + timers[3:] + starts[1:]


def test_a_delivered_message_goes_before_older_starts_and_a_message_start_is_a_start(database):
    handlers, calls = recording()
    maestro = engine_on(database, handlers)
    order = maestro.start("order")["id"]
    (timer,), when = waiting_timers(database, maestro, calls, 1, due_in=DUE_IN)  # also runs `order` to its message
    (intake,) = delivered(maestro, "payment_sent")["started"]  # a new instance
    start = maestro.start("one_step")["id"]
    sleep_until(when)
    assert delivered(maestro, "payment_received")["reached"] == [order]  # the newest due work

    while maestro.work_once():
        pass

    assert calls == [("B", timer), ("ship", order), ("record", intake), ("work", start)]


def test_a_timer_falling_due_joins_a_batch_that_new_instances_fill_between_its_rounds(database):
    steps = 20
    handlers, calls = recording(steps, pause=0.1)
    maestro = engine_on(database, handlers, steps)
    (timer,), _ = waiting_timers(database, maestro, calls, 1, due_in=DUE_IN)
    long_runs = [maestro.start("long")["id"] for _ in range(2)]  # a batch of 4 s, in rounds of 0.2 s
    later = maestro.start("one_step")["id"]  # a start finds the batch full: it waits for the next claim

    assert maestro.work_batch(2) == 3  # the two long instances, and the timer that joined them

    fired = calls.index(("B", timer))
    assert {instance_id for _, instance_id in calls[fired + 1:]} == set(long_runs)  # the batch ran on
    assert ("work", later) not in calls
    assert maestro.show(timer)["status"] == "completed"
    assert [maestro.show(i)["status"] for i in long_runs] == ["completed", "completed"]
    assert maestro.work_once() and calls[-1] == ("work", later)


def test_a_suspected_poison_pill_never_joins_a_running_batch(database):
    steps = 4
    handlers, calls = recording(steps, pause=0.05)
    maestro = engine_on(database, handlers, steps)
    suspect = maestro.start("one_step")["id"]
    with maestro.engine.begin() as connection:  # as a worker that died holding it leaves it
        connection.execute(update(Job.__table__).where(Job.instance_id == suspect).values(
            locked_by="dead-worker", lease_until=datetime.now(timezone.utc) - timedelta(seconds=1)))
    long_run = maestro.start("long")["id"]
    with maestro.engine.begin() as connection:
        connection.execute(update(Job.__table__).where(Job.instance_id == long_run).values(
            due_at=datetime.now(timezone.utc) - timedelta(minutes=1)))  # due first: the claim stops at the suspect

    assert maestro.work_batch(4) == 1  # the long instance alone: the suspect does not join it
    assert {instance_id for _, instance_id in calls} == {long_run}
    assert maestro.work_batch(4) == 1  # then the suspect, alone
    assert calls[-1] == ("work", suspect)


def test_a_database_from_before_the_lanes_puts_its_waiting_starts_in_the_starts_lane(tmp_path):
    from alembic import command
    from sqlalchemy import create_engine, text

    from engine.durable.store.db import alembic_config, migrate

    old = create_engine(f"sqlite:///{tmp_path / 'old.db'}")  # foreign keys not enforced: bare job rows
    command.upgrade(alembic_config(old), "0008")
    with old.begin() as connection:
        for instance_id, reason in (("a", "start"), ("b", "timer"), ("c", "continue"), ("d", "retry")):
            connection.execute(text("INSERT INTO jobs (instance_id, reason, due_at) VALUES (:id, :reason, :due)"),
                               {"id": instance_id, "reason": reason, "due": datetime.now(timezone.utc)})

    migrate(old)

    with old.connect() as connection:
        lanes = dict(connection.execute(text("SELECT instance_id, lane FROM jobs ORDER BY instance_id")).all())
    assert lanes == {"a": jobs.STARTS, "b": jobs.PROMISED, "c": jobs.PROMISED, "d": jobs.PROMISED}
