"""Checking what a person submits against the form they filled in, on the server (never trusting the
browser), and typing it: numbers as numbers, booleans as booleans, dates as ISO text.

A form is one of (as engine.durable.form_resolution gives them): {"fields": [...]} (Camunda form
fields), {"kind": "form-js", "schema": form-js JSON} (a Camunda Form), or the same with "json_schema"
(a Spiff Arena form, drawn from its JSON schema, which is what its data is checked against).
"""
import re
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

import jsonschema_rs

# form-js components a person fills in (the others show text, images, buttons...).
INPUTS = {"textfield", "textarea", "number", "checkbox", "checklist", "radio", "select", "taglist", "datetime"}
EMAIL = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
PHONE = re.compile(r"^\+?[0-9 ()./-]{5,}$")


class InvalidForm(ValueError):
    """Submitted values that do not fit their form: `errors` is [{"field", "message"}], one per field."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{error['message']}" for error in errors))


def checked(form: dict | None, data: dict[str, Any]) -> dict[str, Any]:
    """`data` with the form's values typed; InvalidForm naming every field that does not fit.
    Variables the form does not name pass unchanged."""
    if not form:
        return dict(data)
    if form.get("fields"):
        return _checked_fields(form["fields"], data)
    if form.get("json_schema") is not None and isinstance(form["json_schema"], dict):
        return _checked_json_schema(form["json_schema"], data)
    if form.get("kind") == "form-js":
        return _checked_form_js(form["schema"], data)
    return dict(data)


class _Errors:
    def __init__(self) -> None:
        self.found: list[dict[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.found.append({"field": field, "message": message})

    def raise_any(self) -> None:
        if self.found:
            raise InvalidForm(self.found)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


# -- Camunda form fields ---------------------------------------------------------------

def _checked_fields(fields: list[dict], data: dict[str, Any]) -> dict[str, Any]:
    typed, errors = dict(data), _Errors()
    for field in fields:
        name, label, value = field["id"], field["label"], data.get(field["id"])
        if field["type"] == "boolean":
            typed[name] = _boolean(value, label, name, errors) if not _empty(value) else False
            continue
        if _empty(value):
            if field.get("required"):
                errors.add(name, f"{label} is required")
            typed.pop(name, None)
            continue
        kind, limits = field["type"], field.get("constraints", {})
        if kind == "long":
            value = _number(value, label, name, errors, whole=True)
        elif kind == "date":
            value = _date(value, "date", label, name, errors)
        elif kind == "enum":
            allowed = [choice["id"] for choice in field.get("values", [])]
            if value not in allowed:
                errors.add(name, f"{label} must be one of {', '.join(allowed)}")
        elif not isinstance(value, str):
            errors.add(name, f"{label} must be text")
        if value is not None:
            _limits(value, _numbers(limits, {"min": "min", "max": "max", "minLength": "minlength",
                                             "maxLength": "maxlength"}), label, name, errors)
            typed[name] = value
    errors.raise_any()
    return typed


def _numbers(limits: dict, names: dict[str, str]) -> dict[str, float]:
    found = {}
    for ours, theirs in names.items():
        try:
            found[ours] = float(limits[theirs])
        except (KeyError, TypeError, ValueError):
            pass
    return found


# -- Camunda Forms (form-js) ------------------------------------------------------------

def _checked_form_js(schema: dict, data: dict[str, Any]) -> dict[str, Any]:
    typed, errors = _copy(data), _Errors()
    for path, component in _inputs(schema.get("components", []), ()):
        field = ".".join(path)
        label = component.get("label") or component.get("dateLabel") or component.get("timeLabel") or path[-1]
        value = _get(data, path)
        validate = component.get("validate") or {}
        if _empty(value):
            if validate.get("required") and not component.get("conditional"):  # a hidden field is not asked for
                errors.add(field, f"{label} is required")
            continue
        value = _typed_component(component, value, label, field, errors)
        if value is None:
            continue
        _limits(value, {name: validate[name] for name in ("min", "max", "minLength", "maxLength")
                        if isinstance(validate.get(name), (int, float))}, label, field, errors)
        _pattern(value, validate, label, field, errors)
        _set(typed, path, value)
    errors.raise_any()
    return typed


def _inputs(components: list, path: tuple[str, ...]):
    """(key path, component) of each input, groups' paths included."""
    for component in components:
        if not isinstance(component, dict):
            continue
        if component.get("type") == "group":  # a dynamic list holds a list: checked as a whole
            inner = tuple(component["path"].split(".")) if component.get("path") else ()
            yield from _inputs(component.get("components") or [], path + inner)
        elif component.get("type") in INPUTS and component.get("key"):
            yield path + tuple(str(component["key"]).split(".")), component


def _typed_component(component: dict, value: Any, label: str, field: str, errors: _Errors) -> Any:
    kind = component["type"]
    if kind == "number":
        whole = component.get("decimalDigits") == 0
        number = _number(value, label, field, errors, whole=whole)
        return str(number) if number is not None and component.get("serializeToString") else number
    if kind == "checkbox":
        return _boolean(value, label, field, errors)
    if kind == "datetime":
        return _date(value, component.get("subtype") or "date", label, field, errors)
    allowed = [choice.get("value") for choice in component.get("values") or [] if isinstance(choice, dict)]
    if kind in ("checklist", "taglist"):
        if not isinstance(value, list):
            errors.add(field, f"{label} must be a list")
            return None
        wrong = [item for item in value if allowed and item not in allowed]
        if wrong:
            errors.add(field, f"{label}: {', '.join(map(str, wrong))} is not one of the choices")
            return None
        return value
    if kind in ("radio", "select"):
        if allowed and value not in allowed:
            errors.add(field, f"{label} must be one of {', '.join(map(str, allowed))}")
            return None
        return value
    if not isinstance(value, str):
        errors.add(field, f"{label} must be text")
        return None
    return value


def _pattern(value: Any, validate: dict, label: str, field: str, errors: _Errors) -> None:
    if not isinstance(value, str):
        return
    pattern = validate.get("pattern")
    if isinstance(pattern, str) and pattern:
        try:
            if not re.search(pattern, value):  # as form-js tests it (RegExp.test: anywhere in the value)
                errors.add(field, validate.get("patternErrorMessage") or f"{label} must match {pattern}")
        except re.error:
            pass  # a pattern Python cannot read: the browser checked it
    kind = validate.get("validationType")
    if kind == "email" and not EMAIL.match(value):
        errors.add(field, f"{label} must be an email address")
    if kind == "phone" and not PHONE.match(value):
        errors.add(field, f"{label} must be a phone number")


# -- Spiff Arena JSON schemas --------------------------------------------------------------

def _checked_json_schema(schema: dict, data: dict[str, Any]) -> dict[str, Any]:
    typed = _pruned(schema, data)
    errors = _Errors()
    try:
        validator = jsonschema_rs.validator_for(schema, validate_formats=True)
    except (jsonschema_rs.ValidationError, ValueError) as unusable:
        raise InvalidForm([{"field": "", "message": f"the form's JSON schema cannot be used: {unusable}"}]) from None
    for error in validator.iter_errors(typed):
        path = [str(part) for part in error.instance_path]
        if type(error.kind).__name__ == "Required":  # said of the object: the field is the property it lacks
            path.append(str(getattr(error.kind, "property", "")))
            errors.add(".".join(path), f"{_title(schema, path)} is required")
        else:
            errors.add(".".join(path), f"{_title(schema, path)}: {error.message}")
    errors.raise_any()
    return typed


def _pruned(schema: dict, data: Any) -> Any:
    """`data` without the empty values of an object's properties (form-js submits "" and null for what
    was left empty: absent, as the schema means it), numbers and booleans typed from text."""
    if not isinstance(data, dict):
        return _typed_text(schema, data)
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    pruned = {}
    for key, value in data.items():
        if value is None or value == "":
            continue
        inner = properties.get(key)
        pruned[key] = _pruned(inner, value) if isinstance(inner, dict) else value
    return pruned


def _typed_text(schema: dict, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            number = float(value)
            return int(number) if number.is_integer() and "." not in value else number
    except ValueError:
        return value
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


def _title(schema: dict, path: list[str]) -> str:
    node: Any = schema
    for part in path:
        properties = node.get("properties") if isinstance(node, dict) else None
        if not isinstance(properties, dict) or part not in properties:
            return ".".join(path) or "the form"
        node = properties[part]
    return (node.get("title") if isinstance(node, dict) else None) or ".".join(path) or "the form"


# -- values --------------------------------------------------------------------------

def _number(value: Any, label: str, field: str, errors: _Errors, whole: bool) -> int | float | None:
    if isinstance(value, str):
        try:
            value = float(value.strip()) if not re.fullmatch(r"[+-]?\d+", value.strip()) else int(value)
        except ValueError:
            errors.add(field, f"{label} must be {'a whole number' if whole else 'a number'}")
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        errors.add(field, f"{label} must be {'a whole number' if whole else 'a number'}")
        return None
    if whole:
        if isinstance(value, float) and not value.is_integer():
            errors.add(field, f"{label} must be a whole number")
            return None
        return int(value)
    return value


def _boolean(value: Any, label: str, field: str, errors: _Errors) -> bool | None:
    if isinstance(value, bool):
        return value
    if value in ("on", "true", "1", 1):
        return True
    if value in ("false", "0", 0):
        return False
    errors.add(field, f"{label} must be true or false")
    return None


_DATE_READERS: dict[str, tuple[Callable[[str], date | time | datetime], str]] = {
    "date": (date.fromisoformat, "YYYY-MM-DD"), "time": (time.fromisoformat, "HH:MM"),
    "datetime": (datetime.fromisoformat, "YYYY-MM-DDTHH:MM")}


def _date(value: Any, subtype: str, label: str, field: str, errors: _Errors) -> str | None:
    reader, example = _DATE_READERS.get(subtype, _DATE_READERS["date"])
    try:
        if not isinstance(value, str):
            raise ValueError
        return reader(value).isoformat() if subtype != "datetime" else value
    except ValueError:
        errors.add(field, f"{label} must be a {subtype} ({example})")
        return None


def _limits(value: Any, limits: dict[str, float], label: str, field: str, errors: _Errors) -> None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "min" in limits and value < limits["min"]:
            errors.add(field, f"{label} must be at least {_shown(limits['min'])}")
        if "max" in limits and value > limits["max"]:
            errors.add(field, f"{label} must be at most {_shown(limits['max'])}")
    if isinstance(value, str):
        if "minLength" in limits and len(value) < limits["minLength"]:
            errors.add(field, f"{label} must have at least {_shown(limits['minLength'])} characters")
        if "maxLength" in limits and len(value) > limits["maxLength"]:
            errors.add(field, f"{label} must have at most {_shown(limits['maxLength'])} characters")


def _shown(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _copy(data: Any) -> Any:
    return {key: _copy(value) for key, value in data.items()} if isinstance(data, dict) else data


def _get(data: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _set(data: dict, path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        if not isinstance(data.get(part), dict):
            data[part] = {}
        data = data[part]
    data[path[-1]] = value
