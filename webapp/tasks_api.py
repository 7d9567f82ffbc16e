"""/api/tasks: the user task lists and a person's actions on a task (DESIGN.md, "JSON API").

Refusals: 403 when the task is not the person's to act on, 409 when someone else has it or it no
longer waits, 404 when there is no such task; bad input 400. The person and their groups are the
sign-in's (webapp.access).
"""
from flask import Blueprint, current_app, jsonify, request

from engine.durable.errors import NotYours
from engine.durable.user_tasks import VIEWS

from . import access, request_input, task_rules
from .api import install_refusals
from .request_input import BadRequest

blueprint = Blueprint("tasks_api", __name__)
install_refusals(blueprint)


def maestro():
    return current_app.extensions["maestro"]


def listed(view: str | None, key: str | None, limit: int, after: str | None) -> dict:
    """The page of tasks of `view` (default: the person's first list) for the person asking, with the
    actions each allows them: {"tasks", "next", "view", "views"}."""
    allowed = task_rules.views()
    view = view or allowed[0]
    if view not in VIEWS:
        raise BadRequest(f"view must be one of {', '.join(VIEWS)}, not {view[:40]!r}")
    if view not in allowed:
        raise NotYours(f"the list '{view}' is not open to you (yours: {', '.join(allowed)})")
    person, groups = task_rules.asking()
    try:
        page = maestro().tasks(person, groups, view, key or None, limit, after or None)
    except ValueError as error:
        raise BadRequest(str(error)) from error
    for task in page["tasks"]:
        task["may"] = allowed_actions(task)
    return {**page, "view": view, "views": list(allowed)}


def allowed_actions(task: dict) -> dict:
    """{claim, unclaim, complete}: what the person asking may do with the task now."""
    person, _ = task_rules.asking()
    return {"claim": task_rules.may_claim(task) and task["assignee"] != person and not task["assignee"],
            "unclaim": task["state"] == "open" and bool(task["assignee"]) and access.may("worker")
            and (task["assignee"] == person or task_rules.is_operator()),
            "complete": task_rules.may_complete(task)}


@blueprint.get("/tasks")
@access.needs("viewer")
def list_tasks():
    limit = request_input.whole_number("limit", request.args.get("limit"), maximum=500, empty_is_absent=False) or 50
    return jsonify(listed(request.args.get("view"), request.args.get("key"), limit, request.args.get("after")))


@blueprint.get("/tasks/<instance_id>/<task_id>")
@access.needs("viewer")
def show_task(instance_id, task_id):
    task = maestro().user_task(instance_id, task_id)
    return jsonify({**task, "may": allowed_actions(task)})


@blueprint.post("/tasks/<instance_id>/<task_id>/claim")
@access.needs("worker")
def claim_task(instance_id, task_id):
    person = task_rules.check_claim(maestro().user_task(instance_id, task_id))
    return jsonify(maestro().claim(instance_id, task_id, person, by=access.person()))


@blueprint.post("/tasks/<instance_id>/<task_id>/unclaim")
@access.needs("worker")
def unclaim_task(instance_id, task_id):
    task_rules.check_unclaim(maestro().user_task(instance_id, task_id))
    return jsonify(maestro().unclaim(instance_id, task_id, access.person(), by=access.person(),
                                     as_operator=task_rules.is_operator()))


@blueprint.post("/tasks/<instance_id>/<task_id>/complete")
@access.needs("worker")
def complete_task(instance_id, task_id):
    body = request_input.json_object(request.get_data(cache=False))
    data = body.get("data") or {}
    if not isinstance(data, dict):
        raise BadRequest('"data" must be a JSON object')
    task_rules.check_complete(maestro().user_task(instance_id, task_id))
    maestro().complete_task(instance_id, task_id, data, by=access.person(), check_form=True,
        as_operator=task_rules.is_operator())
    return jsonify(maestro().user_task(instance_id, task_id))
