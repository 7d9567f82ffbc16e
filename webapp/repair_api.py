"""The repair endpoints of the JSON API: batch actions on instances, suspend and resume, editing a
failed instance's variables, open incidents grouped (README, "Repairing instances")."""
from flask import Blueprint, current_app, jsonify, request
from werkzeug.routing import BaseConverter

from . import access, repair_input, request_input
from .api import install_refusals

blueprint = Blueprint("repair_api", __name__)
BATCH_ACTIONS = ("retry", "cancel", "suspend", "resume")  # POST /api/instances/<action>
install_refusals(blueprint)


def maestro():
    return current_app.extensions["maestro"]


def _body() -> dict:
    return request_input.json_object(request.get_data(cache=False))


class InstanceIdConverter(BaseConverter):
    """An instance id in a path, never one of the batch actions' names: GET /api/instances/<id> must not
    claim /api/instances/retry (which is POST only), or its Allow header would name GET too."""
    regex = r"(?!(?:" + "|".join(BATCH_ACTIONS) + r")$)[^/]+"


@blueprint.post("/instances/retry", defaults={"action": "retry"})
@blueprint.post("/instances/cancel", defaults={"action": "cancel"})
@blueprint.post("/instances/suspend", defaults={"action": "suspend"})
@blueprint.post("/instances/resume", defaults={"action": "resume"})
@access.needs("operator")
def act_on_many(action):
    """{filter: {key, version, status, element, error, business_key, suspended}} or {ids: [...]} ->
    {done, refused: [{id, reason}], more}: retry, cancel, suspend (with a reason) or resume them."""
    many = {"retry": maestro().retry_many, "cancel": maestro().cancel_many,
            "suspend": maestro().suspend_many, "resume": maestro().resume_many}[action]
    body = _body()
    filters, ids = repair_input.batch_target(body)
    extra = {"reason": repair_input.reason(body, may_be_null=False)} if action == "suspend" else {}
    if "reason" in body and action != "suspend":
        raise request_input.BadRequest('"reason" is for suspending')
    return jsonify(many(filters, ids, by=access.person(), **extra))


@blueprint.post("/instances/<instance_id>/suspend")
@access.needs("operator")
def suspend(instance_id):
    """{reason} (optional) -> the instance's summary, suspended."""
    return jsonify(maestro().suspend(instance_id, by=access.person(), reason=repair_input.reason(_body())))


@blueprint.post("/instances/<instance_id>/resume")
@access.needs("operator")
def resume(instance_id):
    return jsonify(maestro().resume(instance_id, by=access.person()))


@blueprint.post("/instances/<instance_id>/variables")
@access.needs("operator")
def set_variables(instance_id):
    """{variables, expected_updated_at} -> the failed instance's summary, its variables edited (not retried)."""
    variables, expected = repair_input.edit(_body())
    if variables is None:
        raise request_input.BadRequest('"variables" is required: the whole variables of the instance, as edited')
    return jsonify(maestro().set_variables(instance_id, variables, by=access.person(), expected_updated_at=expected))


@blueprint.get("/incidents")
@access.needs("viewer")
def incidents():
    """{groups: [{key, element, element_name, message, count, first_at, last_at}], open}."""
    return jsonify(maestro().incidents())
