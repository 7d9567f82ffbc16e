"""Alembic migrations: an empty database gets the schema, an existing one keeps its data,
and the migrations describe exactly the models (no change left without a migration)."""
import sqlite3

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from durable_helpers import DURABLE, fresh_maestro
from sqlalchemy import create_engine

from engine.durable.store.db import HEAD_REVISION, alembic_config, connect, migrate
from engine.durable.store.models import Base

# The instances table as revision 0001 made it (the model has columns added since).
INSTANCES_0001 = sa.table("instances", *(sa.column(name) for name in (
    "id", "definition_id", "key", "version", "called_definitions", "status", "business_key", "variables",
    "state", "error", "created_at", "updated_at", "ended_at")))


def head_revision(engine):
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def test_the_revision_a_current_database_is_recognised_by_is_the_newest_migration(tmp_path):
    """Opening a database compares its revision with HEAD_REVISION, without Alembic: a new migration
    must put its revision there, or every database would be taken for current and never upgraded."""
    assert HEAD_REVISION == head_revision(create_engine(f"sqlite:///{tmp_path / 'any.db'}"))


def test_a_database_behind_the_newest_migration_is_upgraded_when_opened(tmp_path):
    from alembic import command

    url = f"sqlite:///{tmp_path / 'behind.db'}"
    old = create_engine(url)
    command.upgrade(alembic_config(old), "0007")
    migrate(old)
    with old.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == HEAD_REVISION


def test_migrations_create_the_schema_on_an_empty_database(tmp_path):
    engine, _ = connect(f"sqlite:///{tmp_path / 'empty.db'}")
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head_revision(engine)
    tables = {row[0] for row in sqlite3.connect(tmp_path / "empty.db").execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"definitions", "instances", "history", "incidents", "jobs", "drafts", "folder_deployments",
            "alembic_version"} <= tables


def test_migrating_an_existing_database_keeps_its_data(tmp_path):
    maestro = fresh_maestro(tmp_path)
    maestro.deploy_paths([DURABLE / "approval.bpmn"])
    instance_id = maestro.start("approval")["id"]
    migrate(create_engine(f"sqlite:///{tmp_path / 'maestro.db'}"))  # a second run: nothing to do, nothing lost
    again = fresh_maestro(tmp_path)
    assert again.show(instance_id)["key"] == "approval"
    assert [d["key"] for d in again.definitions()] == ["approval"]


def test_the_migrations_match_the_models(tmp_path):
    engine, _ = connect(f"sqlite:///{tmp_path / 'schema.db'}")
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_an_instance_saved_by_revision_0001_runs_on_after_the_upgrade(tmp_path, recorder):
    """0001 saved an instance's whole task tree in instances.state; 0002 splits it into rows."""
    from datetime import datetime, timezone

    from alembic import command
    from sqlalchemy import insert

    import engine
    from engine.durable import Maestro
    from engine.durable.store.models import Definition
    from engine.run.serializer import dump_workflow

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = create_engine(url)
    command.upgrade(alembic_config(old), "0001")
    handlers, calls = recorder("ship", "reject")
    waiting = engine.run(DURABLE / "approval.bpmn", handlers)  # waits at the user task
    now = datetime.now(timezone.utc)
    with old.begin() as connection:
        connection.execute(insert(Definition.__table__).values(
            id=1, key="approval", version=1, name=None, file_name="approval.bpmn",
            xml=(DURABLE / "approval.bpmn").read_text(), content_hash="0" * 64, deployed_at=now))
        connection.execute(insert(INSTANCES_0001).values(
            id=waiting.id, definition_id=1, key="approval", version=1, called_definitions="{}", status="waiting",
            business_key=None, variables="{}", state=dump_workflow(waiting.workflow), error=None,
            created_at=now, updated_at=now, ended_at=None))
    old.dispose()

    maestro = Maestro(url, handlers=handlers)  # connecting migrates 0001 -> head
    with maestro.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head_revision(maestro.engine)
    # From before the read model (0009): its page rebuilds it, from the tree 0002 split into rows.
    assert [t["bpmn_id"] for t in maestro.show(waiting.id)["waiting"]] == ["approve"]
    maestro.complete_task(waiting.id, "approve", {"approved": True, "reason": "migrated"})
    while maestro.work_once():
        pass
    assert maestro.show(waiting.id)["status"] == "completed" and calls == ["ship"]


def test_a_database_of_revision_0007_gets_drafts_and_folder_memory(tmp_path):
    """0008 adds the drafts and what each processes folder deployed; what was deployed before stays."""
    from alembic import command

    from engine.durable import Maestro

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = create_engine(url)
    command.upgrade(alembic_config(old), "0007")
    old.dispose()
    maestro = Maestro(url)  # connecting migrates 0007 -> head
    maestro.deploy_paths([DURABLE / "approval.bpmn"])
    xml = (DURABLE / "approval.bpmn").read_text()
    assert maestro.save_draft("approval", xml, "ana", based_on_version=1)["saved_by"] == "ana"
    folder = tmp_path / "processes"
    folder.mkdir()
    (folder / "approval.bpmn").write_text(xml)
    assert maestro.deploy_folder(folder, [folder / "approval.bpmn"])[0]["skipped"] == "known"
    assert [d["version"] for d in maestro.definition_versions("approval")] == [1]
