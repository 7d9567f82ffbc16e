"""A Spiff Arena form (a JSON schema and its UI schema, as react-jsonschema-form reads them) as a
form-js schema, so that one renderer draws Camunda Forms and Spiff Arena forms alike.

Covered: string (format date, email; minLength, maxLength, pattern), number and integer (minimum,
maximum), boolean, enum and oneOf/anyOf of const + title, required, default, nested objects (a
group whose path is the property), arrays of enum values (a checklist); other arrays get a note that
the form cannot edit them. UI schema: ui:order, ui:widget (textarea, radio, checkbox, checkboxes,
select), ui:help, ui:description, ui:placeholder, ui:title.
"""
from typing import Any

SCHEMA_VERSION = 16


def form_js_schema(schema: dict, ui_schema: dict | None, form_id: str) -> dict:
    """The form-js schema drawing `schema` (with `ui_schema`)."""
    components: list[dict] = []
    heading = "\n\n".join(text for text in (
        f"### {schema['title']}" if isinstance(schema.get("title"), str) else "",
        schema.get("description") if isinstance(schema.get("description"), str) else "") if text)
    if heading:
        components.append({"type": "text", "text": heading, "id": "heading"})
    components += _object_components(schema, ui_schema or {}, ())
    return {"type": "default", "id": form_id, "schemaVersion": SCHEMA_VERSION, "components": components}


def _object_components(schema: dict, ui: dict, path: tuple[str, ...]) -> list[dict]:
    properties = _dict(schema.get("properties"))
    required = set(_list(schema.get("required")))
    components = []
    for name in _ordered(list(properties), ui.get("ui:order")):
        components.append(_component(name, _dict(properties[name]), _dict(ui.get(name)), name in required,
                                     path + (name,)))
    return components


def _dict(value: Any) -> dict:
    """`value` when a schema gives an object where one belongs, else nothing (an odd schema draws what it can)."""
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _ordered(names: list[str], order: Any) -> list[str]:
    """The properties in ui:order's order ("*" stands for the rest, which otherwise come last)."""
    if not isinstance(order, list):
        return names
    listed = [name for name in order if name in names]
    rest = [name for name in names if name not in listed]
    if "*" in order:
        at = order.index("*")
        before = [name for name in order[:at] if name in names]
        return before + rest + [name for name in order[at + 1:] if name in names]
    return listed + rest


def _component(name: str, prop: dict, ui: dict, required: bool, path: tuple[str, ...]) -> dict:
    label = ui.get("ui:title") or prop.get("title") or name
    widget = ui.get("ui:widget")
    kind = prop.get("type")
    ident = "field_" + "_".join(path)
    if kind == "object":
        return {"type": "group", "id": ident, "label": label, "path": name,
                "components": _object_components(prop, ui, path)}
    common: dict[str, Any] = {"id": ident, "key": name, "label": label}
    description = ui.get("ui:help") or ui.get("ui:description") or prop.get("description")
    if isinstance(description, str):
        common["description"] = description
    if isinstance(ui.get("ui:placeholder"), str):
        common["placeholder"] = ui["ui:placeholder"]
    if "default" in prop:
        common["defaultValue"] = prop["default"]
    validate: dict[str, Any] = {"required": True} if required else {}
    choices = _choices(prop)
    if kind == "array":
        item_choices = _choices(_dict(prop.get("items")))
        if item_choices:
            return {**common, "type": "checklist", "values": item_choices, "validate": validate}
        return {"type": "text", "id": ident, "text": f"**{label}** is a list: this form cannot edit it "
                                                   "(send it as JSON through the API); it keeps its value."}
    if choices:
        shown = "radio" if widget == "radio" else "select"
        return {**common, "type": shown, "values": choices, "validate": validate}
    if kind == "boolean":
        return {**common, "type": "checkbox"}
    if kind in ("number", "integer"):
        for ours, theirs in (("min", "minimum"), ("max", "maximum")):
            if isinstance(prop.get(theirs), (int, float)):
                validate[ours] = prop[theirs]
        extra = {"decimalDigits": 0} if kind == "integer" else {}
        return {**common, **extra, "type": "number", "validate": validate}
    if prop.get("format") == "date":
        return {**{k: v for k, v in common.items() if k not in ("label", "placeholder")}, "type": "datetime",
                "subtype": "date", "dateLabel": label, "validate": validate}
    for ours, theirs in (("minLength", "minLength"), ("maxLength", "maxLength"), ("pattern", "pattern")):
        if prop.get(theirs) is not None:
            validate[ours] = prop[theirs]
    if prop.get("format") == "email":
        validate["validationType"] = "email"
    return {**common, "type": "textarea" if widget == "textarea" else "textfield", "validate": validate}


def _choices(prop: dict) -> list[dict]:
    """[{label, value}] of an enum, or of a oneOf/anyOf of consts."""
    if isinstance(prop.get("enum"), list):
        names = _list(prop.get("enumNames"))
        return [{"label": str(names[index]) if index < len(names) else str(value), "value": value}
                for index, value in enumerate(prop["enum"])]
    options = prop.get("oneOf") or prop.get("anyOf")
    if isinstance(options, list) and options and all(isinstance(o, dict) and "const" in o for o in options):
        return [{"label": str(option.get("title", option["const"])), "value": option["const"]} for option in options]
    return []
