"""Compensation as BPMN draws it (10.5.6): which activity undoes which, and what an undo may name."""
from engine.namespaces import ACTIVITIES, NSMAP, local_name
from engine.read.elements import compensation_handler_of, is_compensation_boundary
from engine.read.exports.element_ids import bpmn_element

from .located import problem_at


def compensation_references(root, file_name):
    """A compensation boundary event names its undo, and a compensation throw an activity of its scope."""
    for node in root.iter(f"{{{NSMAP['bpmn']}}}boundaryEvent"):
        if not is_compensation_boundary(node):
            continue
        handler_id = compensation_handler_of(node)
        handler = bpmn_element(root, handler_id) if handler_id else None
        if handler is None:
            yield problem_at(file_name, node, "compensation boundary event has no associated compensation activity "
                                              "(draw an association to a task marked isForCompensation)")
        elif handler.get("isForCompensation") != "true":
            yield problem_at(file_name, node, f"the activity '{handler_id}' associated with this compensation "
                                              "boundary event is not marked isForCompensation=\"true\" and has "
                                              "sequence flows: an undo runs only to compensate, so mark it and "
                                              "remove its flows")
    for definition in root.iter(f"{{{NSMAP['bpmn']}}}compensateEventDefinition"):
        event = definition.getparent()
        ref = definition.get("activityRef")
        if not ref or local_name(event) in ("boundaryEvent", "startEvent"):
            continue
        target = bpmn_element(root, ref)
        if target is None or local_name(target) not in ACTIVITIES:
            yield problem_at(file_name, event, f"compensation activityRef '{ref}' names no activity")
        elif not any(target.getparent() is scope for scope in _scopes_of(event)):
            yield problem_at(file_name, event, f"compensation activityRef '{ref}' names an activity of another "
                                               "scope; BPMN compensates only activities of the throwing event's "
                                               "own scope (or, inside an event subprocess, of the scope that "
                                               "holds it)")


def _scopes_of(event):
    """The processes or subprocesses whose activities a throw event may name: its own, and inside
    an event subprocess also the scope the event subprocess belongs to (BPMN 10.5.6)."""
    scope = event.getparent()
    if local_name(scope) in ("subProcess", "transaction") and scope.get("triggeredByEvent") == "true":
        return [scope, scope.getparent()]
    return [scope]


def compensation_activity_flows(root, file_name):
    """An activity marked isForCompensation runs only to undo another (BPMN 10.5.6): a flow into it
    would run the undo as ordinary work, a flow out of it would carry on after an undo."""
    flows = {}
    for flow in root.iter(f"{{{NSMAP['bpmn']}}}sequenceFlow"):
        flows.setdefault(flow.get("targetRef"), []).append(f"incoming '{flow.get('id')}'")
        flows.setdefault(flow.get("sourceRef"), []).append(f"outgoing '{flow.get('id')}'")
    for node in root.iter(f"{{{NSMAP['bpmn']}}}*"):
        if node.get("isForCompensation") == "true" and node.get("id") in flows:
            yield problem_at(file_name, node, f"compensation activity (isForCompensation=\"true\") with sequence "
                                              f"flows ({', '.join(flows[node.get('id')])}): it runs only to undo "
                                              "the activity whose compensation boundary event is associated with "
                                              "it; remove its flows, or unmark it to run it as ordinary work")
