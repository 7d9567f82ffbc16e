"""The JSON API under /api (DESIGN.md, "JSON API"). Every error is JSON {error, message}."""
from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from engine.durable import Busy, NotFound, NotYours, Stale, Suspended, TaskTaken
from engine.forms.validation import InvalidForm
from engine.problems import DeployError
from engine.run.instance import InstanceError
from engine.run.variable_limits import VariablesRefused

from . import access, browser_safety, progress, repair_input, request_input, task_rules, uploads
from .access import needs, public
from .openapi import OUTCOMES, STATUSES, document
from .request_input import BadRequest

blueprint = Blueprint("api", __name__)


def maestro():
    return current_app.extensions["maestro"]


# The engine's refusals, as JSON errors with a 4xx status.
_REFUSALS = {NotFound: (404, "not_found"), InstanceError: (409, "conflict"), Busy: (409, "busy"),
             BadRequest: (400, "bad_request"), Suspended: (409, "suspended"), Stale: (409, "stale"),
             NotYours: (403, "not_yours"), TaskTaken: (409, "taken")}


def install_refusals(api_blueprint: Blueprint) -> None:
    """Answers the engine's refusals with JSON errors in an API blueprint (this one, and modeling_api's)."""
    for refusal, (status, code) in _REFUSALS.items():
        api_blueprint.register_error_handler(
            refusal, lambda error, status=status, code=code: json_error(status, code, str(error)))
    api_blueprint.register_error_handler(VariablesRefused, _refused_variables)
    api_blueprint.register_error_handler(DeployError, _invalid_diagram)
    api_blueprint.register_error_handler(InvalidForm, _invalid_form)


def _invalid_form(error):
    """422 {error: "invalid_form", message, errors: [{field, message}]}: what the form's fields say."""
    response = jsonify(error="invalid_form", message=f"{len(error.errors)} field(s) do not fit the form: {error}",
                       errors=error.errors)
    response.status_code = 422
    return response


def _refused_variables(error):
    if error.too_large:
        return json_error(413, "too_large", str(error))
    return json_error(400, "bad_variables", str(error))


def _invalid_diagram(error):
    response = jsonify(error="invalid_diagram", message=f"{len(error.problems)} problem(s); nothing was deployed",
                       errors=[problem.as_dict() for problem in error.problems])
    response.status_code = 422
    return response


install_refusals(blueprint)


def json_error(status, error, message):
    response = jsonify(error=error, message=message)
    response.status_code = status
    return response


# -- definitions ---------------------------------------------------------------

@blueprint.post("/definitions")
@needs("modeler")
def upload_definitions():
    """One or several .bpmn files (and the .form / .json forms they name) as multipart "file" fields, or
    one file as the raw request body."""
    force = request.args.get("force_executable", "").lower() in ("1", "true", "yes")
    deployed = uploads.deploy(maestro(), uploaded_files(), force_executable=force, by=access.person())
    first = deployed[0] if deployed else {}
    return jsonify({**first, "deployed": deployed}), 201


def uploaded_files():
    """(name, bytes) of the uploaded files; BadRequest when there are none."""
    if request.files:
        files = [(upload.filename or "upload.bpmn", upload.read()) for upload in request.files.getlist("file")]
    elif request.content_length:
        files = [(request.args.get("name") or "upload.bpmn", request.get_data())]
    else:
        files = []
    if not files:
        raise BadRequest('send BPMN files as multipart "file" fields, or one file as the request body')
    return files


@blueprint.get("/definitions")
def list_definitions():
    return jsonify(definitions_with_counts())


def definitions_with_counts():
    """The newest version of each process, with its instances counted by status."""
    counts = maestro().instance_counts()
    return [{**item, "instances": counts.get(item["key"], {})} for item in maestro().definitions()]


@blueprint.get("/definitions/<key>")
def definition_versions(key):
    return jsonify({"key": key, "versions": maestro().definition_versions(key),
                    "start_form": maestro().start_form(key)})


@blueprint.get("/definitions/<key>/xml")
def definition_xml(key):
    version = request_input.whole_number("version", request.args.get("version"), empty_is_absent=False)
    response = current_app.response_class(maestro().definition_xml(key, version), mimetype="application/xml")
    return browser_safety.as_download(response, f"{key}-v{version}.bpmn" if version else f"{key}.bpmn")


@blueprint.post("/definitions/<key>/instances")
@needs("worker")
def start_instance(key):
    body = _json_body()
    data = body.get("data") or {}
    if not isinstance(data, dict):
        raise BadRequest('"data" must be a JSON object')
    return jsonify(maestro().start(key, data, request_input.business_key(body.get("business_key")),
                                   trace=request.headers.get("traceparent"), check_form=True, by=access.person())), 201


# -- instances -----------------------------------------------------------------

@blueprint.get("/instances")
def list_instances():
    limit = request_input.whole_number("limit", request.args.get("limit"), maximum=500, empty_is_absent=False) or 50
    status = request.args.get("status") or None
    if status not in (None, *STATUSES):
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}, not {status[:40]!r}")
    repairs = repair_input.list_filters(request.args, empty_is_absent=False)
    outcome = request.args.get("outcome") or None
    if outcome not in (None, *OUTCOMES):
        raise BadRequest(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome[:40]!r}")
    try:
        return jsonify(maestro().instance_page(
            status=status, outcome=outcome, key=request.args.get("key") or None,
            business_key=request.args.get("business_key") or None, limit=limit, after=request.args.get("after"),
            **repairs))
    except InstanceError as error:  # a cursor that is not one of ours
        raise BadRequest(str(error)) from error


@blueprint.get("/instances/<instance_id:instance_id>")  # never a batch action's name (repair_api.py)
def show_instance(instance_id):
    shown = maestro().show(instance_id)
    shown["elements"] = progress.element_states(shown)
    return jsonify(shown)


@blueprint.post("/instances/<instance_id>/retry")
@access.needs("operator")
def retry_instance(instance_id):
    """Optional {variables (the whole object, as edited), expected_updated_at}: see Maestro.retry."""
    variables, expected = repair_input.edit(_json_body())
    return jsonify(maestro().retry(instance_id, variables, by=access.person(), expected_updated_at=expected))


@blueprint.post("/instances/<instance_id>/cancel")
@access.needs("operator")
def cancel_instance(instance_id):
    return jsonify(maestro().cancel(instance_id, by=access.person()))


@blueprint.post("/instances/<instance_id>/tasks/<task_ref>/complete")
@needs("worker")
def complete_task(instance_id, task_ref):
    data = _json_body().get("data") or {}
    if not isinstance(data, dict):
        raise BadRequest('"data" must be a JSON object')
    task_rules.check_completion_by_reference(maestro(), instance_id, task_ref)  # refusals: 403 / 409
    return jsonify(maestro().complete_task(instance_id, task_ref, data, by=access.person(), check_form=True,
        as_operator=task_rules.is_operator()))


# -- messages ----------------------------------------------------------------------

@blueprint.post("/messages")
@needs("operator")
def publish_message():
    """{name, correlation, data, ttl} -> 202 {id, status}: stored, and delivered by the workers."""
    body = _json_body()
    name, data = _name_and_data(body, "message")
    correlation, ttl = body.get("correlation"), body.get("ttl")
    if correlation is not None and not isinstance(correlation, (str, dict)):
        raise BadRequest('"correlation" is a key (a string) or a JSON object of the values to match')
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, (int, float, str))):
        raise BadRequest('"ttl" is seconds or an ISO 8601 duration such as "PT1H"')
    return _stored(lambda: maestro().publish(name, correlation, data, ttl, trace=request.headers.get("traceparent"),
                                             by=access.person()))


@blueprint.get("/messages/<message_id>")
def message(message_id):
    """A message or signal with its status and deliveries."""
    return jsonify(maestro().message(message_id))


@blueprint.get("/event-paths")
def event_path():
    """Every instance and message of a business transaction: `?key=` (a business key or correlation value;
    a key nothing carries gives empty lists) or `?instance=` (an instance id; 404 when there is none)."""
    key, instance_id = request_input.event_path_origin(request.args.get("key"), request.args.get("instance"))
    return jsonify(maestro().event_path(key, instance_id))


@blueprint.post("/signals")
@needs("operator")
def broadcast_signal():
    """{name, data} -> 202 {id, status}: broadcast by the workers to every catch waiting for it now."""
    name, data = _name_and_data(_json_body(), "signal")
    return _stored(lambda: maestro().signal(name, data, trace=request.headers.get("traceparent"), by=access.person()))


def _name_and_data(body, kind):
    """The "name" and "data" of a message or signal to publish; BadRequest when they are not usable."""
    name, data = body.get("name"), body.get("data", {})
    if not isinstance(name, str) or not name.strip():
        raise BadRequest(f'"name" (the {kind}\'s name) is required')
    if not isinstance(data, dict):
        raise BadRequest('"data" must be a JSON object')
    return name, data


def _stored(publish):
    """202 {id, status} of a message or signal `publish` stores; what the engine refuses is a 400."""
    try:
        return jsonify(publish()), 202
    except InstanceError as error:
        raise BadRequest(str(error)) from error


# -- service ---------------------------------------------------------------------

@blueprint.get("/health")
@public
def health():
    """200 when the database answers and this server's worker (if it runs one) is working;
    503 with the reason otherwise, so that a load balancer or supervisor can act on it."""
    body, reasons = {"status": "ok", "database": "ok", "worker": "ok"}, []
    try:
        with maestro().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        original = getattr(error, "orig", None) or error
        body["database"] = f"{type(original).__name__}: {(str(original).strip().splitlines() or [''])[0]}"
        reasons.append(f"the database is unreachable ({body['database']})")
    worker = current_app.extensions.get("maestro_worker")
    problem = worker.problem() if worker is not None else None
    if worker is None:
        body["worker"] = "none in this process"
    elif problem:
        body["worker"] = problem
        reasons.append(f"the worker is not working: {problem}")
    if not reasons:
        return jsonify(body)
    response = jsonify({**body, "status": "unavailable", "reason": "; ".join(reasons)})
    response.status_code = 503
    return response


@blueprint.get("/openapi.json")
@public
def openapi():
    return jsonify(document())


def _json_body():
    return request_input.json_object(request.get_data(cache=False))
