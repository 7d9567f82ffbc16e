"""Variables from an HTML form built from a BPMN form (Camunda form fields), or from a JSON editor."""
import json

from .request_input import BadRequest, check_json_value


class FormError(Exception):
    """A value the user typed that does not fit its field; the message names the field."""


def values_from_fields(fields, form):
    """{field id: text typed} for Camunda form fields (a checkbox: whether it is ticked); the engine
    checks and types them against the form (engine.forms.validation)."""
    values = {}
    for field in fields:
        raw = form.get(field["id"], "")
        if field["type"] == "boolean":
            values[field["id"]] = raw in ("on", "true", "1")
        elif raw != "":
            values[field["id"]] = raw
    return values


def values_from_json(text, what="variables"):
    """A JSON object typed into a text area."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise FormError(f"the {what} are not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})") \
            from None
    except (RecursionError, ValueError):  # nested past Python's stack, or a number too long to read
        raise FormError(f"the {what} are nested too deep or hold a number too long to read") from None
    if not isinstance(value, dict):
        raise FormError(f'the {what} must be a JSON object, like {{"amount": 10}}')
    return value


def _no_constant(name):
    raise FormError(f"{name} is not a JSON value: write a number or null")


def values_from(form_spec, form):
    """The variables a submitted start or task form gives: from its fields, or its JSON editor."""
    if form_spec and form_spec.get("fields"):
        values = values_from_fields(form_spec["fields"], form)
    else:
        values = values_from_json(form.get("data", ""))
    try:
        check_json_value(values, "the form")  # what a database cannot store: NUL, lone surrogates, depth
    except BadRequest as error:
        raise FormError(str(error)) from None
    return values
