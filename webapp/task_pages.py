"""The Tasks page (the user task lists, with Claim and Unclaim) and a task's own page (Complete).

The lists are rendered here, so the page works without JavaScript; static/tasks.js redraws their
rows from GET /api/tasks every few seconds. What the person may do is task_rules' to say.
"""
import json
from datetime import datetime, timezone

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from engine.durable import Busy, NotFound
from engine.durable.errors import NotYours, TaskTaken
from engine.forms.validation import InvalidForm
from engine.run.instance_errors import InstanceError

from . import access, task_rules
from .forms import FormError, values_from
from .pages import error_page, fields_of
from .request_input import BadRequest
from .tasks_api import allowed_actions, listed

blueprint = Blueprint("tasks", __name__)
VIEW_NAMES = {"mine": "My tasks", "groups": "My groups", "unassigned": "Unassigned", "all": "All"}
PAGE_SIZE = 50


def maestro():
    return current_app.extensions["maestro"]


@blueprint.errorhandler(NotFound)
def _not_found(error):
    return error_page(404, "Not found", str(error))


@blueprint.get("/tasks")
@access.needs("viewer")
def tasks():
    try:
        page = listed(request.args.get("view"), request.args.get("key"), PAGE_SIZE, request.args.get("after"))
    except (BadRequest, NotYours) as error:
        return error_page(400 if isinstance(error, BadRequest) else 403, "Not a task list", str(error))
    return render_template("tasks.html", page=page, view_names=VIEW_NAMES, key=request.args.get("key") or "",
                           now=datetime.now(timezone.utc))


@blueprint.get("/tasks/<instance_id>/<task_id>")
@access.needs("viewer")
def task(instance_id, task_id, form_error=None, status=200, field_errors=None):
    found = maestro().user_task(instance_id, task_id)
    shown = maestro().show(instance_id)
    form = next((t.get("form") for t in shown["tasks"] if t["id"] == task_id), None)
    return render_template("task.html", task=found, actions=allowed_actions(found), form=form, form_error=form_error,
                           field_errors=field_errors, data=shown["data"],
                           submitted=request.form if form_error else {}, now=datetime.now(timezone.utc),
                           variables=json.dumps(shown["data"], indent=2, default=str, sort_keys=True)), status


@blueprint.post("/tasks/<instance_id>/<task_id>/claim")
@access.needs("worker")
def claim(instance_id, task_id):
    def act():
        person = task_rules.check_claim(maestro().user_task(instance_id, task_id))
        found = maestro().claim(instance_id, task_id, person, by=access.person())
        return f"{found['name']} is yours now."
    return _act(act)


@blueprint.post("/tasks/<instance_id>/<task_id>/unclaim")
@access.needs("worker")
def unclaim(instance_id, task_id):
    def act():
        task_rules.check_unclaim(maestro().user_task(instance_id, task_id))
        found = maestro().unclaim(instance_id, task_id, access.person(), by=access.person(),
                                  as_operator=task_rules.is_operator())
        return f"{found['name']} is given back."
    return _act(act)


@blueprint.post("/tasks/<instance_id>/<task_id>/complete")
@access.needs("worker")
def complete(instance_id, task_id):
    found = maestro().user_task(instance_id, task_id)
    shown = maestro().show(instance_id)
    form = next((t.get("form") for t in shown["tasks"] if t["id"] == task_id), None)
    try:
        data = values_from(form, request.form)
    except FormError as error:
        return task(instance_id, task_id, form_error=str(error), status=400)
    try:
        task_rules.check_complete(found)
        maestro().complete_task(instance_id, task_id, data, by=access.person(), check_form=True,
        as_operator=task_rules.is_operator())
    except InvalidForm as error:
        return task(instance_id, task_id, form_error="Some fields need attention.", status=400,
                    field_errors=fields_of(error))
    except (NotYours, TaskTaken, InstanceError, Busy) as error:
        flash(str(error), "error")
        return redirect(url_for("tasks.task", instance_id=instance_id, task_id=task_id))
    flash(f"{found['name']} completed.", "success")
    return redirect(url_for("tasks.tasks"))


def _act(action):
    """Runs a claim or unclaim and goes back to the list it came from (the form's `back`)."""
    try:
        flash(action(), "success")
    except (NotYours, TaskTaken, InstanceError, Busy) as error:
        flash(str(error), "error")
    back = request.form.get("back") or ""
    return redirect(back if back.startswith("/tasks") and "//" not in back else url_for("tasks.tasks"))


@blueprint.app_template_filter("due_text")
def due_text(due_at: str | None, now: datetime | None = None) -> str:
    """ "due in 2 h", "overdue by 5 min" ("" without a due date); static/tasks.js says the same."""
    if not due_at:
        return ""
    seconds = (datetime.fromisoformat(due_at) - (now or datetime.now(timezone.utc))).total_seconds()
    amount = _amount(abs(seconds))
    return f"due in {amount}" if seconds >= 0 else f"overdue by {amount}"


def _amount(seconds: float) -> str:
    if seconds < 90:
        return f"{int(seconds)} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    if seconds < 129600:
        return f"{round(seconds / 3600)} h"
    return f"{round(seconds / 86400)} d"
