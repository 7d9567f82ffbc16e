"""XML namespaces of BPMN and of the modelers whose extensions Maestro reads."""
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
ACTIVITI = "http://activiti.org/bpmn"  # Camunda 7 reads it as CAMUNDA; engine.read.exports.activiti rewrites it so
ZEEBE = "http://camunda.org/schema/zeebe/1.0"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"

NSMAP = {
    "bpmn": BPMN,
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "camunda": CAMUNDA,
    "zeebe": ZEEBE,
    "spiffworkflow": SPIFF,
}


def tag(name, ns=BPMN):
    return f"{{{ns}}}{name}"


def local_name(element):
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""


_PROPERTY = ("./bpmn:extensionElements/camunda:properties/camunda:property[@name=$name]/@value"
             " | ./bpmn:extensionElements/zeebe:properties/zeebe:property[@name=$name]/@value")


def extension_property(element, name) -> str | None:
    """The value of the element's extension property `name` (Camunda 7's `camunda:properties`,
    Camunda 8's `zeebe:properties`), stripped; None when it has none or it is empty."""
    found = element.xpath(_PROPERTY, namespaces=NSMAP, name=name)
    value = str(found[0]).strip() if found else ""
    return value or None


def event_definitions(event):
    """What triggers an event element: its nested definitions, or the eventDefinitionRefs naming one."""
    return [child for child in event
            if local_name(child).endswith("EventDefinition") or local_name(child) == "eventDefinitionRef"]

# BPMN activity elements: the steps whose completion is worth a durable commit.
ACTIVITIES = frozenset({
    "task", "userTask", "manualTask", "serviceTask", "sendTask", "receiveTask", "scriptTask",
    "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
})
