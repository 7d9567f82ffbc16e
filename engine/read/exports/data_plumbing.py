"""BPMN's data plumbing that Maestro reads as documentation, as Camunda 7 does.

Maestro hands every activity the process variables and merges its handler's
result back into them. What a diagram draws about data beyond that — data
stores, the inputs and outputs an activity or process declares
(ioSpecification), and the data associations that merely connect them —
tells a reader where data comes from; the handler does the reading and
writing. Those are removed before SpiffWorkflow parses the file: it refuses
data stores without a Python class registered for them, and it restricts an
activity's variables to its declared inputs (failing when one is missing).

Kept with their meaning: data objects (SpiffWorkflow moves them in and out of
the task's variables), the inputs of multi-instance activities (their loop
data), and every association that transforms or assigns data — which Maestro
cannot run, so they are refused with their line.
"""
from engine.namespaces import NSMAP

_ACTIVITIES = ("task", "serviceTask", "sendTask", "receiveTask", "userTask", "manualTask", "scriptTask",
               "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess")


def drop_documentation_only_data(root):
    """Removes, in place, the data plumbing described above from a parsed BPMN file."""
    data_objects = {node.get("id") for node in root.xpath(
        "//bpmn:dataObject | //bpmn:dataObjectReference", namespaces=NSMAP)}
    for association in root.xpath("//bpmn:dataInputAssociation", namespaces=NSMAP):
        _drop_if_plain(association, _refs(association, "sourceRef"), data_objects)
    for association in root.xpath("//bpmn:dataOutputAssociation", namespaces=NSMAP):
        _drop_if_plain(association, _refs(association, "targetRef"), data_objects)
    still_referenced = {ref.text.strip() for ref in root.xpath(
        "//bpmn:dataInputAssociation/bpmn:sourceRef | //bpmn:dataInputAssociation/bpmn:targetRef"
        " | //bpmn:dataOutputAssociation/bpmn:sourceRef | //bpmn:dataOutputAssociation/bpmn:targetRef",
        namespaces=NSMAP) if ref.text}
    for store in root.xpath("//bpmn:dataStore | //bpmn:dataStoreReference", namespaces=NSMAP):
        if store.get("id") not in still_referenced:
            store.getparent().remove(store)
    for name in _ACTIVITIES:
        for activity in root.xpath(f"//bpmn:{name}[bpmn:ioSpecification]", namespaces=NSMAP):
            if activity.find("bpmn:multiInstanceLoopCharacteristics", NSMAP) is not None:
                continue
            io_specification = activity.find("bpmn:ioSpecification", NSMAP)
            declared = {item.get("id") for item in io_specification.xpath(
                "bpmn:dataInput | bpmn:dataOutput", namespaces=NSMAP)}
            if not declared & still_referenced:
                activity.remove(io_specification)


def _refs(association, tag):
    return [ref.text.strip() for ref in association.findall(f"bpmn:{tag}", NSMAP) if ref.text]


def _drop_if_plain(association, refs, data_objects):
    transforms = association.find("bpmn:transformation", NSMAP) is not None or \
        association.find("bpmn:assignment", NSMAP) is not None
    if not transforms and not any(ref in data_objects for ref in refs):
        association.getparent().remove(association)
