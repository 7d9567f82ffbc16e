"""Connecting to the database and bringing its schema up to date."""
import os
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker

from . import locks

MIGRATIONS = Path(__file__).with_name("migrations")

# The revision of the newest migration in migrations/versions. Checked by one read of alembic_version,
# so that opening a current database does not import Alembic (with every SQL dialect it knows: most of a
# `maestro show`'s time). tests/test_migrations.py fails until a new migration's revision is put here.
HEAD_REVISION = "0017"


def read_snapshot(session):
    """The session's connection, every read through it seeing one commit (one state of the database)."""
    if session.bind.dialect.name == "postgresql":
        return session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    connection = session.connection()
    # SQLite's driver begins a transaction only before a write: begin one, so that every read sees
    # the same state of the database file (WAL keeps it while a worker writes).
    connection.exec_driver_sql("BEGIN")
    return connection


def database_url(url=None):
    """The URL given, else MAESTRO_DATABASE_URL, else the SQLite file maestro.db here."""
    url = url or os.environ.get("MAESTRO_DATABASE_URL") or "sqlite:///maestro.db"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def connect(url=None):
    """(engine, sessionmaker) for the database, its schema migrated to the newest version."""
    url = database_url(url)
    if url.startswith("sqlite"):
        # How long a write waits for another's lock before failing (the worker then retries later).
        busy_seconds = float(os.environ.get("MAESTRO_SQLITE_BUSY_SECONDS") or 30)
        engine = create_engine(url, connect_args={"timeout": busy_seconds})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    migrate(engine)
    return engine, sessionmaker(engine, expire_on_commit=False)


def _sqlite_pragmas(connection, _record):
    cursor = connection.cursor()
    # WAL lets readers (the web app, `maestro show`) go on while a worker writes;
    # NORMAL sync is durable across process crashes, which is what a worker's kill -9 is.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def alembic_config(bind):
    """Alembic's configuration for migrating `bind`: a connection (run in its transaction) or an engine."""
    from alembic.config import Config
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["bind"] = bind
    return config


def migrate(engine):
    """Runs every migration the database has not had yet (a no-op on an up-to-date one).

    Under a lock, in one transaction: workers and deploys started together on a
    fresh database migrate it once; the others wait and find it up to date.
    """
    with engine.connect() as connection:
        if _revisions(connection) == [HEAD_REVISION]:
            return  # the usual case: no lock taken, so a read-only command never waits for a writer
        from alembic import command  # only now: an upgrade is due (or another process is doing it)
        locks.hold_until_commit(connection, locks.SCHEMA)
        # Alembic looks again, under the lock: another process may have upgraded it meanwhile.
        command.upgrade(alembic_config(connection), "head")
        connection.commit()


def _revisions(connection):
    """The revisions alembic_version holds (none on an empty database)."""
    try:
        return [row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))]
    except DBAPIError:  # no such table yet; PostgreSQL also needs its failed transaction ended
        connection.rollback()
        return []
