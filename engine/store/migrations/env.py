"""Alembic environment: migrations run on the engine Maestro hands over (see db.migrate)."""
from alembic import context

from engine.store.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
