"""The database-backed commands of `maestro`, run as a user runs them."""
import json
import os
import shutil

import pytest
from cli_helpers import ROOT, SAGA, maestro
from corpus_outcomes import CORPUS

APPROVAL = ROOT / "tests" / "fixtures" / "durable" / "approval.bpmn"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty folder as the working directory: the default database maestro.db lands here."""
    monkeypatch.delenv("MAESTRO_DATABASE_URL", raising=False)
    monkeypatch.setenv("MAESTRO_RETRY_BASE_SECONDS", "0")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    processes = tmp_path / "processes"
    shutil.copytree(SAGA, processes / "order_fulfillment")
    return tmp_path


def run(workdir, *args):
    return maestro(*args, cwd=workdir)


def test_deploy_start_worker_show_on_the_default_sqlite_file(workdir):
    deployed = run(workdir, "deploy", SAGA / "order_fulfillment.bpmn")
    assert deployed.returncode == 0 and deployed.stdout.strip() == "order_fulfillment version 1"
    assert (workdir / "maestro.db").exists()
    again = run(workdir, "deploy", SAGA / "order_fulfillment.bpmn")
    assert again.stdout.strip() == "order_fulfillment version 1 (unchanged)"

    started = run(workdir, "start", "order_fulfillment", "--data", '{"fail_at": "stock"}', "--business-key", "o-1")
    instance_id = started.stdout.strip()
    assert started.returncode == 0 and len(instance_id) == 36

    listed = json.loads(run(workdir, "instances", "--json").stdout)
    assert [(i["id"], i["status"], i["business_key"]) for i in listed] == [(instance_id, "running", "o-1")]

    worked = run(workdir, "worker", "--processes", workdir / "processes", "--until-idle")
    assert worked.returncode == 0, worked.stdout + worked.stderr

    shown = run(workdir, "show", instance_id)
    assert shown.returncode == 0
    assert f"instance {instance_id}: completed" in shown.stdout
    assert "Refund payment [undo]" in shown.stdout and "history:" in shown.stdout
    detail = json.loads(run(workdir, "show", instance_id, "--json").stdout)
    assert detail["data"]["undone"] == ["refund_payment"]
    assert run(workdir, "instances", "--status", "failed").stdout == ""


def test_retry_and_cancel_from_the_command_line(workdir):
    run(workdir, "deploy", SAGA / "order_fulfillment.bpmn")
    crashing = run(workdir, "start", "order_fulfillment", "--data", '{"crash_at": "payment"}').stdout.strip()
    run(workdir, "worker", "--processes", workdir / "processes", "--until-idle")
    shown = run(workdir, "show", crashing)
    assert f"instance {crashing}: failed" in shown.stdout
    assert "INCIDENT at payment: RuntimeError: payment service unavailable (crash_at)" in shown.stdout

    retried = run(workdir, "retry", crashing)
    assert retried.returncode == 0 and "retry scheduled" in retried.stdout
    assert json.loads(run(workdir, "show", crashing, "--json").stdout)["status"] == "running"
    cancelled = run(workdir, "cancel", crashing)
    assert cancelled.returncode == 0
    assert json.loads(run(workdir, "show", crashing, "--json").stdout)["status"] == "cancelled"
    again = run(workdir, "cancel", crashing)
    assert again.returncode == 2 and "already cancelled" in again.stderr


def test_complete_a_user_task_from_the_command_line(workdir):
    shutil.copy(APPROVAL, workdir / "processes")
    (workdir / "processes" / "approval_handlers.py").write_text(
        "from engine import Handlers\nhandlers = Handlers()\n"
        "handlers.task('ship')(lambda ctx: {'shipped': True})\nhandlers.task('reject')(lambda ctx: {})\n")
    run(workdir, "worker", "--processes", workdir / "processes", "--until-idle")  # deploys the folder
    instance_id = run(workdir, "start", "approval").stdout.strip()
    run(workdir, "worker", "--processes", workdir / "processes", "--until-idle")
    assert "waiting for: Approve order (approve)" in run(workdir, "show", instance_id).stdout
    done = run(workdir, "complete", instance_id, "approve", "--data", '{"approved": true, "reason": "fine"}')
    assert done.returncode == 0, done.stderr
    run(workdir, "worker", "--processes", workdir / "processes", "--until-idle")
    detail = json.loads(run(workdir, "show", instance_id, "--json").stdout)
    assert detail["status"] == "completed" and detail["data"]["shipped"] is True


def test_mistakes_get_one_line_messages_not_tracebacks(workdir):
    cases = [
        (("start", "nope"), "no process 'nope' is deployed"),
        (("show", "0000"), "no instance '0000'"),
        (("start", "nope", "--data", "[1]"), "--data must be a JSON object"),
        (("worker", "--processes", workdir / "missing"), "does not exist"),
    ]
    for args, message in cases:
        result = run(workdir, *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr


def test_database_url_from_the_environment(workdir, tmp_path):
    env_db = tmp_path / "elsewhere.db"
    os.environ["MAESTRO_DATABASE_URL"] = f"sqlite:///{env_db}"
    try:
        assert run(workdir, "deploy", APPROVAL).returncode == 0
    finally:
        del os.environ["MAESTRO_DATABASE_URL"]
    assert env_db.exists() and not (workdir / "maestro.db").exists()


def test_force_executable_deploys_a_tool_export_and_says_so(workdir):
    exported = workdir / "exported.bpmn"
    exported.write_text(APPROVAL.read_text().replace('isExecutable="true"', 'isExecutable="false"'))
    refused = run(workdir, "deploy", exported)
    assert refused.returncode == 1 and "--force-executable" in refused.stderr
    forced = run(workdir, "deploy", "--force-executable", exported)
    assert forced.returncode == 0
    assert forced.stdout.strip() == ('approval version 1 (marked isExecutable="false"; '
                                     'deployed as executable because of --force-executable)')
    assert run(workdir, "lint", "--force-executable", exported).returncode == 0


def test_force_executable_names_the_timers_without_a_time_it_let_through(workdir):
    reference_c60 = CORPUS / "miwg-test-suite" / "Reference" / "C.6.0.bpmn"
    boundary_timer, gateway_timer = "_32c4138c-74ae-484a-a7e5-0609370d7080", "_87baeef0-f32e-4a93-b802-fdd588aaf729"
    refused = run(workdir, "deploy", reference_c60)
    assert refused.returncode == 1 and f"{gateway_timer}: timer event without a time" in refused.stderr
    forced = run(workdir, "deploy", "--force-executable", reference_c60)
    assert forced.returncode == 0
    assert forced.stdout.strip() == ("_898aa942-9a96-4405-ae71-22b5e2e3d235 version 1 "
                                     f"(timers without a time never fire: {boundary_timer}, {gateway_timer})")


@pytest.mark.parametrize("encoding", ["iso-8859-1", "utf-16"])
def test_deploy_reads_a_file_in_the_encoding_it_declares_and_keeps_its_text(workdir, encoding):
    text = (f'<?xml version="1.0" encoding="{encoding}"?>\n'
            '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="t">\n'
            '  <process id="bestellung" name="Bestellung prüfen" isExecutable="true">\n'
            '    <startEvent id="s"/><sequenceFlow id="f" sourceRef="s" targetRef="e"/><endEvent id="e"/>\n'
            '  </process>\n</definitions>\n')
    diagram = workdir / "bestellung.bpmn"
    diagram.write_bytes(text.encode(encoding))
    deployed = run(workdir, "deploy", diagram)
    assert (deployed.returncode, deployed.stderr) == (0, "")
    assert deployed.stdout.strip() == "bestellung version 1"
    started = run(workdir, "start", "bestellung")
    assert started.returncode == 0
    assert run(workdir, "worker", "--until-idle", "--processes", workdir / "processes").returncode == 0
    shown = json.loads(run(workdir, "show", started.stdout.strip(), "--json").stdout)
    assert shown["status"] == "completed"
