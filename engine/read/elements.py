"""What some BPMN elements mean, read one way by every pass that needs it.

The export normalisers, the document checks and the parser all ask which
elements take part in the sequence flow, which boundary events install a
compensation handler and which activity that handler is, and what starts an
event subprocess. The answers live here, below all three, so none of them
imports another to ask.
"""
from lxml import etree
from SpiffWorkflow.bpmn.parser.util import full_tag

from engine.namespaces import ACTIVITIES, local_name

FLOW_NODES = ACTIVITIES | {
    "startEvent", "intermediateCatchEvent", "intermediateThrowEvent", "endEvent",
    "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway",
}


def is_compensation_boundary(node: etree._Element) -> bool:
    return local_name(node) == "boundaryEvent" and node.find(full_tag("compensateEventDefinition")) is not None


def compensation_handler_of(boundary: etree._Element) -> str | None:
    """The id of the activity associated with a compensation boundary event, or None."""
    root = boundary.getroottree().getroot()
    boundary_id = boundary.get("id")
    for association in root.iter(full_tag("association")):
        source, target = association.get("sourceRef"), association.get("targetRef")
        if source == boundary_id:
            return target
        if target == boundary_id:  # drawn the other way round
            return source
    return None


def event_subprocess_trigger(node: etree._Element, errors: dict) -> tuple[str | None, str | None]:
    """(kind, code) of an event subprocess's start event: kind is error, compensation, ..."""
    start = node.find(full_tag("startEvent"))
    if start is None:
        return None, None
    for definition in start:
        kind = local_name(definition).replace("EventDefinition", "")
        if kind == "error":
            error = errors.get(definition.get("errorRef") or "", {})
            return "error", error.get("error_code")
        if kind == "compensate":
            return "compensation", None
        if kind in ("escalation", "message", "signal", "timer", "conditional"):
            return kind, None
    return "none", None
