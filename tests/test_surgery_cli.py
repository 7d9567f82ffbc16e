"""`maestro move` and `maestro migrate`, run as a user runs them."""
import json
import shutil

import pytest
from cli_helpers import ROOT, maestro

SURGERY = ROOT / "tests" / "fixtures" / "surgery"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """The working directory (the default database maestro.db lands here) with the surgery handlers."""
    monkeypatch.delenv("MAESTRO_DATABASE_URL", raising=False)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    shutil.copytree(SURGERY / "handlers", tmp_path / "processes")
    return tmp_path


def test_migrate_then_move_from_the_command_line(workdir):
    def run(*args):
        return maestro(*args, cwd=workdir)

    assert run("deploy", SURGERY / "orders_v1.bpmn").returncode == 0
    instance_id = run("start", "orders").stdout.strip()
    run("worker", "--processes", workdir / "processes", "--until-idle")
    assert run("deploy", SURGERY / "orders_v3.bpmn").returncode == 0
    refused = run("migrate", "orders", "--from", "1", "--to", "2", "--dry-run")
    assert refused.returncode == 1, refused.stderr
    assert f"{instance_id}: Approve order (approve) is not in version 2" in refused.stdout
    assert run("deploy", SURGERY / "orders_v2.bpmn").returncode == 0
    migrated = run("migrate", "orders", "--from", "1", "--to", "3", "--json")
    assert migrated.returncode == 0 and json.loads(migrated.stdout)["migrated"] == [instance_id]

    no_reason = run("move", instance_id, "--from", "approve", "--to", "ship", "--reason", " ")
    assert no_reason.returncode != 0 and "a reason is required" in no_reason.stderr
    moved = run("move", instance_id, "--from", "approve", "--to", "ship", "--reason", "approved by phone")
    assert moved.returncode == 0 and f"{instance_id}: moved from approve to ship" in moved.stdout
    run("worker", "--processes", workdir / "processes", "--until-idle")
    shown = json.loads(run("show", instance_id, "--json").stdout)
    assert shown["status"] == "completed" and shown["version"] == 3
    assert shown["data"]["done"] == ["ship"]  # the move skipped the approval and version 3's stock check
    assert [entry["state"] for entry in shown["history"] if entry["state"] in ("MIGRATED", "MOVED")] == \
        ["MIGRATED", "MOVED"]
