"""The durable engine: deployments and instances in a database, advanced by workers.

The Maestro class (maestro) is its one public face, a thin one over its jobs:
deployments, instances, messages, event paths (reading a business transaction across
processes), user tasks (the lists people work from, claims), worker (one batch of due work), drafts
(diagrams saved without deploying), folders (deploying a processes folder
at start) and trials (a diagram tried in memory, nothing stored), which share
a Context (the database, the handlers, the settings). Beside them:
settling an instance after it ran (settling), what observers are told
(observer_events), the API's dicts (summaries), form files deployed with the diagrams
and the version a task's form binds to (form_deploys, form_resolution), replaying logged steps
(replay), the worker's loop (worker_loop) with its health, stop and
poison-pill handling, and getting an engine ready for a worker or server
(startup). The store (store/) owns the schema, its Alembic migrations and
every query: definitions, instances, history, incidents, due work, drafts
and what each processes folder last deployed.

May import every other wing of the engine except the command line. The web app
and the command line are thin layers over it.
"""


def __getattr__(name):
    # Imported on first use: `engine.durable.worker_health` and friends should not cost SQLAlchemy.
    if name in ("Maestro", "Busy", "InvalidDraft", "NotFound", "NotYours", "Stale", "Suspended", "TaskTaken",
                "InstanceFilter"):
        from . import maestro
        return getattr(maestro, name)
    raise AttributeError(f"module 'engine.durable' has no attribute '{name}'")


__all__ = ["Busy", "InstanceFilter", "InvalidDraft", "Maestro", "NotFound", "NotYours", "Stale", "Suspended",
           "TaskTaken"]
