"""A worker keeps its leases while it works, whatever its handlers do: real `maestro worker` processes
on SQLite and on PostgreSQL never run one task twice, a slow instance holds no other back, and a
handler over its time limit is a failed try, not a hung worker."""
import os
import shutil
import signal
import time
from datetime import datetime, timedelta

import psycopg
import pytest
from cli_helpers import ROOT, maestro
from postgres_server import PostgresServer
from sqlalchemy import update
from test_crash_recovery import assert_each_step_ran_once, processes_folder, read_log, worker

from engine import Handlers
from engine import run as engine_run
from engine.durable import Maestro
from engine.durable.store import jobs
from engine.durable.store.models import Job

WORKERS = ROOT / "tests" / "fixtures" / "workers"


@pytest.fixture(scope="module")
def postgres():
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """A new, empty database for each test, on one PostgreSQL server for the module."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'maestro.db'}"
    server = request.getfixturevalue("postgres")
    name = f"t{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(server.url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return server.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def spawn():
    """Starts `maestro worker` processes like test_crash_recovery.worker; kills those left when the test ends."""
    processes = []

    def start(env, folder, *extra):
        processes.append(worker(env, folder, *extra))
        return processes[-1]
    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.communicate()


def worker_env(database, log, **settings):
    return {**os.environ, "MAESTRO_DATABASE_URL": database, "MAESTRO_TEST_LOG": str(log),
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests" / "data")]), **settings}


def lease_folder(tmp_path):
    folder = tmp_path / "processes"
    folder.mkdir()
    for name in ("slow_call.bpmn", "two_slow_calls.bpmn", "limited_by_topic.bpmn", "limited_by_diagram.bpmn"):
        shutil.copy(WORKERS / name, folder)
    shutil.copy(ROOT / "tests" / "data" / "lease_handlers.py", folder)
    return folder


def started(process):
    """Waits for a worker's "started" line (it has deployed its folder and is claiming work)."""
    for line in process.stdout:
        if "started" in line:
            return process
    raise AssertionError(f"worker exited before starting: {process.wait()}")


def settled(engine, instance_ids, timeout):
    """Waits until no instance is running; their statuses."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statuses = {instance_id: engine.show(instance_id)["status"] for instance_id in instance_ids}
        if "running" not in statuses.values():
            return statuses
        time.sleep(0.1)
    raise AssertionError(f"still running after {timeout} s: {statuses}")


def stop(processes):
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        output, _ = process.communicate(timeout=60)
        assert process.returncode == 0, output


def test_a_handler_longer_than_the_lease_runs_once_with_two_workers(tmp_path, database, spawn):
    log = tmp_path / "calls.log"
    folder = lease_folder(tmp_path)
    engine = Maestro(database)
    engine.deploy_paths(sorted(folder.glob("*.bpmn")))
    env = worker_env(database, log, MAESTRO_LEASE_SECONDS="2", MAESTRO_TEST_DELAY="5")
    workers = [started(spawn(env, folder)) for _ in range(2)]  # both claim while the handler runs
    instance_id = engine.start("slow_call")["id"]

    statuses = settled(engine, [instance_id], timeout=40)
    stop(workers)

    assert statuses == {instance_id: "completed"}
    assert [(i, topic, attempt) for i, topic, attempt, _ in read_log(log)] == [(instance_id, "slow", "1")]
    assert engine.show(instance_id)["data"]["done_by"] == int(read_log(log)[0][3])


def test_sagas_with_two_workers_and_a_short_lease_complete_each_step_once(tmp_path, database, spawn):
    """A round of the batch (6 instances x 0.25 s) is longer than the lease (1 s): the heartbeat
    keeps the leases, and the round commits early and lets the other worker take what it has not reached."""
    log = tmp_path / "calls.log"
    folder = processes_folder(tmp_path)
    engine = Maestro(database)
    engine.deploy_paths([folder / "order_fulfillment.bpmn"])
    instances = {engine.start("order_fulfillment", {})["id"]: False for _ in range(6)}
    env = worker_env(database, log, MAESTRO_LEASE_SECONDS="1", MAESTRO_TEST_DELAY="0.25")

    workers = [spawn(env, folder, "--until-idle") for _ in range(2)]
    for process in workers:
        output, _ = process.communicate(timeout=90)
        assert process.returncode == 0, output

    calls = read_log(log)
    assert_each_step_ran_once(calls, instances, engine)
    assert len({pid for *_, pid in calls}) == 2, "the slow batch did not keep the other worker idle"


def test_a_slow_instance_holds_back_no_other_instance_of_its_batch(tmp_path, spawn):
    """The slow instance falls due first, so a worker takes it in one batch with the quick ones;
    the quick ones are let go after the first slow call and completed by the other worker."""
    database = f"sqlite:///{tmp_path / 'maestro.db'}"
    folder = lease_folder(tmp_path)
    engine = Maestro(database)
    engine.deploy_paths(sorted(folder.glob("*.bpmn")))
    slow = engine.start("two_slow_calls", {"seconds": 4})["id"]
    quick = [engine.start("two_slow_calls", {"seconds": 0.01})["id"] for _ in range(4)]
    env = worker_env(database, tmp_path / "calls.log")
    workers = [started(spawn(env, folder)) for _ in range(2)]

    settled(engine, [slow, *quick], timeout=40)
    stop(workers)

    ended = {instance_id: datetime.fromisoformat(engine.show(instance_id)["ended_at"]) for instance_id in [slow, *quick]}
    # The quick ones were done while the slow instance's second call (4 s) still ran, not after it.
    assert all(ended[instance_id] < ended[slow] - timedelta(seconds=1) for instance_id in quick), ended


def test_a_handler_over_its_time_limit_is_retried_then_an_incident(tmp_path, spawn):
    database = f"sqlite:///{tmp_path / 'maestro.db'}"
    log = tmp_path / "calls.log"
    folder = lease_folder(tmp_path)
    engine = Maestro(database)
    engine.deploy_paths(sorted(folder.glob("*.bpmn")))
    by_topic = engine.start("limited_by_topic")["id"]
    by_diagram = engine.start("limited_by_diagram")["id"]
    env = worker_env(database, log, MAESTRO_RETRY_BASE_SECONDS="0.05")

    began = time.monotonic()
    process = spawn(env, folder, "--until-idle")
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert time.monotonic() - began < 25, "the worker waited for the abandoned handlers"

    calls = read_log(log)
    for instance_id, topic, name, limit in ((by_topic, "limited", "Limited by its binding", "0.5 s"),
                                            (by_diagram, "stuck", "Limited by the diagram", "1 s")):
        assert [(t, attempt) for i, t, attempt, _ in calls if i == instance_id] == [(topic, "1"), (topic, "2"), (topic, "3")]
        shown = engine.show(instance_id)
        assert shown["status"] == "failed"
        assert shown["incident"]["bpmn_id"] == topic
        assert shown["incident"]["type"] == "HandlerTimeout"
        assert shown["incident"]["message"] == (
            f"HandlerTimeout: the handler for topic '{topic}' (task '{name}') ran over its time limit of {limit}; "
            "it was abandoned (its thread may still be running: Python cannot stop it)")


def test_a_malformed_time_limit_is_refused_naming_the_task_and_the_value(tmp_path):
    diagram = tmp_path / "bad_limit.bpmn"
    diagram.write_text((WORKERS / "limited_by_diagram.bpmn").read_text().replace('value="PT1S"', 'value="soon"'))
    result = maestro("lint", diagram)
    assert result.returncode == 1
    assert f"{diagram}:7: stuck: maestro.timeout 'soon' is not a time limit" in result.stdout


@pytest.mark.parametrize("timeout", [0, -1, "10", float("nan"), True])
def test_a_binding_with_a_bad_timeout_says_which_topic(timeout):
    with pytest.raises(ValueError, match="timeout of the task handler for topic 'charge' must be a number"):
        Handlers().task("charge", timeout=timeout)


def test_a_lost_lease_drops_only_that_instances_step(tmp_path):
    """While A's handler runs, A's lease runs out and another worker takes A: the worker commits
    B's step (from the same round) and leaves A, uncommitted, to the other worker."""
    handlers, calls = Handlers(), []
    engine = Maestro(f"sqlite:///{tmp_path / 'maestro.db'}", handlers=handlers, lease_seconds=0.3)
    engine.deploy_paths([WORKERS / "slow_call.bpmn"])
    stolen, kept = (engine.start("slow_call")["id"] for _ in range(2))

    @handlers.task("slow")
    def slow(ctx):
        calls.append(ctx.instance_id)
        if ctx.instance_id == stolen:
            with engine.engine.begin() as connection:  # what a claim by another worker does
                connection.execute(update(Job.__table__).where(Job.instance_id == stolen)
                                   .values(locked_by="other", lease_until=jobs.now() + timedelta(seconds=60)))
            time.sleep(0.5)  # the heartbeat (every 0.1 s) finds the lease gone meanwhile
        return {"done": True}

    assert engine.work_batch(2) == 2

    assert calls == [stolen, kept]
    assert engine.show(kept)["status"] == "completed" and engine.show(kept)["data"]["done"]
    assert engine.show(stolen)["status"] == "running" and "done" not in engine.show(stolen)["data"]
    with engine.Session() as session:
        assert session.get(Job, stolen).locked_by == "other"


@pytest.mark.parametrize("extension", [
    '<camunda:properties><camunda:property name="maestro.timeout" value="0.2"/></camunda:properties>',
    '<zeebe:properties xmlns:zeebe="http://camunda.org/schema/zeebe/1.0">'
    '<zeebe:property name="maestro.timeout" value="PT0.2S"/></zeebe:properties>',
])
def test_the_diagrams_limit_wins_over_the_bindings_in_camunda_7_and_8(tmp_path, extension):
    diagram = tmp_path / "limited.bpmn"
    diagram.write_text((WORKERS / "limited_by_diagram.bpmn").read_text().replace(
        '<camunda:properties><camunda:property name="maestro.timeout" value="PT1S"/></camunda:properties>', extension))
    handlers = Handlers()
    handlers.task("stuck", timeout=60)(lambda ctx: time.sleep(2))

    instance = engine_run(diagram, handlers)

    assert instance.status == "failed"
    assert instance.error["message"] == (
        "HandlerTimeout: the handler for topic 'stuck' (task 'Limited by the diagram') ran over its time limit "
        "of 0.2 s; it was abandoned (its thread may still be running: Python cannot stop it)")
