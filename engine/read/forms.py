"""Form fields of user tasks and start events, as the modelers write them.

Camunda 7 embeds `camunda:formData/camunda:formField`, or the older
`camunda:formProperty` that Activiti diagrams use (engine.read.exports.activiti renames
their namespace); Spiff Arena names a JSON-schema file
(`formJsonSchemaFilename`) and a UI-schema file beside it.
"""
from engine.namespaces import NSMAP


def form_of(node):
    """{"fields": [...]} or {"json_schema": file, "ui_schema": file}, or None."""
    fields = [_field(field) for field in node.xpath(
        "./bpmn:extensionElements/camunda:formData/camunda:formField", namespaces=NSMAP)]
    fields += [_property(prop) for prop in node.xpath(
        "./bpmn:extensionElements/camunda:formProperty", namespaces=NSMAP) if _is_input(prop)]
    if fields:
        return {"fields": fields}
    properties = {
        prop.get("name"): prop.get("value")
        for prop in node.xpath("./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property",
                               namespaces=NSMAP)
    }
    if properties.get("formJsonSchemaFilename"):
        return {"json_schema": properties["formJsonSchemaFilename"],
                "ui_schema": properties.get("formUiSchemaFilename")}
    return None


def _field(field):
    described = {
        "id": field.get("id"),
        "label": field.get("label") or field.get("id"),
        "type": field.get("type") or "string",
        "default": field.get("defaultValue"),
    }
    described.update(_values(field))
    required = field.xpath("./camunda:validation/camunda:constraint[@name='required']", namespaces=NSMAP)
    described["required"] = bool(required)
    return described


def _is_input(prop):
    """A form property the person fills in: one shown, submitted, and stored in a variable (not an expression)."""
    return prop.get("readable") != "false" and prop.get("writable") != "false" and not prop.get("expression")


def _property(prop):
    """A camunda:formProperty as a field; `variable` names the process variable when it is not the id."""
    described = {
        "id": prop.get("variable") or prop.get("id"),
        "label": prop.get("name") or prop.get("id"),
        "type": prop.get("type") or "string",
        "default": prop.get("default"),
    }
    described.update(_values(prop))
    described["required"] = prop.get("required") == "true"
    return described


def _values(field):
    """The choices of an enum field or property, if it lists any."""
    values = field.xpath("./camunda:value", namespaces=NSMAP)
    if not values:
        return {}
    return {"values": [{"id": v.get("id"), "name": v.get("name") or v.get("id")} for v in values]}
