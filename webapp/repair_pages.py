"""The repair pages: the incidents view, a failed instance's "Edit variables and retry" form, suspend
and resume buttons, and batch retry/cancel of the instances a filter matches (with a confirmation)."""
import json

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for

from engine.durable import Busy
from engine.run.instance import InstanceError
from engine.run.variable_limits import VariablesRefused

from . import access, pages, repair_input
from .request_input import BadRequest

blueprint = Blueprint("repair", __name__)
BATCH_ACTIONS = {"retry": "Retry", "cancel": "Cancel"}


def install(app: Flask) -> None:
    """The pages, and the open incident count every page's navigation shows."""
    app.register_blueprint(blueprint)
    app.context_processor(lambda: {"open_incidents": _open_incidents})


@blueprint.app_template_filter("action_details")
def action_details(details: dict | None) -> str:
    """A person's action in an instance's history, in words: the variables an edit changed (their
    names, never their values), or the reason given for suspending."""
    if not details:
        return ""
    if "reason" in details:
        return f"“{details['reason']}”"
    return "; ".join(f"{what}: {', '.join(names)}" for what, names in details.items() if names)


def _open_incidents() -> int:
    """Called by the navigation when it renders (not for JSON answers)."""
    return maestro().open_incident_count()


def maestro():
    return current_app.extensions["maestro"]


@blueprint.get("/incidents")
@access.needs("viewer")
def incidents():
    return render_template("incidents.html", incidents=maestro().incidents())


@blueprint.post("/instances/<instance_id>/edit-and-retry")
@access.needs("operator")
def edit_and_retry(instance_id):
    """The page's textarea: JSON of the whole variables, as edited. A mistake is shown in place, the
    text kept; nothing is written unless the whole edit and the retry are accepted."""
    text = request.form.get("variables", "")
    expected = request.form.get("expected_updated_at") or None
    try:
        variables = _parsed(text)
        maestro().retry(instance_id, variables, by=access.person(), expected_updated_at=expected)
    except (BadRequest, VariablesRefused, InstanceError, Busy) as error:
        return pages.instance(instance_id, status=_status_of(error),
                              repair={"text": text, "message": str(error)})
    flash("Variables changed; retry scheduled.", "success")
    return redirect(url_for("pages.instance", instance_id=instance_id))


def _parsed(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise BadRequest(f"not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}") from None
    if not isinstance(value, dict):
        raise BadRequest("the variables must be a JSON object: { \"name\": value, ... }")
    return value


def _status_of(error):
    if isinstance(error, VariablesRefused):
        return 413 if error.too_large else 400
    return 400 if isinstance(error, BadRequest) else 409


@blueprint.post("/instances/<instance_id>/suspend")
@access.needs("operator")
def suspend(instance_id):
    reason = request.form.get("reason", "").strip() or None
    return _act(instance_id, lambda: maestro().suspend(instance_id, by=access.person(), reason=reason),
                "Instance suspended: no worker runs it until it is resumed.")


@blueprint.post("/instances/<instance_id>/resume")
@access.needs("operator")
def resume(instance_id):
    return _act(instance_id, lambda: maestro().resume(instance_id, by=access.person()), "Instance resumed.")


def _act(instance_id, action, done):
    try:
        action()
        flash(done, "success")
    except (InstanceError, Busy, BadRequest) as error:
        flash(str(error), "error")
    return redirect(url_for("pages.instance", instance_id=instance_id))


# -- batches: the filtered list's "Retry N matching" / "Cancel N matching" ------------------------

@blueprint.get("/instances/batch")
@access.needs("operator")
def confirm_batch():
    """The confirmation step: what will be done to how many instances, matched by which filter."""
    action, criteria = _batch_request(request.args)
    return render_template("batch.html", action=action, verb=BATCH_ACTIONS[action], criteria=criteria,
                           query=repair_input.as_query(criteria), count=maestro().count_instances(**criteria),
                           result=None)


@blueprint.post("/instances/batch")
@access.needs("operator")
def run_batch():
    action, criteria = _batch_request(request.form)
    many = maestro().retry_many if action == "retry" else maestro().cancel_many
    try:
        result = many(criteria, by=access.person())
    except InstanceError as error:
        flash(str(error), "error")
        return redirect(url_for("pages.instances", **repair_input.as_query(criteria)))
    return render_template("batch.html", action=action, verb=BATCH_ACTIONS[action], criteria=criteria,
                           query=repair_input.as_query(criteria), count=None, result=result)


def _batch_request(values):
    """(action, criteria) of a batch page's request; BadRequest (a 400 page) for anything else."""
    action = values.get("action")
    if action not in BATCH_ACTIONS:
        raise BadRequest("the batch action is retry or cancel")
    given = {name: values.get(name) for name in repair_input.FILTER_FIELDS if values.get(name)}  # empty: left out
    if "version" in given:
        given["version"] = repair_input.list_filters({"version": given["version"]})["version"]
    if "suspended" in given:
        given["suspended"] = given["suspended"] == "true"
    criteria, _ = repair_input.batch_target({"filter": given})
    return action, criteria
