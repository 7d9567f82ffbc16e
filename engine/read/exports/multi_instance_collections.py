"""Camunda 7's multi-instance collections, read as the BPMN loop data they stand for.

Camunda 7 writes the list a multi-instance activity runs over as
`camunda:collection` (a variable name, or an expression such as `${items}`)
and the per-instance variable as `camunda:elementVariable`, where BPMN has
`loopDataInputRef` and `inputDataItem`. SpiffWorkflow runs only the BPMN
form, and would refuse the Camunda one as having neither a cardinality nor an
input. So before parsing, the Camunda attributes become those elements. As in
Camunda 7, the BPMN elements win where an activity has both, and a
`loopDataInputRef` written as `${items}` names the variable `items`.

What Maestro cannot run with Camunda's meaning is refused with the element
and its line: a collection computed by an expression other than a plain
variable, a collection together with a loopCardinality (Camunda would run
the cardinality's count over the list's elements by index), an element
variable without a collection, and completion conditions that read Camunda's
instance counters (nrOfInstances, nrOfActiveInstances, nrOfCompletedInstances,
loopCounter), which Maestro does not set.
"""
import re

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from engine.namespaces import BPMN, CAMUNDA, NSMAP, local_name, tag

_COLLECTION = tag("collection", CAMUNDA)
_ELEMENT_VARIABLE = tag("elementVariable", CAMUNDA)
_PLAIN_VARIABLE = re.compile(r"^\s*[$#]\{\s*([A-Za-z_]\w*)\s*\}\s*$")
_COUNTERS = re.compile(r"\b(nrOfInstances|nrOfActiveInstances|nrOfCompletedInstances|loopCounter)\b")
# What precedes the loop data in a multiInstanceLoopCharacteristics (BPMN 2.0.2 XML schema order).
_LEADING = ("documentation", "extensionElements", "loopCardinality")


def read_camunda_collections(root) -> None:
    """Rewrites, in place, camunda:collection/elementVariable into loopDataInputRef/inputDataItem.

    Raises ValidationException naming the activity for what cannot be run as Camunda would.
    """
    for loop in list(root.iter(tag("multiInstanceLoopCharacteristics"))):
        activity = loop.getparent()
        _refuse_counters(loop, activity)
        _read_collection(loop, activity)
        _read_element_variable(loop, activity)


def variable_of_collection(text: str | None) -> str | None:
    """The variable a collection names: `items` and `${items}` name `items`; None for other expressions."""
    text = (text or "").strip()
    if "{" not in text:
        return text or None
    match = _PLAIN_VARIABLE.match(text)
    return match.group(1) if match else None


def _read_collection(loop, activity):
    collection = loop.attrib.pop(_COLLECTION, None)
    reference = loop.find("bpmn:loopDataInputRef", NSMAP)
    if reference is not None:  # BPMN's own element wins, as in Camunda 7
        if "{" in (reference.text or ""):
            reference.text = _variable(reference.text, activity, "loopDataInputRef")
        return
    if collection is None:
        return
    if loop.find("bpmn:loopCardinality", NSMAP) is not None:
        raise ValidationException(
            "multi-instance with both a collection and a loopCardinality: Camunda runs the cardinality's "
            "count over the collection's elements by index, which Maestro does not; remove one of them",
            node=activity)
    reference = etree.Element(tag("loopDataInputRef"))
    reference.text = _variable(collection, activity, "collection")
    loop.insert(_position_after_leading(loop), reference)


def _variable(text, activity, what):
    variable = variable_of_collection(text)
    if variable is None:
        raise ValidationException(
            f"{what} {(text or '').strip()!r} names no process variable: Maestro iterates over a variable "
            "holding the list (`items` or `${items}`), not over what an expression computes; "
            "compute the list into a variable in an earlier step", node=activity)
    return variable


def _read_element_variable(loop, activity):
    variable = loop.attrib.pop(_ELEMENT_VARIABLE, None)
    if variable is None or loop.find("bpmn:inputDataItem", NSMAP) is not None:
        return  # BPMN's inputDataItem wins, as in Camunda 7
    if loop.find("bpmn:loopDataInputRef", NSMAP) is None:
        raise ValidationException(
            f"elementVariable '{variable}' without a collection: set the collection "
            "to the variable holding the list", node=activity)
    if _element_with_id(activity, variable):
        raise ValidationException(
            f"elementVariable '{variable}' is also the id of an element of this file; Maestro "
            "declares the element variable under that id: rename the variable or the element", node=activity)
    item = etree.Element(tag("inputDataItem"), id=variable, name=variable)
    reference = loop.find("bpmn:loopDataOutputRef", NSMAP)
    if reference is None:
        reference = loop.find("bpmn:loopDataInputRef", NSMAP)
    reference.addnext(item)


def _element_with_id(activity, element_id):
    """Whether an element other than a data item (which several loops may name alike) has that id."""
    return bool(activity.xpath("//bpmn:*[@id=$id][not(self::bpmn:inputDataItem or self::bpmn:outputDataItem)]",
                               namespaces=NSMAP, id=element_id))


def _refuse_counters(loop, activity):
    condition = loop.find("bpmn:completionCondition", NSMAP)
    found = _COUNTERS.search(condition.text or "") if condition is not None else None
    if found:
        raise ValidationException(
            f"completion condition reads '{found.group(1)}', a counter Camunda sets and Maestro does not: "
            "decide from the instances' own variables (the element variable, or what a handler returns)",
            node=activity)


def _position_after_leading(loop):
    """Where loopDataInputRef goes: after the children the schema puts before it."""
    position = 0
    for index, child in enumerate(loop):
        if child.tag.startswith(f"{{{BPMN}}}") and local_name(child) in _LEADING:
            position = index + 1
    return position
