"""Element ids as SpiffWorkflow needs them, whatever ids a tool wrote.

SpiffWorkflow finds a process's elements through their ids, and names each
task spec after its element's id. Three things a valid BPMN file may do break
that, and are mended here before it parses:

- A sequence flow without an id (the attribute is optional in the BPMN 2.0.2
  schema; engines' own test files omit it) is never indexed, so the flow is
  silently dropped. It gets an id made from its source and target, the same
  at every parse, so replay and history hold.
- Extension elements may carry ids too (Spiff Arena writes
  `<spiffworkflow:serviceTaskOperator id="pay"/>` inside the task `pay`);
  only BPMN elements may be found by id (`bpmn_element`, and the process
  parser's index in engine.read.parser).
- An element whose id is one of SpiffWorkflow's own task names (`Start`,
  `End`, ...) would be taken for that internal task. The tree handed to
  SpiffWorkflow calls such an element by another name (`spec_safe_copy`); the
  task spec keeps the element's real id as its bpmn_id (`original_id`), so
  history, the diagram and messages show what the file says.
"""
import re
from copy import deepcopy

from lxml import etree

from engine.namespaces import BPMN, NSMAP, local_name
from engine.read.elements import FLOW_NODES

# Task spec names SpiffWorkflow or Maestro's parser give their own tasks.
RESERVED = frozenset({"Start", "End", "Root", "StartEventSplit", "StartEventJoin"})
RESERVED_SUFFIXES = (".EndJoin", ".BoundaryEventSplit", ".BoundaryEventJoin", " [child]", ".compensation",
                     ".ConditionalFlows")
RENAMED = " (element)"  # what a reserved id becomes in the tree SpiffWorkflow reads

# Attributes and child elements that refer to a flow element by id.
REFERENCE_ATTRIBUTES = ("sourceRef", "targetRef", "attachedToRef", "default", "activityRef", "bpmnElement")
REFERENCE_ELEMENTS = ("incoming", "outgoing", "flowNodeRef")


def bpmn_element(root, element_id):
    """The BPMN element (never an extension element) with that id, or None."""
    if not element_id:
        return None
    found = root.xpath("//bpmn:*[@id=$id]", namespaces=NSMAP, id=element_id)
    return found[0] if found else None


def name_unnamed_flows(root: etree._Element) -> None:
    """Gives every sequence flow without an id one, in place: `Flow_<source>_<target>`, numbered
    when taken, in document order (so the same file always gets the same ids)."""
    taken = {node.get("id") for node in root.iter() if node.get("id")}
    for flow in root.iter(f"{{{BPMN}}}sequenceFlow"):
        if flow.get("id"):
            continue
        base = f"Flow_{flow.get('sourceRef')}_{flow.get('targetRef')}"
        candidate, number = base, 1
        while candidate in taken:
            number += 1
            candidate = f"{base}_{number}"
        flow.set("id", candidate)
        taken.add(candidate)


def is_reserved(element_id: str | None) -> bool:
    return bool(element_id) and (element_id in RESERVED or element_id.endswith(RESERVED_SUFFIXES))


def original_id(spec_name: str | None) -> str | None:
    """The element id a task spec name stands for (the name itself unless it was renamed)."""
    if spec_name and spec_name.endswith(RENAMED):
        return spec_name[:-len(RENAMED)]
    return spec_name


def spec_safe_copy(root: etree._Element) -> etree._Element:
    """The tree SpiffWorkflow may read: `root` itself, or, when a flow element's id is a
    reserved task name, a copy in which it and every reference to it are renamed."""
    reserved = {node.get("id") for node in root.iter(f"{{{BPMN}}}*")
                if is_reserved(node.get("id")) and local_name(node) in FLOW_NODES | {"boundaryEvent"}}
    if not reserved:
        return root
    copy = deepcopy(root)  # keeps source lines
    for node in copy.iter():
        if not isinstance(node.tag, str):
            continue
        for attribute in ("id", *REFERENCE_ATTRIBUTES):
            if node.get(attribute) in reserved:
                node.set(attribute, node.get(attribute) + RENAMED)
        if local_name(node) in REFERENCE_ELEMENTS and (node.text or "").strip() in reserved:
            node.text = node.text.strip() + RENAMED
    return copy


_RENAMED_IN_MESSAGE = re.compile(re.escape(RENAMED))


def in_original_words(message: str) -> str:
    """A SpiffWorkflow message with renamed ids said as the file has them."""
    return _RENAMED_IN_MESSAGE.sub("", message)
