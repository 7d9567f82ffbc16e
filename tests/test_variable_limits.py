"""Variables have a size limit (MAESTRO_MAX_VARIABLES_BYTES, default 1 MiB per set of values) at
every way in: start data, a handler's result, a message's data, the data completing a user task.
Refused values are never written; the error names where they came from and the largest variable."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import ROOT
from web_helpers import signed_in

from engine.durable import Maestro
from engine.durable.startup import load_processes
from engine.run.variable_limits import DEFAULT_MAX_BYTES
from webapp import create_app

FIXTURES = Path(__file__).parent / "fixtures" / "survival"
LIMIT = 1000
BIG = {"note": "ok", "blob": "x" * 2000}
SMALL = {"note": "ok"}


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """(maestro, API client, environment for the CLI) over a fresh SQLite file, values.bpmn deployed."""
    monkeypatch.setenv("MAESTRO_MAX_VARIABLES_BYTES", str(LIMIT))
    monkeypatch.setenv("MAESTRO_TEST_LOG", str(tmp_path / "calls.log"))
    url = f"sqlite:///{tmp_path / 'maestro.db'}"
    maestro = Maestro(url, handlers=load_processes(FIXTURES)[0])
    maestro.deploy_paths([FIXTURES / "values.bpmn"])
    env = {**os.environ, "MAESTRO_DATABASE_URL": url, "MAESTRO_RETRY_BASE_SECONDS": "0", "PYTHONPATH": str(ROOT)}
    return maestro, signed_in(create_app(maestro, secret_key="test").test_client()), env


def cli(env, *args):
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def refusal(source):
    return (f"{source} is 2.0 KiB of JSON, over the limit of 1000 bytes (MAESTRO_MAX_VARIABLES_BYTES); "
            "the largest variable is 'blob' (2.0 KiB)")


def run_due_work(maestro):
    while maestro.work_batch():
        pass


def test_start_data_over_the_limit_is_refused_by_the_cli_and_the_api_and_nothing_is_stored(setup):
    maestro, client, env = setup
    started = cli(env, "start", "values", "--data", json.dumps(BIG))
    assert (started.returncode, started.stdout) == (2, "")
    assert started.stderr == f"maestro: {refusal('the start data')}\n"

    response = client.post("/api/definitions/values/instances", json={"data": BIG})
    assert response.status_code == 413
    assert response.json == {"error": "too_large", "message": refusal("the start data")}
    assert maestro.instances() == []

    assert client.post("/api/definitions/values/instances", json={"data": SMALL}).status_code == 201


def test_the_default_limit_is_one_mebibyte(setup, monkeypatch):
    maestro, client, _ = setup
    monkeypatch.delenv("MAESTRO_MAX_VARIABLES_BYTES")
    response = client.post("/api/definitions/values/instances",
                           json={"data": {"blob": "x" * DEFAULT_MAX_BYTES}})
    assert response.status_code == 413
    assert "over the limit of 1.0 MiB (MAESTRO_MAX_VARIABLES_BYTES)" in response.json["message"]
    fits = {"blob": "x" * (DEFAULT_MAX_BYTES - 20)}
    assert client.post("/api/definitions/values/instances", json={"data": fits}).status_code == 201


def test_completing_a_user_task_with_too_much_data_is_refused_and_the_task_still_waits(setup):
    maestro, client, env = setup
    instance_id = maestro.start("values", SMALL)["id"]
    run_due_work(maestro)

    response = client.post(f"/api/instances/{instance_id}/tasks/review/complete", json={"data": BIG})
    assert response.status_code == 413
    assert response.json["message"] == refusal("the data completing task 'review'")
    completed = cli(env, "complete", instance_id, "review", "--data", json.dumps(BIG))
    assert completed.returncode == 2
    assert completed.stderr == "maestro: " + refusal("the data completing task 'review'") + "\n"
    shown = maestro.show(instance_id)
    assert (shown["status"], [task["bpmn_id"] for task in shown["waiting"]]) == ("waiting", ["review"])
    assert "blob" not in shown["data"]

    assert client.post(f"/api/instances/{instance_id}/tasks/review/complete", json={"data": SMALL}).status_code == 200


def test_a_message_with_too_much_data_is_refused_and_reaches_nobody(setup):
    maestro, client, env = setup
    instance_id = maestro.start("values", SMALL)["id"]
    run_due_work(maestro)
    maestro.complete_task(instance_id, "review")
    run_due_work(maestro)

    response = client.post("/api/messages", json={"name": "go", "data": BIG})
    assert response.status_code == 413
    assert response.json["message"] == refusal("the data of message 'go'")
    published = cli(env, "publish", "go", "--data", json.dumps(BIG))
    assert published.returncode == 2
    assert published.stderr == "maestro: " + refusal("the data of message 'go'") + "\n"
    assert maestro.show(instance_id)["status"] == "waiting"

    accepted = client.post("/api/messages", json={"name": "go", "data": SMALL})
    assert accepted.status_code == 202
    run_due_work(maestro)
    assert [d["instance_id"] for d in maestro.message(accepted.json["id"])["deliveries"]] == [instance_id]
    assert maestro.show(instance_id)["status"] == "completed"


def test_a_handler_result_over_the_limit_fails_its_task_after_its_retries(setup, tmp_path):
    maestro, _, env = setup
    oversized = maestro.start("values", {"kind": "big"})["id"]
    fine = maestro.start("values", {"kind": "fine"})["id"]
    worker = cli(env, "worker", "--processes", FIXTURES, "--until-idle")
    assert worker.returncode == 0, worker.stderr

    shown = maestro.show(oversized)
    assert shown["status"] == "failed"
    expected = refusal("what the handler for topic 'produce' (task 'Produce values') returned")
    assert shown["incident"]["message"] == expected
    assert shown["incident"]["bpmn_id"] == "produce"
    assert "blob" not in shown["data"] and "small" not in shown["data"]
    calls = [line.split()[:3] for line in (tmp_path / "calls.log").read_text().splitlines()]
    assert [attempt for instance, _, attempt in calls if instance == oversized] == ["1", "2", "3"]
    assert maestro.show(fine)["status"] == "waiting"


SCRIPT_SETS = """<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="t">
  <process id="compute" isExecutable="true">
    <startEvent id="s"/><sequenceFlow id="f1" sourceRef="s" targetRef="calc"/>
    <scriptTask id="calc" scriptFormat="python"><script>ratio = 1e308 * factor
label = "a" + chr(code) + "b"</script></scriptTask>
    <sequenceFlow id="f2" sourceRef="calc" targetRef="e"/><endEvent id="e"/>
  </process>
</definitions>"""


@pytest.mark.parametrize("data, problem", [
    ({"factor": 10, "code": 45}, "variable 'ratio' is inf, which JSON (and PostgreSQL) cannot store"),
    ({"factor": 1, "code": 0}, "variable 'label' contains a NUL character"),
])
def test_a_script_setting_what_no_database_stores_fails_its_task_and_its_batch_goes_on(
        tmp_path, monkeypatch, data, problem):
    """On PostgreSQL such a value failed the commit of the whole batch, round after round."""
    monkeypatch.setenv("MAESTRO_RETRY_BASE_SECONDS", "0")
    maestro = Maestro(f"sqlite:///{tmp_path / 'maestro.db'}")
    maestro.deploy([("compute.bpmn", SCRIPT_SETS.encode())])
    bad = maestro.start("compute", data)["id"]
    good = maestro.start("compute", {"factor": 1, "code": 45})["id"]
    while maestro.work_batch():
        pass

    shown = maestro.show(bad)
    assert shown["status"] == "failed"
    assert shown["incident"]["bpmn_id"] == "calc" and problem in shown["incident"]["message"]
    assert shown["data"] == data  # nothing of the script's result was kept
    assert maestro.show(good)["status"] == "completed"
    assert maestro.show(good)["data"] == {"factor": 1, "code": 45, "ratio": 1e308, "label": "a-b"}
