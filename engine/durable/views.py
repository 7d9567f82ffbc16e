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

from .errors import NotFound
from .store import incidents, instance_rows
from .store.db import read_snapshot
from .store.person_actions import is_person_action
from .summaries import history_entry, incident_summary, instance_summary

# Tasks in these states wait for someone or something (what `waiting` lists).
WAITING_STATES = ("READY", "WAITING")
# A task in one of these may show a form (its element's form, if the diagram gives one).
OPEN_STATES = ("READY", "WAITING", "STARTED")
# Marks an instance that existed before the read model (migration 0009): it wrote none of it.
REBUILD = "rebuild"


def instance_view(context: Any, session: Any, instance_id: str) -> dict | None:
    """{summary fields, data, error, tasks, waiting, history, incident}, as of the instance's last commit;
    None for an instance from before the read model, which must be rebuilt to be shown."""
    # One snapshot: a worker committing meanwhile must not pair one step's variables with another's history.
    connection = read_snapshot(session)
    row = instance_row(connection, instance_id)
    marks = instance_rows.task_marks(connection, instance_id)
    if REBUILD in marks:
        return None
    shown = committed(session, connection, row)
    tasks = tasks_from_history(shown["history"], marks.get("compensated", set()), marks.get("gone", set()))
    open_tasks = [task for task in tasks if task["state"] in OPEN_STATES]
    if open_tasks:  # the form a task asks for while it is open (the version is parsed once: the spec cache)
        forms = _forms(context, session, row)
        for task in open_tasks:
            task["form"] = forms.get(task["bpmn_id"])
    newest_variables = instance_rows.newest_step_variables(connection, instance_id)
    return {
        **shown,
        # The variables after the newest committed step: its logged step's, or the row's (a snapshot, an end).
        "data": json.loads(newest_variables) if newest_variables is not None else row.variables,
        "tasks": tasks,
        "waiting": [task for task in tasks if task["state"] in WAITING_STATES],
    }


def instance_row(connection, instance_id):
    """The instance's row (a table row), or NotFound."""
    rows = instance_rows.by_ids(connection, [instance_id])
    if not rows:
        raise NotFound(f"no instance '{instance_id}'")
    return rows[0]


def committed(session, connection, row) -> dict:
    """What an instance shows that its row, its history and its incidents say, read or rebuilt alike."""
    incident = incidents.open_incident(session, row.id)
    return {
        **instance_summary(row),
        "error": row.error,
        "history": [history_entry(entry) for entry in instance_rows.history(connection, row.id)],
        "incident": incident_summary(incident) if incident else None,
    }


def tasks_from_history(history: list[dict], compensated: set[str], gone: set[str]) -> list[dict]:
    """Each task the history names and the tree still holds, in the order it first appeared, as its
    newest entry left it.

    The same fields as a loaded instance's `tasks()` (engine.run.instance.describe_task), for the
    tasks that happened (history holds no predicted task); "form" is given for open tasks only.
    """
    tasks: dict[str, dict] = {}
    for entry in history:
        if entry["task_id"] in gone or is_person_action(entry):  # a person's action, not a task's state
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

    from .form_resolution import deployed_at, resolved

    spec, subprocess_specs = context.specs.specs(session, row.definition_id, row.called_definitions)
    forms = {}
    for process in (spec, *subprocess_specs.values()):
        for task_spec in process.task_specs.values():
            form = maestro_info(task_spec).get("form")
            if form and getattr(task_spec, "bpmn_id", None):
                forms.setdefault(task_spec.bpmn_id, form)
    if any("fields" not in form for form in forms.values()):  # a form deployed beside the diagram
        when = deployed_at(session, row.definition_id)
        forms = {element: resolved(session, form, when) for element, form in forms.items()}
    return forms
