"""The JSON API of an operator's surgery: moving a token within an instance, migrating instances to
another version of their process (DESIGN.md, "JSON API")."""
from flask import Blueprint, jsonify, request

from engine.durable.instance_migrations import MAX_IDS
from engine.run.token_moves import REASON_LENGTH, MoveRefused

from . import access, request_input
from .api import install_refusals, maestro
from .request_input import MAX_DATABASE_INTEGER, BadRequest

blueprint = Blueprint("surgery_api", __name__)
install_refusals(blueprint)
ELEMENT_LENGTH = 255  # an element id or a task id: the history's bpmn_id column


@blueprint.errorhandler(MoveRefused)
def _refused(error):
    response = jsonify(error="refused", message=str(error), reasons=error.reasons)
    response.status_code = 409
    return response


@blueprint.post("/instances/<instance_id>/move")
@access.needs("operator")
def move_token(instance_id):
    """{from, to, reason} -> 200 {instance summary, moved, warnings, incident_resolved}; 409 {reasons}."""
    body = request_input.json_object(request.get_data(cache=False))
    source = _text(body, "from", ELEMENT_LENGTH, "the active activity: its task id or element id")
    target = _text(body, "to", ELEMENT_LENGTH, "the element id to move the token to")
    reason = _text(body, "reason", REASON_LENGTH, "why the token moves (kept in the history)")
    return jsonify(maestro().move_token(instance_id, source, target, reason, by=access.person()))


@blueprint.post("/definitions/<key>/migrate")
@access.needs("operator")
def migrate(key):
    """{from, to, ids?, dry_run?} -> 200 {migrated, refused: [{id, reasons}], dry_run}."""
    body = request_input.json_object(request.get_data(cache=False))
    versions = [_version(body, name) for name in ("from", "to")]
    ids, dry_run = body.get("ids"), body.get("dry_run", False)
    if ids is not None and (not isinstance(ids, list) or len(ids) > MAX_IDS
                            or not all(isinstance(i, str) and 0 < len(i) <= ELEMENT_LENGTH for i in ids)):
        raise BadRequest(f'"ids" is a list of at most {MAX_IDS} instance ids')
    if not isinstance(dry_run, bool):
        raise BadRequest('"dry_run" is true or false')
    return jsonify(maestro().migrate(key, versions[0], versions[1], ids, dry_run, by=access.person()))


def _text(body, name, length, meaning):
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f'"{name}" is required: {meaning}')
    if len(value) > length:
        raise BadRequest(f'"{name}" is {len(value)} characters long; at most {length}')
    return value.strip()


def _version(body, name):
    value = body.get(name)
    if isinstance(value, float) and value.is_integer():  # 2.0 is the integer 2 in JSON Schema
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DATABASE_INTEGER:
        raise BadRequest(f'"{name}" is required: a version number (a whole number from 1)')
    return value
