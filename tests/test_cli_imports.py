"""What each `maestro` command imports: only what it needs, so that a command answers in a fraction of
a second (README, "Speed"). Checked in a fresh interpreter per command, by the modules it ends with;
a timing would depend on the machine, the modules do not."""
import json
import subprocess
import sys

import pytest
from cli_helpers import SAGA, maestro

# The packages that cost a command most of its time when it imports them needlessly.
HEAVY = ("alembic", "flask", "webapp", "SpiffWorkflow", "lxml", "sqlalchemy")

REPORT_IMPORTS = f"""
import json, sys
from engine.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("IMPORTED " + json.dumps(sorted(name for name in {HEAVY!r} if name in sys.modules)))
"""


def imported_by(workdir, *args):
    """The heavy packages a `maestro ARGS` process has imported when it ends."""
    result = subprocess.run([sys.executable, "-c", REPORT_IMPORTS, *map(str, args)], cwd=workdir,
                            capture_output=True, text=True, timeout=120)
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("IMPORTED "), result.stdout + result.stderr
    return json.loads(last.removeprefix("IMPORTED "))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A working directory whose maestro.db (the default database) holds the saga, deployed and started once."""
    folder = tmp_path_factory.mktemp("cli_imports")
    with pytest.MonkeyPatch.context() as environment:
        environment.delenv("MAESTRO_DATABASE_URL", raising=False)
        assert maestro("deploy", SAGA / "order_fulfillment.bpmn", cwd=folder).returncode == 0
        started = maestro("start", "order_fulfillment", cwd=folder)
        assert started.returncode == 0, started.stderr
        yield folder


def instance_id(workdir):
    return json.loads(maestro("instances", "--json", cwd=workdir).stdout)[0]["id"]


def test_start_and_instances_import_neither_the_web_app_nor_alembic_nor_spiffworkflow(workdir):
    # A version started before (by any process) is known to build: starting it again reads no XML.
    assert imported_by(workdir, "start", "order_fulfillment") == ["sqlalchemy"]
    assert imported_by(workdir, "instances") == ["sqlalchemy"]
    assert imported_by(workdir, "instances", "--json", "--status", "running") == ["sqlalchemy"]


def test_show_reads_the_instance_without_loading_it_nor_the_web_app_nor_alembic(workdir):
    # What its commits wrote (engine/durable/views.py); only an open task's form needs the parsed diagram.
    assert imported_by(workdir, "show", instance_id(workdir)) == ["sqlalchemy"]


def test_lint_imports_no_database_and_help_no_flask(workdir):
    assert imported_by(workdir, "lint", SAGA / "order_fulfillment.bpmn") == ["SpiffWorkflow", "lxml"]
    # The overview lists the web app's `serve`, so it loads webapp.serve, but not the web app itself.
    assert imported_by(workdir, "--help") == ["webapp"]
    overview = maestro("--help", cwd=workdir)
    assert overview.returncode == 0 and "serve     web UI + JSON API + workers" in overview.stdout
    assert "--no-worker" in maestro("serve", "--help", cwd=workdir).stdout


def test_a_database_from_before_a_migration_is_still_upgraded_when_a_command_opens_it(tmp_path, monkeypatch):
    from alembic import command
    from sqlalchemy import create_engine

    from engine.durable.store.db import alembic_config
    monkeypatch.delenv("MAESTRO_DATABASE_URL", raising=False)
    old = create_engine(f"sqlite:///{tmp_path / 'maestro.db'}")
    command.upgrade(alembic_config(old), "0007")
    old.dispose()
    assert imported_by(tmp_path, "instances") == ["alembic", "sqlalchemy"]  # it had to migrate
    assert imported_by(tmp_path, "instances") == ["sqlalchemy"]  # and now it is current
    assert maestro("deploy", SAGA / "order_fulfillment.bpmn", cwd=tmp_path).returncode == 0


def test_the_public_api_is_whole_whatever_is_imported_first():
    """`engine` imports its heavy names on first use; importing the wings after it hides none of them."""
    check = ("import engine, engine.run.instance, engine.read.loader, engine.durable.maestro; "
             "from engine import Instance, InstanceError, Maestro, load, run, lint; "
             "from engine.run.instance_errors import InstanceError as refusal; "
             "assert callable(engine.run) and callable(engine.load) and Maestro.__name__ == 'Maestro'; "
             "assert InstanceError is refusal and Instance.__name__ == 'Instance'")
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
