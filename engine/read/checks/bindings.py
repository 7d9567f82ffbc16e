"""Handlers against the diagrams (lint only): every service task bound, no topic bound twice, none unused."""
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


def check_bindings(roots: dict[str, etree._Element], handlers: Handlers) -> list[Problem]:
    """Unbound service tasks, topics bound twice, and handlers no diagram uses, across the files {name: root}."""
    problems: list[Problem] = []
    used: set[str] = set()
    for file_name, root in roots.items():
        for node in service_nodes(root):
            topic = explicit_topic(node)
            candidates = [topic] if topic else fallback_topics(node)
            used.update(candidates)
            if any(handlers.task_for(t) for t in candidates):
                continue
            if node.get("isForCompensation") == "true" and not topic:
                undone = compensated_activity(root, node)
                undo_topics = ([explicit_topic(undone)] if undone is not None and explicit_topic(undone) else []) + \
                              (fallback_topics(undone) if undone is not None else [])
                used.update(undo_topics)
                if any(handlers.undo_for(t) for t in undo_topics):
                    continue
            shown = topic or " or ".join(f"'{t}'" for t in candidates)
            shown = f"'{shown}'" if topic else shown
            problems.append(problem_at(file_name, node, f"no handler is bound to topic {shown}"))
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
