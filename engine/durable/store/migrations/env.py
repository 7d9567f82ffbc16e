"""Alembic environment: migrations run on what Maestro hands over (see db.migrate): a connection,
in its transaction (db.migrate holds the schema lock in it), or an engine, in a transaction of their own."""
from alembic import context
from sqlalchemy.engine import Engine

from engine.durable.store.models import Base


def run_migrations(connection):
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


bind = context.config.attributes["bind"]
if isinstance(bind, Engine):
    with bind.begin() as connection:
        run_migrations(connection)
else:
    run_migrations(bind)
