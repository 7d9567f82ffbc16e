"""What Maestro does not run: element kinds, event subprocess triggers and listeners.

Refused rather than skipped, so no part of a diagram is silently left out.
"""
from engine.namespaces import NSMAP, event_definitions, local_name
from engine.read.elements import event_subprocess_trigger

from .located import owner, problem_at

UNSUPPORTED = {
    "businessRuleTask": "business rule tasks (DMN) are not supported yet",
    "complexGateway": "complex gateways are not supported",
}


def unsupported_elements(root, file_name):
    errors = {e.get("id"): {"error_code": e.get("errorCode")} for e in root.iter(f"{{{NSMAP['bpmn']}}}error")}
    for node in root.iter(f"{{{NSMAP['bpmn']}}}*"):
        name = local_name(node)
        if name in UNSUPPORTED:
            yield problem_at(file_name, node, UNSUPPORTED[name])
        if name == "subProcess" and node.get("triggeredByEvent") == "true":
            kind, _ = event_subprocess_trigger(node, errors)
            if kind == "none":
                yield problem_at(file_name, node, "the start event of this event subprocess has no trigger: give it "
                                                  "an event definition (error, message, timer, signal, compensation)")
            elif kind in ("escalation", "conditional"):
                yield problem_at(file_name, node, f"{kind} event subprocesses are not supported: "
                                                  "Maestro would not run them with their BPMN meaning")
        if name == "boundaryEvent" and not event_definitions(node):
            yield problem_at(file_name, node, "boundary event without a trigger: give it an event definition "
                                              "(timer, error, message, signal, compensation...) or remove it")


LISTENERS = [f"{{{NSMAP[tool]}}}{kind}" for tool in ("camunda", "zeebe")
             for kind in ("executionListener", "taskListener")]


def listeners(root, file_name):
    """Maestro runs no execution or task listeners; a listener that does something would be skipped
    without a word, so it is refused like a script Maestro cannot run."""
    for listener in root.iter(*LISTENERS):
        implementation = _listener_implementation(listener)
        if implementation is None:
            continue
        tool = "camunda" if listener.tag.startswith(f"{{{NSMAP['camunda']}}}") else "zeebe"
        yield problem_at(file_name, listener, f"{tool}:{local_name(listener)} ({implementation}) would not run: "
                                              "Maestro does not run execution or task listeners; do that work in a "
                                              "service task (bound to a Python handler) or a script task",
                         owner(listener).get("id", ""))


def _listener_implementation(listener):
    """What the listener runs, in words (a class, an expression, a script, a job type), or None."""
    for attribute in ("class", "delegateExpression", "expression", "type"):
        if (listener.get(attribute) or "").strip():
            return f"{attribute} '{listener.get(attribute).strip()}'"
    script = listener.find(f"{{{NSMAP['camunda']}}}script")
    if script is not None:
        return f"{script.get('scriptFormat') or 'a'} script"
    return None
