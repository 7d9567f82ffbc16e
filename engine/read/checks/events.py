"""Events and what they name: declared errors, messages and signals, and end events that need a context."""
from engine.namespaces import NSMAP, local_name

from .located import problem_at

REFERENCES = {  # event definition -> (attribute, element it names)
    "errorEventDefinition": ("errorRef", "error"),
    "escalationEventDefinition": ("escalationRef", "escalation"),
    "messageEventDefinition": ("messageRef", "message"),
    "signalEventDefinition": ("signalRef", "signal"),
}


NAMED_BY = {"message", "signal"}  # matched by name at run time, so a name is needed


def dangling_references(root, file_name):
    declared = {}
    for _, (_, kind) in REFERENCES.items():
        declared[kind] = {node.get("id"): node for node in root.iter(f"{{{NSMAP['bpmn']}}}{kind}")}
    for definition_name, (attribute, kind) in REFERENCES.items():
        for definition in root.iter(f"{{{NSMAP['bpmn']}}}{definition_name}"):
            ref = definition.get(attribute)
            event = definition.getparent()
            if ref and ref not in declared[kind]:
                yield problem_at(file_name, event, f"{attribute} '{ref}' names no <{kind}> declared in the file: "
                                                   f"declare the {kind} or pick an existing one")
            elif ref and kind in NAMED_BY and not declared[kind][ref].get("name"):
                yield problem_at(file_name, event, f"the {kind} '{ref}' has no name: give it one "
                                                   f"(Maestro matches {kind}s by name)")


def event_definition_refs(root, file_name):
    """The references engine.read.exports.event_definition_refs could not resolve (it inlines the others)."""
    for ref in root.iter(f"{{{NSMAP['bpmn']}}}eventDefinitionRef"):
        yield problem_at(file_name, ref.getparent(), f"eventDefinitionRef '{(ref.text or '').strip()}' names no "
                                                     "event definition declared in the file: declare it under "
                                                     "<definitions> or define it inside the event")


def cancel_end_events(root, file_name):
    """A cancel end event cancels the transaction subprocess it is in (BPMN 10.5.4); anywhere else it
    has no transaction to cancel, so Maestro could not give it a meaning (Camunda 7 refuses it too)."""
    for definition in root.iter(f"{{{NSMAP['bpmn']}}}cancelEventDefinition"):
        event = definition.getparent()
        if local_name(event) == "endEvent" and local_name(event.getparent()) != "transaction":
            yield problem_at(file_name, event, "cancel end event outside a transaction: it can only end a "
                                               "transaction subprocess; move it into one, or make it a plain end "
                                               "event (or an error end event caught by a boundary event)")


def error_end_events(root, file_name, force_executable=False):
    """An error end event throws one specific error (BPMN 10.5.4; Camunda 7 refuses it otherwise): without
    an errorCode, catch-all handlers would catch it and coded ones never could. Only processes that will
    run are checked: documentation models (isExecutable="false") only when forced to run. Error catch
    events without errorRef are fine: they catch every error."""
    codes = {e.get("id"): (e.get("errorCode") or "").strip() for e in root.iter(f"{{{NSMAP['bpmn']}}}error")}
    for end in root.iter(f"{{{NSMAP['bpmn']}}}endEvent"):
        if not _will_run(end, force_executable):
            continue
        for definition in end.iter(f"{{{NSMAP['bpmn']}}}errorEventDefinition"):
            ref = definition.get("errorRef")
            if not ref:
                yield problem_at(file_name, end, "error end event without an error: set its errorRef to an "
                                                 "<error> with an errorCode (the code boundary events catch it by)")
            elif ref in codes and not codes[ref]:  # an undeclared one is dangling_references' to report
                yield problem_at(file_name, end, f"the error '{ref}' this end event throws has no errorCode: give "
                                                 "it one (the code boundary events catch it by)")


def _will_run(node, force_executable):
    """Whether the process holding `node` is run: marked executable (the default), or forced to be."""
    process = next(node.iterancestors(f"{{{NSMAP['bpmn']}}}process"), None)
    return force_executable or process is None or process.get("isExecutable", "true") == "true"
