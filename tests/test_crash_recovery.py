"""kill -9 of a worker in the middle of sagas loses no completed step, re-runs at most the
task in flight, and still compensates every completed step exactly once."""
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from cli_helpers import ROOT, SAGA
from postgres_server import PostgresServer

from engine.durable import Maestro

FORWARD = ["checkout", "payment", "stock", "distribution_center", "invoice", "shipping"]
UNDOS = ["cancel_invoice", "release_distribution_center", "release_stock", "refund_payment"]


def processes_folder(tmp_path):
    folder = tmp_path / "processes"
    folder.mkdir()
    shutil.copy(SAGA / "order_fulfillment.bpmn", folder)
    shutil.copy(ROOT / "tests" / "data" / "logged_saga_handlers.py", folder)
    return folder


def worker(env, folder, *extra):
    return subprocess.Popen([sys.executable, "-m", "engine.cli", "worker", "--processes", str(folder), *extra],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def read_log(path):
    if not path.exists():
        return []
    return [line.split() for line in path.read_text().splitlines()]


def expected_calls(fails):
    return FORWARD + UNDOS + ["notify_customer"] if fails else FORWARD


def assert_each_step_ran_once(calls, instances, maestro):
    """Every saga of `instances` ({id: fails}) completed, calling each of its handlers once, in order."""
    counted = Counter((instance_id, topic) for instance_id, topic, *_ in calls)
    assert max(counted.values()) == 1, [key for key, n in counted.items() if n > 1]
    for instance_id, fails in instances.items():
        assert [topic for i, topic, *_ in calls if i == instance_id] == expected_calls(fails)
        assert maestro.show(instance_id)["status"] == "completed"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'maestro.db'}"
        return
    server = PostgresServer().start()
    yield server.url
    server.stop()


def test_kill_9_mid_saga_loses_nothing_and_compensates_exactly_once(tmp_path, database):
    log = tmp_path / "calls.log"
    env = {**os.environ, "MAESTRO_DATABASE_URL": database, "MAESTRO_TEST_LOG": str(log),
           "MAESTRO_LEASE_SECONDS": "1.5", "PYTHONPATH": str(ROOT)}
    folder = processes_folder(tmp_path)
    maestro = Maestro(database)
    maestro.deploy_paths([folder / "order_fulfillment.bpmn"])
    # "shipping" fails last: every forward step completes, then all four are undone.
    instances = {maestro.start("order_fulfillment", {"fail_at": "shipping"})["id"]: True for _ in range(8)}
    instances.update({maestro.start("order_fulfillment", {})["id"]: False for _ in range(4)})

    first = worker(env, folder)
    deadline = time.monotonic() + 60
    while len(read_log(log)) < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = len(read_log(log))
    assert 0 < killed_at < sum(len(expected_calls(f)) for f in instances.values()), "kill came mid-run"

    second = worker(env, folder, "--until-idle")
    output, _ = second.communicate(timeout=120)
    assert second.returncode == 0, output

    calls = read_log(log)
    per_instance = {instance_id: [topic for i, topic, *_ in calls if i == instance_id] for instance_id in instances}
    duplicates = Counter()
    for instance_id, fails in instances.items():
        shown = maestro.show(instance_id)
        assert shown["status"] == "completed", shown
        topics = per_instance[instance_id]
        # Every step in order; a repeat only right where the first worker died.
        deduplicated = [t for n, t in enumerate(topics) if n == 0 or t != topics[n - 1]]
        assert deduplicated == expected_calls(fails), (instance_id, topics)
        duplicates[instance_id] = len(topics) - len(deduplicated)
        if fails:
            undo_completions = [e["bpmn_id"] for e in shown["history"] if e["undo_of"] and e["state"] == "COMPLETED"]
            assert undo_completions == UNDOS  # compensation recorded exactly once per completed step
    # The worker advances a batch of instances together; each had at most one task in flight,
    # so each instance repeats at most one call.
    assert max(duplicates.values()) <= 1, duplicates
    print(f"killed after {killed_at} calls; instances that repeated their in-flight call: "
          f"{sum(duplicates.values())} of {len(instances)}")


def test_sigterm_stops_a_worker_between_batches(tmp_path):
    env = {**os.environ, "MAESTRO_DATABASE_URL": f"sqlite:///{tmp_path / 'maestro.db'}",
           "MAESTRO_TEST_LOG": str(tmp_path / "calls.log"), "PYTHONPATH": str(ROOT)}
    process = worker(env, processes_folder(tmp_path))
    deadline = time.monotonic() + 30
    line = ""
    while "started" not in line and time.monotonic() < deadline:
        line = process.stdout.readline()
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "stopped" in output
