"""Conditions and message expressions compiled at deploy, so one that does not parse is refused before an
instance reaches it."""
from engine.namespaces import NSMAP
from engine.sandbox.expressions import ExpressionError, compile_expression

from .located import owner, problem_at


def condition_expressions(root, file_name):
    for node in root.iter(f"{{{NSMAP['bpmn']}}}conditionExpression", f"{{{NSMAP['bpmn']}}}condition"):
        text = (node.text or "").strip()
        if not text:
            continue
        yield from _unparsable(file_name, node, text)


def message_expressions(root, file_name):
    """Correlation keys (zeebe:subscription), payloads (spiffworkflow:messagePayload) and the expressions of
    a message throw's input mappings, which make its payload (engine.read.message_details)."""
    found = [(node, node.get("correlationKey")) for node in root.iter(f"{{{NSMAP['zeebe']}}}subscription")]
    found += [(node, node.text) for node in root.iter(f"{{{NSMAP['spiffworkflow']}}}messagePayload")]
    for throw in _message_throws(root):
        found += [(node, node.get("source")) for node in throw.iter(f"{{{NSMAP['zeebe']}}}input")
                  if (node.get("source") or "").strip().startswith("=")]
        found += [(node, node.text) for node in throw.iter(f"{{{NSMAP['camunda']}}}inputParameter")
                  if "${" in (node.text or "") or "#{" in (node.text or "")]
    for node, text in found:
        text = (text or "").strip()
        if text:
            yield from _unparsable(file_name, node, text)


def _unparsable(file_name, node, text):
    """The problem of an expression that does not parse, at `node` and its nearest element with an id
    (a conditional event's definition, an extension element have none)."""
    try:
        compile_expression(text)
    except ExpressionError as error:
        yield problem_at(file_name, node, f"expression {text!r} does not parse: {error.message}",
                         owner(node).get("id", ""))


def _message_throws(root):
    """Send tasks, and throw and end events that send a message."""
    yield from root.iter(f"{{{NSMAP['bpmn']}}}sendTask")
    for tag in ("intermediateThrowEvent", "endEvent"):
        for event in root.iter(f"{{{NSMAP['bpmn']}}}{tag}"):
            if event.find("bpmn:messageEventDefinition", NSMAP) is not None:
                yield event
