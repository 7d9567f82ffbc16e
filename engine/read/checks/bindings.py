"""Handlers against the diagrams: every service task bound (deploy through a server, lint), and for lint
of a processes folder also no topic bound twice and no handler left unused."""
from collections.abc import Iterator

from lxml import etree

from engine.handlers import Handlers
from engine.namespaces import NSMAP, local_name
from engine.problems import Problem
from engine.read.elements import compensation_handler_of, is_compensation_boundary
from engine.read.exports.element_ids import bpmn_element
from engine.read.topics import explicit_topic, fallback_topics

from .located import problem_at


def service_nodes(root: etree._Element) -> Iterator[etree._Element]:
    """Service tasks and compensation activities: the elements a handler binds to."""
    for node in root.iter(f"{{{NSMAP['bpmn']}}}serviceTask", f"{{{NSMAP['bpmn']}}}task"):
        if local_name(node) == "serviceTask" or node.get("isForCompensation") == "true":
            yield node


def compensated_activity(root: etree._Element, handler_node: etree._Element) -> etree._Element | None:
    """The activity a compensation handler undoes (through its boundary event), or None."""
    for boundary in root.iter(f"{{{NSMAP['bpmn']}}}boundaryEvent"):
        if is_compensation_boundary(boundary) and compensation_handler_of(boundary) == handler_node.get("id"):
            return bpmn_element(root, boundary.get("attachedToRef"))
    return None


def task_topics(node: etree._Element) -> list[str]:
    """The topics a task handler may bind `node` by: its explicit topic, else its id then its snake_case name."""
    topic = explicit_topic(node)
    return [topic] if topic else fallback_topics(node)


def undo_topics(root: etree._Element, node: etree._Element) -> list[str]:
    """For a compensation activity naming no topic of its own: the topics of the activity it undoes, whose
    undo handler runs it (engine.run.runtime). Empty for any other node."""
    if node.get("isForCompensation") != "true" or explicit_topic(node):
        return []
    undone = compensated_activity(root, node)
    return task_topics(undone) if undone is not None else []


def unbound_service_tasks(roots: dict[str, etree._Element], handlers: Handlers) -> list[Problem]:
    """The service tasks and compensation activities of the files {name: root} that no handler binds."""
    problems: list[Problem] = []
    for file_name, root in roots.items():
        for node in service_nodes(root):
            if _is_bound(root, node, handlers):
                continue
            topic = explicit_topic(node)
            shown = f"'{topic}'" if topic else " or ".join(f"'{t}'" for t in fallback_topics(node))
            problems.append(problem_at(file_name, node, f"no handler is bound to topic {shown}"))
    return problems


def _is_bound(root: etree._Element, node: etree._Element, handlers: Handlers) -> bool:
    return any(handlers.task_for(t) for t in task_topics(node)) or \
        any(handlers.undo_for(t) for t in undo_topics(root, node))


def check_bindings(roots: dict[str, etree._Element], handlers: Handlers) -> list[Problem]:
    """Unbound service tasks, topics bound twice, and handlers no diagram uses, across the files {name: root}:
    lint of a processes folder, whose handlers serve those diagrams only."""
    problems = unbound_service_tasks(roots, handlers)
    used: set[str] = set()
    for root in roots.values():
        for node in service_nodes(root):
            used.update(task_topics(node))
            if not any(handlers.task_for(t) for t in task_topics(node)):  # the undo's topics count then only
                used.update(undo_topics(root, node))
    for first, second in handlers.duplicates:
        file_name, _, line = second.location.rpartition(":")
        problems.append(Problem(file_name, int(line) if line.isdigit() else 0, second.topic,
                                f"topic '{second.topic}' is bound twice (also at {first.location})"))
    for table in (handlers.tasks, handlers.undos):
        for topic, binding in table.items():
            if topic not in used:
                file_name, _, line = binding.location.rpartition(":")
                problems.append(Problem(file_name, int(line) if line.isdigit() else 0, topic,
                                        f"handler for topic '{topic}' binds no service task of the diagrams"))
    return problems
