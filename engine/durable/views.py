"""An instance as its page, `GET /api/instances/ID` and `maestro show` see it, read from what its
commits wrote: never a rebuild of its task tree.

Every commit of a step writes, in its transaction, a history row for each task whose state the
step changed, the variables after the step (in its logged step row, or the instance row at a
snapshot or an end) and task_marks: the activities whose undo ended ("compensated") and the tasks
that left the tree ("gone"). Folding those gives each task's state as of the last commit, so
reading an instance costs a few indexed queries whatever it did, and a page can be read while a
worker runs the instance.
"""
import json
from typing import Any

from sqlalchemy import bindparam, select

from .errors import NotFound
from .store.models import HistoryEntry, Incident, InstanceStep, TaskMark
from .store.models import Instance as InstanceRow
from .summaries import history_entry, incident_summary, instance_summary

# Tasks in these states wait for someone or something (what `waiting` lists).
WAITING_STATES = ("READY", "WAITING")
# A task in one of these may show a form (its element's form, if the diagram gives one).
OPEN_STATES = ("READY", "WAITING", "STARTED")

# Table-level statements, built once: a page is read often, and the ORM would double its cost.
_INSTANCE = bindparam("instance")
_ROW = select(InstanceRow.__table__).where(InstanceRow.id == _INSTANCE)
_HISTORY = select(HistoryEntry.__table__).where(HistoryEntry.instance_id == _INSTANCE).order_by(HistoryEntry.id)
_MARKS = select(TaskMark.task_id, TaskMark.mark).where(TaskMark.instance_id == _INSTANCE)
_NEWEST_VARIABLES = select(InstanceStep.variables).where(InstanceStep.instance_id == _INSTANCE) \
    .order_by(InstanceStep.seq.desc()).limit(1)
_OPEN_INCIDENT = select(Incident.__table__).where(Incident.instance_id == _INSTANCE, Incident.resolved_at.is_(None)) \
    .order_by(Incident.id.desc()).limit(1)


# Marks an instance that existed before the read model (migration 0009): it wrote none of it.
REBUILD = "rebuild"


def instance_view(context: Any, session: Any, instance_id: str) -> dict | None:
    """{summary fields, data, error, tasks, waiting, history, incident}, as of the instance's last commit;
    None for an instance from before the read model, which must be rebuilt to be shown."""
    connection, key = _one_snapshot(session), {"instance": instance_id}
    row = connection.execute(_ROW, key).first()
    if row is None:
        raise NotFound(f"no instance '{instance_id}'")
    marks: dict[str, set] = {}
    for task_id, mark in connection.execute(_MARKS, key):
        marks.setdefault(mark, set()).add(task_id)
    if REBUILD in marks:
        return None
    history = [history_entry(entry) for entry in connection.execute(_HISTORY, key)]
    tasks = tasks_from_history(history, marks.get("compensated", set()), marks.get("gone", set()))
    open_tasks = [task for task in tasks if task["state"] in OPEN_STATES]
    if open_tasks:  # the form a task asks for while it is open (the version is parsed once: the spec cache)
        forms = _forms(context, session, row)
        for task in open_tasks:
            task["form"] = forms.get(task["bpmn_id"])
    newest_variables = connection.execute(_NEWEST_VARIABLES, key).scalar()
    incident = connection.execute(_OPEN_INCIDENT, key).first()
    return {
        **instance_summary(row),
        # The variables after the newest committed step: its logged step's, or the row's (a snapshot, an end).
        "data": json.loads(newest_variables) if newest_variables is not None else row.variables,
        "error": row.error,
        "tasks": tasks,
        "waiting": [task for task in tasks if task["state"] in WAITING_STATES],
        "history": history,
        "incident": incident_summary(incident) if incident else None,
    }


def _one_snapshot(session):
    """The session's connection, its reads all seeing one commit: a worker committing meanwhile must
    not pair one step's variables with another's history."""
    if session.bind.dialect.name == "postgresql":
        return session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    connection = session.connection()
    # SQLite's driver begins a transaction only before a write: begin one, so that every read of
    # this view sees the same state of the database file (WAL keeps it while the worker writes).
    connection.exec_driver_sql("BEGIN")
    return connection


def tasks_from_history(history: list[dict], compensated: set[str], gone: set[str]) -> list[dict]:
    """Each task the history names and the tree still holds, in the order it first appeared, as its
    newest entry left it.

    The same fields as a loaded instance's `tasks()` (engine.run.instance.describe_task), for the
    tasks that happened (history holds no predicted task); "form" is given for open tasks only.
    """
    tasks: dict[str, dict] = {}
    for entry in history:
        if entry["task_id"] in gone:
            continue
        task = tasks.get(entry["task_id"])
        if task is None:
            task = tasks[entry["task_id"]] = {"id": entry["task_id"], "bpmn_id": entry["bpmn_id"],
                                              "name": entry["name"], "type": entry["type"], "form": None}
        task.update(state=entry["state"], undo_of=entry["undo_of"], error=entry["error"])
    for task in tasks.values():
        task["compensated"] = task["id"] in compensated
    return list(tasks.values())


def _forms(context, session, row):
    """{element id: form} of the instance's version (parsed once per version: the spec cache)."""
    from engine.run.specs import maestro_info  # SpiffWorkflow: only for an instance with open tasks

    spec, subprocess_specs = context.specs.specs(session, row.definition_id, row.called_definitions)
    forms = {}
    for process in (spec, *subprocess_specs.values()):
        for task_spec in process.task_specs.values():
            form = maestro_info(task_spec).get("form")
            if form and getattr(task_spec, "bpmn_id", None):
                forms.setdefault(task_spec.bpmn_id, form)
    return forms
