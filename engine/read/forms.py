"""Form fields of user tasks and start events, as the modelers write them.

Camunda 7 embeds `camunda:formData/camunda:formField`, or the older
`camunda:formProperty` that Activiti diagrams use (engine.read.exports.activiti renames
their namespace); Spiff Arena names a JSON-schema file
(`formJsonSchemaFilename`) and a UI-schema file beside it. A Camunda Form (form-js JSON) is
named by `camunda:formRef` (+ binding and version) or `camunda:formKey="camunda-forms:deployment:F.form"`
in Camunda 7, by `zeebe:formDefinition` (formId, or formKey of a form embedded in the process) in
Camunda 8: see camunda_form_of.
"""
from engine.namespaces import NSMAP

CAMUNDA = f"{{{NSMAP['camunda']}}}"
DEPLOYMENT_FORM_KEY = "camunda-forms:deployment:"
EMBEDDED_FORM_KEY = "camunda-forms:bpmn:"
BINDINGS = ("latest", "deployment", "version")


def form_of(node):
    """{"fields": [...]}, {"json_schema": file, "ui_schema": file} or {"camunda_form": {...}}, or None."""
    camunda_form = camunda_form_of(node)
    if camunda_form:
        return {"camunda_form": camunda_form}
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
    constraints = {constraint.get("name"): constraint.get("config") for constraint in field.xpath(
        "./camunda:validation/camunda:constraint", namespaces=NSMAP)}
    described["required"] = "required" in constraints
    limits = {name: value for name, value in constraints.items()
              if name in ("min", "max", "minlength", "maxlength") and value is not None}
    if limits:
        described["constraints"] = limits
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


def named_json_files(data: bytes) -> set[str]:
    """The base names of the JSON files a diagram's Spiff Arena forms name (none when it does not parse)."""
    from lxml import etree

    from engine.read.untrusted_xml import UnsafeXml, parse_untrusted
    try:
        root = parse_untrusted(data)
    except (etree.XMLSyntaxError, UnsafeXml):
        return set()
    values = root.xpath("//spiffworkflow:property[@name='formJsonSchemaFilename' or @name='formUiSchemaFilename']"
                        "/@value", namespaces=NSMAP)
    return {str(value).replace("\\", "/").rsplit("/", 1)[-1] for value in values}


def camunda_form_of(node):
    """The Camunda Form a user task or start event names, or None:
    {"form_id", "binding" ("latest" | "deployment" | "version"), "version"} for a form deployed by its id,
    {"file", "binding": "deployment"} for one named by its file, {"embedded": JSON text or None, "form_key"}
    for one a Camunda 8 process holds (None: no zeebe:userTaskForm has that id)."""
    form_ref = node.get(f"{CAMUNDA}formRef")
    if form_ref:
        return {"form_id": form_ref, "binding": node.get(f"{CAMUNDA}formRefBinding") or "latest",
                "version": node.get(f"{CAMUNDA}formRefVersion")}
    form_key = node.get(f"{CAMUNDA}formKey") or ""
    if form_key.startswith(DEPLOYMENT_FORM_KEY):
        return {"file": form_key[len(DEPLOYMENT_FORM_KEY):], "binding": "deployment", "version": None}
    definition = node.xpath("./bpmn:extensionElements/zeebe:formDefinition", namespaces=NSMAP)
    if not definition:
        return None
    if definition[0].get("formId"):
        return {"form_id": definition[0].get("formId"), "binding": definition[0].get("bindingType") or "latest",
                "version": None}
    key = definition[0].get("formKey") or ""
    if key.startswith(EMBEDDED_FORM_KEY):
        key = key[len(EMBEDDED_FORM_KEY):]
        held = node.xpath("ancestor::bpmn:process[1]/bpmn:extensionElements/zeebe:userTaskForm[@id=$id]",
                          namespaces=NSMAP, id=key)
        return {"embedded": (held[0].text or "") if held else None, "form_key": key}
    return None
