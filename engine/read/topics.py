"""Which handler topic a service task binds to (DESIGN.md, "Topic of a service task")."""
import re

from engine.namespaces import CAMUNDA, NSMAP

_BEAN = re.compile(r"^\s*[$#]\{\s*([A-Za-z_][\w]*)")


def explicit_topic(node):
    """The topic a modeler wrote down, or None when the task names none of its own."""
    topic = node.get(f"{{{CAMUNDA}}}topic")
    if topic:
        return topic
    for definition in node.xpath("./bpmn:extensionElements/zeebe:taskDefinition", namespaces=NSMAP):
        if definition.get("type"):
            return definition.get("type")
    for operator in node.xpath("./bpmn:extensionElements/spiffworkflow:serviceTaskOperator", namespaces=NSMAP):
        if operator.get("id"):
            return operator.get("id")
    for attribute in ("delegateExpression", "expression"):
        match = _BEAN.match(node.get(f"{{{CAMUNDA}}}{attribute}") or "")
        if match:
            return match.group(1)
    class_name = node.get(f"{{{CAMUNDA}}}class")
    if class_name:
        return class_name.strip().rsplit(".", 1)[-1]
    return None


def snake_case(name):
    words = re.findall(r"[A-Za-z0-9]+", name)
    spaced = " ".join(re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", word) for word in words)
    return "_".join(spaced.lower().split())


def fallback_topics(node):
    """Topics tried, in order, when no explicit topic is given: the id, then the name."""
    topics = [node.get("id")]
    if node.get("name"):
        topics.append(snake_case(node.get("name")))
    return [t for t in topics if t]
