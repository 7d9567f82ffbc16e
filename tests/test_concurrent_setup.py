"""Workers and deploys started at once on a fresh database (issue 11, item 11).

Six `maestro worker --until-idle` and six `maestro deploy` start together: the
schema is migrated once, under a lock, and version numbers are handed out one
deploy at a time, so none of them fails with IntegrityError / UniqueViolation,
identical content deployed twelve times is one version, and different contents
deployed at once are consecutive versions.
"""
import hashlib
import os
import subprocess
import sys

from cli_helpers import ROOT
from sqlalchemy import create_engine, text
from test_crash_recovery import database  # noqa: F401  (the fixture: a fresh SQLite file or PostgreSQL server)

from engine.durable.store.db import database_url

FIXTURES = ROOT / "tests" / "fixtures" / "durable"
PROCESSES = 6


def _variant(folder, name, process_name):
    """The `flaky` process under another display name: the same key, different content."""
    path = folder / name
    path.write_text((FIXTURES / "flaky.bpmn").read_text().replace(
        '<bpmn:process id="flaky"', f'<bpmn:process id="flaky" name="{process_name}"'))
    return path


def _maestro(env, *args):
    return subprocess.Popen([sys.executable, "-m", "engine.cli", *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_workers_and_deploys_started_at_once_never_collide(tmp_path, database):
    folder = tmp_path / "processes"
    folder.mkdir()
    approval = folder / "approval.bpmn"
    approval.write_bytes((FIXTURES / "approval.bpmn").read_bytes())
    contents = [_variant(tmp_path, "flaky_a.bpmn", "A"), _variant(tmp_path, "flaky_b.bpmn", "B")]
    env = {**os.environ, "MAESTRO_DATABASE_URL": database, "PYTHONPATH": str(ROOT)}

    started = [_maestro(env, "worker", "--processes", folder, "--until-idle") for _ in range(PROCESSES)]
    started += [_maestro(env, "deploy", approval, contents[n % 2]) for n in range(PROCESSES)]
    for process in started:
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0, output
        assert "Error" not in output, output

    with create_engine(database_url(database)).connect() as connection:
        rows = connection.execute(text("SELECT key, version, content_hash FROM definitions "
                                       "ORDER BY key, version")).all()
        migrations = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    assert len(migrations) == 1
    # Twelve processes deployed approval.bpmn unchanged: one version.
    assert [(key, version) for key, version, _ in rows if key == "approval"] == [("approval", 1)]
    # Six deployed one of two contents of `flaky`: consecutive versions, each a change from the one before.
    flaky = [(version, content) for key, version, content in rows if key == "flaky"]
    assert [version for version, _ in flaky] == list(range(1, len(flaky) + 1))
    assert 2 <= len(flaky) <= PROCESSES
    hashes = {hashlib.sha256(path.read_bytes()).hexdigest() for path in contents}
    assert {content for _, content in flaky} == hashes
    assert all(before != after for (_, before), (_, after) in zip(flaky, flaky[1:], strict=False))
