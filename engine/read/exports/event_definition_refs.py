"""eventDefinitionRef: events that use an event definition declared once for the whole file.

BPMN lets a file declare an event definition as a child of <definitions> and
have events name it with <eventDefinitionRef> instead of nesting their own.
SpiffWorkflow reads only nested definitions and would take such an event for
a none event. So before parsing, each reference is replaced by a copy of the
definition it names; the event then means what the modeler drew. A reference
naming nothing declared is left in place for engine.read.checks to refuse.
"""
import copy

from engine.namespaces import NSMAP


def inline_event_definition_refs(root):
    """Replaces, in place, every resolvable eventDefinitionRef by the definition it names."""
    declared = {node.get("id"): node for node in root.findall("bpmn:*", NSMAP)
                if node.tag.endswith("EventDefinition") and node.get("id")}
    for ref in root.xpath("//bpmn:eventDefinitionRef", namespaces=NSMAP):
        definition = declared.get((ref.text or "").strip())
        if definition is None:
            continue
        inlined = copy.deepcopy(definition)
        del inlined.attrib["id"]  # several events may name one definition; ids stay unique
        inlined.tail = ref.tail
        ref.getparent().replace(ref, inlined)
