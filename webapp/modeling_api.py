"""The JSON API the browser's editor works with (issue 13): checking a diagram against this server
(POST /api/lint), the handlers it can bind (GET /api/handlers, GET /api/element-templates) and
trying a diagram in memory (POST /api/try). None of them deploys or stores anything."""

from flask import Blueprint, current_app, jsonify, request

from engine.durable.trials import TrialRefused
from engine.problems import DeployError
from engine.read.untrusted_xml import utf8_document

from . import catalog, request_input, tries, uploads
from .access import needs
from .api import install_refusals, json_error
from .request_input import BadRequest

blueprint = Blueprint("modeling_api", __name__)
install_refusals(blueprint)
blueprint.register_error_handler(TrialRefused, lambda error: json_error(400, "bad_request", str(error)))

DEFAULT_FILE_NAME = "diagram.bpmn"
# The XML declaration's encoding: the text came as JSON (Unicode), and is handed on as UTF-8.


def maestro():
    return current_app.extensions["maestro"]


@blueprint.post("/lint")
@needs("modeler")
def lint():
    """{xml, name?, force_executable?} -> {"problems": [{file, line, element, message, severity}]}:
    what deploy refuses (errors) and what scripts and conditions read that nothing sets (warnings)."""
    body = _json_body()
    try:
        problems, warnings = maestro().lint(_diagram(body), _force_executable(body),
                                            current_app.config.get("MAESTRO_RUNS_HANDLERS", True))
    except DeployError as error:  # no BPMN document at all: said as its problems, as deploy says it
        problems, warnings = error.problems, []
    return jsonify(problems=[{**problem.as_dict(), "severity": "error"} for problem in problems]
                   + [{**warning.as_dict(), "severity": "warning"} for warning in warnings])


@blueprint.get("/handlers")
def handlers():
    return jsonify(handlers=catalog.handler_catalog(maestro().handlers))


@blueprint.get("/element-templates")
def element_templates():
    return jsonify(catalog.element_templates(maestro().handlers))


@blueprint.post("/try")
@needs("modeler")
def try_diagram():
    """{xml, name?, variables?, tasks?: {service task id: "handler"|"nothing"|"fail"|"error:CODE"}} ->
    the run's status, variables, path, element states and error (webapp/tries.py)."""
    body = _json_body()
    variables, choices = body.get("variables", {}), body.get("tasks", {})
    if not isinstance(variables, dict) or not isinstance(choices, dict):
        raise BadRequest('"variables" and "tasks" must be JSON objects')
    outcome = maestro().try_run(_diagram(body), variables, choices, _force_executable(body))
    return jsonify(tries.try_result(outcome))


def _json_body():
    return request_input.json_object(request.get_data(cache=False))


def _diagram(body: dict) -> list[tuple[str, bytes]]:
    """The one file a request names: ("name", the XML as UTF-8), made fit to deploy (webapp/uploads.py)."""
    xml, name = body.get("xml"), body.get("name", DEFAULT_FILE_NAME)
    if not isinstance(xml, str) or not xml.strip():
        raise BadRequest('"xml" (the BPMN diagram, as text) is required')
    if not isinstance(name, str):
        raise BadRequest('"name" must be a string (the file name problems are reported in)')
    return uploads.prepared([(name or DEFAULT_FILE_NAME, utf8_document(xml))])


def _force_executable(body: dict) -> bool:
    force = body.get("force_executable", False)
    if not isinstance(force, bool):
        raise BadRequest('"force_executable" must be true or false')
    return force
