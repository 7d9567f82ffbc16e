"""Compensation activities drawn without their isForCompensation flag, marked as BPMN has them.

Some tools (OMNITRACKER) draw the association from a compensation boundary
event to its undo activity but leave the activity's isForCompensation flag
out. An activity with no sequence flows of its own, reached only through
that association, can only be the undo, so it is marked; one with flows
stays unmarked and is refused by engine.read.checks.
"""
from lxml import etree
from SpiffWorkflow.bpmn.parser.util import full_tag

from engine.namespaces import ACTIVITIES, local_name
from engine.read.elements import compensation_handler_of, is_compensation_boundary

from .element_ids import bpmn_element


def mark_associated_compensation_handlers(root: etree._Element) -> None:
    """Marks, in place, the activities described above as isForCompensation."""
    flows = root.iter(full_tag("sequenceFlow"))
    connected = {ref for flow in flows for ref in (flow.get("sourceRef"), flow.get("targetRef"))}
    for boundary in root.iter(full_tag("boundaryEvent")):
        handler_id = is_compensation_boundary(boundary) and compensation_handler_of(boundary)
        if not handler_id or handler_id in connected:
            continue
        handler = bpmn_element(root, handler_id)
        if handler is not None and local_name(handler) in ACTIVITIES and handler.get("isForCompensation") != "true":
            handler.set("isForCompensation", "true")
