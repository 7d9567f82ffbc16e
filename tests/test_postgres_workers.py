"""Two `maestro worker` processes share one PostgreSQL database: every task runs exactly once."""
import os

import pytest
from cli_helpers import ROOT
from postgres_server import PostgresServer
from test_crash_recovery import assert_each_step_ran_once, processes_folder, read_log, worker

from engine.durable import Maestro


@pytest.fixture(scope="module")
def postgres():
    server = PostgresServer().start()
    yield server
    server.stop()


def test_two_workers_on_postgresql_never_run_a_task_twice(tmp_path, postgres):
    log = tmp_path / "calls.log"
    env = {**os.environ, "MAESTRO_DATABASE_URL": postgres.url, "MAESTRO_TEST_LOG": str(log),
           "MAESTRO_TEST_DELAY": "0.01", "PYTHONPATH": str(ROOT)}
    folder = processes_folder(tmp_path)
    maestro = Maestro(postgres.url)
    maestro.deploy_paths([folder / "order_fulfillment.bpmn"])
    instances = {}
    for n in range(30):
        fails = n % 3 != 0
        instances[maestro.start("order_fulfillment", {"fail_at": "shipping"} if fails else {})["id"]] = fails

    workers = [worker(env, folder, "--until-idle", "--batch-size", "4") for _ in range(2)]
    for process in workers:
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, output

    calls = read_log(log)
    assert_each_step_ran_once(calls, instances, maestro)
    pids = {pid for *_, pid in calls}
    assert len(pids) == 2, "both workers took part"
    # One instance is advanced by one worker at a time: here, each instance by a single worker.
    for instance_id in instances:
        assert len({pid for i, _, _, pid in calls if i == instance_id}) == 1
