"""The drafts part of the JSON API (/api/drafts): diagrams saved without deploying them, one per process.

Its own blueprint under /api, answering errors in JSON as the rest of the API
does (webapp/api.py); CSRF and Origin rules are the API's (webapp/app.py).
"""
from flask import Blueprint, current_app, jsonify, request

from engine.durable import InvalidDraft, NotFound

from . import access, request_input, uploads
from .access import needs
from .api import install_refusals, json_error
from .request_input import MAX_DATABASE_INTEGER, BadRequest

blueprint = Blueprint("drafts_api", __name__)
install_refusals(blueprint)
blueprint.register_error_handler(InvalidDraft, lambda error: json_error(400, "bad_request", str(error)))


def maestro():
    return current_app.extensions["maestro"]


def _newer_than_draft(key: str, based_on: int | None) -> str | None:
    """Why deploying the draft would drop someone's work: a version of `key` newer than the one the draft
    was edited from (or any version, for a draft edited from none); None when there is none."""
    try:
        newest = max(version["version"] for version in maestro().definition_versions(key))
    except NotFound:
        return None
    if based_on is not None and newest <= based_on:
        return None
    since = f"version {based_on}, which this draft was edited from" if based_on else "this draft was started"
    return (f"version {newest} of '{key}' was deployed after {since}: deploying the draft would replace its "
            f"changes (see what they are at /processes/{key}/compare"
            + (f"?from={based_on}&to={newest}" if based_on else "") + "). "
            "Send over_newer=true to deploy it anyway.")


def who() -> str:
    """Who saves a draft: the signed-in person (else the user something in front of Maestro signed in, else "web")."""
    return access.person() or request.remote_user or "web"


@blueprint.get("/drafts")
def list_drafts():
    return jsonify({"drafts": maestro().drafts()})


@blueprint.get("/drafts/<key>")
def show_draft(key):
    return jsonify(maestro().draft(key))


@blueprint.put("/drafts/<key>")
@needs("modeler")
def save_draft(key):
    """{xml, based_on_version?}: replaces the draft of `key` (the id of the diagram's process)."""
    body = request_input.json_object(request.get_data(cache=False))
    xml, based_on = body.get("xml"), body.get("based_on_version")
    if not isinstance(xml, str) or not xml.strip():
        raise BadRequest('"xml" (the diagram, as text) is required')
    if based_on is not None and (isinstance(based_on, bool) or not isinstance(based_on, int)
                                 or not 1 <= based_on <= MAX_DATABASE_INTEGER):
        raise BadRequest('"based_on_version" must be the number of a deployed version, or null')
    return jsonify(maestro().save_draft(key, xml, who(), based_on))


@blueprint.delete("/drafts/<key>")
@needs("modeler")
def delete_draft(key):
    maestro().delete_draft(key)
    return "", 204


@blueprint.post("/drafts/<key>/deploy")
@needs("modeler")
def deploy_draft(key):
    """Deploys the draft as an upload named KEY.bpmn would be, then deletes it; 422 (draft kept) if refused,
    409 when a version newer than the one the draft was edited from is deployed (unless `over_newer`)."""
    draft = maestro().draft(key)
    if request.args.get("over_newer", "").lower() not in ("1", "true", "yes"):
        conflict = _newer_than_draft(key, draft["based_on_version"])
        if conflict:
            return json_error(409, "newer_version", conflict)
    deployed = uploads.deploy(maestro(), [(f"{key}.bpmn", draft["xml"].encode("utf-8"))], by=access.person())
    try:
        maestro().delete_draft(key, if_xml=draft["xml"])  # a draft saved again meanwhile is newer work: kept
    except NotFound:
        pass  # deleted meanwhile: nothing left to do
    first = next((item for item in deployed if item["key"] == key), deployed[0] if deployed else {})
    return jsonify({**first, "deployed": deployed}), 201
