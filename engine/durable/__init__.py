"""The durable engine: deployments and instances in a database, advanced by workers.

Owns the Maestro API (maestro), replaying logged steps (replay), the worker's
health, stop and poison-pill handling, and the store: the schema, its Alembic
migrations and the reads and writes of definitions, instances, history and
due work (store/).

May import every other wing of the engine except the command line. The web app
and the command line are thin layers over it.
"""


def __getattr__(name):
    # Imported on first use: `engine.durable.worker_health` and friends should not cost SQLAlchemy.
    if name in ("Maestro", "Busy", "NotFound"):
        from . import maestro
        return getattr(maestro, name)
    raise AttributeError(f"module 'engine.durable' has no attribute '{name}'")


__all__ = ["Busy", "Maestro", "NotFound"]
