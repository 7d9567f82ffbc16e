"""Who a user task is for, when it is due and how urgent it is, as the modelers write it.

Camunda 7 puts it in attributes of the userTask (`camunda:assignee`, `camunda:candidateUsers`,
`camunda:candidateGroups`, `camunda:dueDate`, `camunda:followUpDate`, `camunda:priority`);
Camunda 8 in extension elements (`zeebe:assignmentDefinition`, `zeebe:taskSchedule`,
`zeebe:priorityDefinition`); plain BPMN in `humanPerformer` and `potentialOwner` with a
`resourceAssignmentExpression/formalExpression` (a name, or `user(x)` / `group(y)`, as Camunda 7
reads it). Values stay text here: an expression among them is evaluated when the task becomes
ready (engine.run.assignment).
"""
import re

from engine.namespaces import CAMUNDA, NSMAP, local_name
from engine.run.assignment import split_list

FIELDS = ("assignee", "candidate_users", "candidate_groups", "due", "follow_up", "priority")
# The attribute each field is read from, for messages that name it.
CAMUNDA_ATTRIBUTES = {"assignee": "camunda:assignee", "candidate_users": "camunda:candidateUsers",
                      "candidate_groups": "camunda:candidateGroups", "due": "camunda:dueDate",
                      "follow_up": "camunda:followUpDate", "priority": "camunda:priority"}
ZEEBE_ATTRIBUTES = {"assignee": "zeebe:assignmentDefinition assignee",
                    "candidate_users": "zeebe:assignmentDefinition candidateUsers",
                    "candidate_groups": "zeebe:assignmentDefinition candidateGroups",
                    "due": "zeebe:taskSchedule dueDate", "follow_up": "zeebe:taskSchedule followUpDate",
                    "priority": "zeebe:priorityDefinition priority"}
_PERFORMER = re.compile(r"^\s*(user|group)\s*\((.*)\)\s*$")


def assignment_of(node) -> dict | None:
    """{"assignee", "candidate_users", "candidate_groups", "due", "follow_up", "priority", "attributes",
    "dialect"} of a userTask element (texts, lists of texts; None or [] where absent), or None when it
    says none of them. `attributes` names where each came from; `dialect` is "zeebe" for Camunda 8,
    whose static priorities run 0 to 100."""
    if local_name(node) != "userTask":
        return None
    found: dict = {"assignee": None, "candidate_users": [], "candidate_groups": [], "due": None,
                   "follow_up": None, "priority": None}
    attributes: dict = {}
    dialect = "camunda"
    _camunda(node, found, attributes)
    if _zeebe(node, found, attributes):
        dialect = "zeebe"
    _performers(node, found, attributes)
    if not any(found.values()):
        return None
    return {**found, "attributes": attributes, "dialect": dialect}


def _set(found, attributes, field, value, where):
    if value is None or not value.strip():
        return
    if field.startswith("candidate_"):
        found[field] = found[field] + split_list(value)
    else:
        found[field] = value.strip()
    attributes[field] = where


def _camunda(node, found, attributes):
    names = {"assignee": "assignee", "candidate_users": "candidateUsers", "candidate_groups": "candidateGroups",
             "due": "dueDate", "follow_up": "followUpDate", "priority": "priority"}
    for field, name in names.items():
        _set(found, attributes, field, node.get(f"{{{CAMUNDA}}}{name}"), CAMUNDA_ATTRIBUTES[field])


def _zeebe(node, found, attributes):
    """Reads the Camunda 8 elements; True when the task has any of them."""
    read = False
    parts = {"assignmentDefinition": {"assignee": "assignee", "candidate_users": "candidateUsers",
                                      "candidate_groups": "candidateGroups"},
             "taskSchedule": {"due": "dueDate", "follow_up": "followUpDate"},
             "priorityDefinition": {"priority": "priority"}}
    for element, names in parts.items():
        for found_element in node.xpath(f"./bpmn:extensionElements/zeebe:{element}", namespaces=NSMAP):
            read = True
            for field, name in names.items():
                _set(found, attributes, field, found_element.get(name), ZEEBE_ATTRIBUTES[field])
    return read


def _performers(node, found, attributes):
    """humanPerformer names the assignee; potentialOwner the candidates (a plain name is a group, as
    Camunda 7 has it)."""
    for kind in ("humanPerformer", "potentialOwner"):
        path = f"./bpmn:{kind}/bpmn:resourceAssignmentExpression/bpmn:formalExpression"
        for expression in node.xpath(path, namespaces=NSMAP):
            for item in split_list(expression.text or ""):
                match = _PERFORMER.match(item)
                which, name = (match.group(1), match.group(2).strip()) if match else (None, item)
                if kind == "humanPerformer":
                    field = "assignee"
                else:
                    field = "candidate_users" if which == "user" else "candidate_groups"
                _set(found, attributes, field, name, f"{kind} formalExpression")
