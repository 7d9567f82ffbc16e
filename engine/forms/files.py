"""Form files deployed beside the diagrams: Camunda Forms (`.form`, form-js JSON known by its "id") and
Spiff Arena JSON-schema / UI-schema files (`.json`, known by their file name)."""
import hashlib
import json
from pathlib import PurePosixPath
from typing import NamedTuple

from engine.problems import Problem

CAMUNDA_FORM = "camunda-form"
JSON_SCHEMA = "json-schema"
FORM_ID_LENGTH = 255


class FormFile(NamedTuple):
    name: str  # as given (what problems are reported under)
    form_id: str  # a Camunda Form's "id"; a JSON file's base name
    kind: str  # CAMUNDA_FORM | JSON_SCHEMA
    text: str  # the JSON, verbatim
    digest: str


def is_form_file(name: str) -> bool:
    return name.lower().endswith((".form", ".json"))


def base_name(name: str) -> str:
    """A file name without its folders, as diagrams name JSON-schema files."""
    return PurePosixPath(name.replace("\\", "/")).name


def read_form_file(name: str, data: bytes) -> tuple[FormFile | None, list[Problem]]:
    """(the form file, []) or (None, [why it is refused, under its file name])."""
    try:
        text = data.decode("utf-8-sig")
        value = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        detail = f"{error.msg} (line {error.lineno}, column {error.colno})" \
            if isinstance(error, json.JSONDecodeError) else type(error).__name__
        return None, [Problem(name, getattr(error, "lineno", 0), "", f"not a valid JSON file: {detail}")]
    digest = hashlib.sha256(data).hexdigest()
    if not isinstance(value, dict):
        return None, [Problem(name, 1, "", "a form file holds one JSON object")]
    if not name.lower().endswith(".form"):
        return FormFile(name, base_name(name)[:FORM_ID_LENGTH], JSON_SCHEMA, text, digest), []
    form_id, components = value.get("id"), value.get("components")
    if not isinstance(form_id, str) or not form_id.strip() or len(form_id) > FORM_ID_LENGTH:
        return None, [Problem(name, 1, "", 'a Camunda Form needs an "id" (text, at most 255 characters): '
                                           "the id diagrams name it by")]
    if not isinstance(components, list):
        return None, [Problem(name, 1, "", 'a Camunda Form needs "components" (a list of its fields)')]
    return FormFile(name, form_id, CAMUNDA_FORM, text, digest), []


def embedded_form_problem(text: str | None) -> str | None:
    """Why a form embedded in a Camunda 8 process cannot be shown, or None."""
    if text is None:
        return "no zeebe:userTaskForm in the process has the id its formKey names"
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return "the form embedded in the process (zeebe:userTaskForm) is not valid JSON"
    if not isinstance(value, dict) or not isinstance(value.get("components"), list):
        return 'the form embedded in the process (zeebe:userTaskForm) has no "components"'
    return None
