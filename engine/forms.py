"""Form fields of user tasks and start events, as the modelers write them.

Camunda 7 embeds `camunda:formData/camunda:formField`; Spiff Arena names a
JSON-schema file (`formJsonSchemaFilename`) and a UI-schema file beside it.
"""
from .namespaces import NSMAP


def form_of(node):
    """{"fields": [...]} or {"json_schema": file, "ui_schema": file}, or None."""
    fields = [_field(field) for field in node.xpath(
        "./bpmn:extensionElements/camunda:formData/camunda:formField", namespaces=NSMAP)]
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
    values = field.xpath("./camunda:value", namespaces=NSMAP)
    if values:
        described["values"] = [{"id": v.get("id"), "name": v.get("name") or v.get("id")} for v in values]
    required = field.xpath("./camunda:validation/camunda:constraint[@name='required']", namespaces=NSMAP)
    described["required"] = bool(required)
    return described
