"""The form a user task or start event shows, as deployed: a Camunda Form or a Spiff Arena JSON schema
found in the forms table (in the version its binding names), ready for form-js to draw.

Resolved forms are {"kind": "form-js", "source", "form_id", "version", "schema"} (+ "json_schema"
for a Spiff Arena form: its data is checked against that), {"kind": "missing", "message"} when the
form is gone, or the element's form as it is (Camunda form fields: {"fields": [...]}).
"""
import json
from datetime import datetime

from sqlalchemy import select

from engine.forms.json_schema import form_js_schema

from .store import forms as stored
from .store.models import Definition


def deployed_at(session, definition_id: int) -> datetime | None:
    """When a version was deployed (what its "deployment" bindings bind to), without reading its XML."""
    return session.scalar(select(Definition.deployed_at).where(Definition.id == definition_id))


def resolved(session, form: dict | None, deployed_at: datetime | None) -> dict | None:
    """`form` (what the diagram says, engine.read.forms.form_of) resolved for a diagram deployed at `deployed_at`."""
    if not form:
        return form
    if form.get("json_schema"):
        return _json_schema_form(session, form)
    reference = form.get("camunda_form")
    if not reference:
        return form
    if "embedded" in reference:
        return _form_js("camunda-form", reference["form_key"], None, reference["embedded"] or "{}")
    if reference.get("file"):
        row = stored.newest_of_file(session, reference["file"], deployed_at)
    elif reference["binding"] == "version" and str(reference.get("version") or "").isdigit():
        row = stored.version(session, reference["form_id"], int(reference["version"]))
    else:
        bound_at = deployed_at if reference["binding"] == "deployment" else None  # "latest": the newest now
        row = stored.newest(session, reference["form_id"], bound_at)
    if row is None:
        return {"kind": "missing", "message": f"the form {reference.get('form_id') or reference.get('file')} "
                                              "is not deployed"}
    return _form_js("camunda-form", row.form_id, row.version, row.schema)


def _json_schema_form(session, form: dict) -> dict:
    schema_row = stored.newest_of_file(session, form["json_schema"])
    if schema_row is None:
        return {"kind": "missing", "message": f"the form's JSON schema {form['json_schema']} is not deployed"}
    ui_row = stored.newest_of_file(session, form["ui_schema"]) if form.get("ui_schema") else None
    schema = _object(schema_row.schema)
    ui_schema = _object(ui_row.schema) if ui_row else {}
    return {"kind": "form-js", "source": "json-schema", "form_id": schema_row.form_id, "version": schema_row.version,
            "schema": form_js_schema(schema, ui_schema, schema_row.form_id), "json_schema": schema}


def _form_js(source: str, form_id: str, version: int | None, text: str) -> dict:
    return {"kind": "form-js", "source": source, "form_id": form_id, "version": version, "schema": _object(text)}


def _object(text: str) -> dict:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}
