"""Database-wide locks for the few jobs two processes must never do at once.

Migrating the schema and numbering a process's versions read the database and
then write what they read was missing; two processes doing either together
would both write it (IntegrityError, UniqueViolation). The lock lasts until the
transaction ends: PostgreSQL's transaction-level advisory lock, and on SQLite
an immediate transaction (SQLite has one writer at a time; taking the write
lock before reading makes the reads current).
"""
import zlib

from sqlalchemy import text
from sqlalchemy.engine import Connection

# PostgreSQL advisory lock keys (any 64-bit numbers no other application of the database uses).
SCHEMA = 0x6D61_6573_7401  # migrations
VERSIONS = 0x6D61_6573_7402  # version numbers of deployed processes
_MESSAGE_NAMES = 0x6D61_6573_0000_0000  # | crc32 of a name: buffering a message of that name (outbox.py)


def message_name(name: str) -> int:
    """The lock under which a message of this name is buffered, and a catch of it starts waiting:
    one waits for the other, so a message is never buffered just as its catch starts waiting unseen."""
    return _MESSAGE_NAMES | zlib.crc32(name.encode("utf-8"))


def hold_until_commit(connection: Connection, key: int) -> None:
    """Waits for the lock `key` and holds it until `connection`'s transaction ends."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    elif connection.dialect.name == "sqlite":
        driver = connection.connection.driver_connection
        # Reads do not open a transaction in the sqlite3 module; a write does, and already holds the lock.
        if not driver.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
