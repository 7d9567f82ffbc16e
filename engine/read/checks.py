"""Static checks over a BPMN document: what Maestro cannot run, found before running.

Each check yields every problem it finds (the parser stops at the first), so
lint can list them all with their lines.
"""
import re
from functools import partial

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.namespaces import ACTIVITIES, NSMAP, event_definitions, local_name
from engine.problems import Problem
from engine.read.exports.element_ids import bpmn_element
from engine.run.handler_limits import PROPERTY, parse_limit
from engine.run.retries import parse_cycle
from engine.sandbox.expressions import ExpressionError, compile_expression
from engine.sandbox.scripts import ScriptError, compile_script

from . import timer_values
from .elements import compensation_handler_of, event_subprocess_trigger, is_compensation_boundary
from .hostile_diagrams import check_hostile
from .topics import explicit_topic, fallback_topics

UNSUPPORTED = {
    "businessRuleTask": "business rule tasks (DMN) are not supported yet",
    "complexGateway": "complex gateways are not supported",
}
PYTHON_SCRIPT_FORMATS = {None, "", "python", "text/python", "text/x-python", "py"}


def check_document(root, file_name, force_executable=False):
    """Every problem of one parsed file; `force_executable` says documentation models will run too."""
    problems = []
    for check in (_unsupported, _compensation, _expressions, _timers, _scripts, _spiff_task_scripts, _retry_cycles,
                  _time_limits,
                  _dangling_references, _event_definition_refs,
                  _compensation_activity_flows, _cancel_end_events, partial(_error_end_events,
                  force_executable=force_executable), _listeners, check_hostile):
        problems.extend(check(root, file_name))
    return problems


def _problem(file_name, node, message, element=None):
    return Problem(file_name, node.sourceline or 0, element if element is not None else node.get("id", ""), message)


def _unsupported(root, file_name):
    errors = {e.get("id"): {"error_code": e.get("errorCode")} for e in root.iter(f"{{{NSMAP['bpmn']}}}error")}
    for node in root.iter(f"{{{NSMAP['bpmn']}}}*"):
        name = local_name(node)
        if name in UNSUPPORTED:
            yield _problem(file_name, node, UNSUPPORTED[name])
        if name == "subProcess" and node.get("triggeredByEvent") == "true":
            kind, _ = event_subprocess_trigger(node, errors)
            if kind == "none":
                yield _problem(file_name, node, "the start event of this event subprocess has no trigger: give it "
                                                "an event definition (error, message, timer, signal, compensation)")
            elif kind in ("escalation", "conditional"):
                yield _problem(file_name, node, f"{kind} event subprocesses are not supported: "
                                                "Maestro would not run them with their BPMN meaning")
        if name == "boundaryEvent" and not event_definitions(node):
            yield _problem(file_name, node, "boundary event without a trigger: give it an event definition "
                                            "(timer, error, message, signal, compensation...) or remove it")


def _compensation(root, file_name):
    for node in root.iter(f"{{{NSMAP['bpmn']}}}boundaryEvent"):
        if not is_compensation_boundary(node):
            continue
        handler_id = compensation_handler_of(node)
        handler = _by_id(root, handler_id) if handler_id else None
        if handler is None:
            yield _problem(file_name, node, "compensation boundary event has no associated compensation activity "
                                            "(draw an association to a task marked isForCompensation)")
        elif handler.get("isForCompensation") != "true":
            yield _problem(file_name, node, f"the activity '{handler_id}' associated with this compensation "
                                            "boundary event is not marked isForCompensation=\"true\" and has "
                                            "sequence flows: an undo runs only to compensate, so mark it and "
                                            "remove its flows")
    for definition in root.iter(f"{{{NSMAP['bpmn']}}}compensateEventDefinition"):
        event = definition.getparent()
        ref = definition.get("activityRef")
        if not ref or local_name(event) in ("boundaryEvent", "startEvent"):
            continue
        target = _by_id(root, ref)
        if target is None or local_name(target) not in ACTIVITIES:
            yield _problem(file_name, event, f"compensation activityRef '{ref}' names no activity")
        elif not any(target.getparent() is scope for scope in _scopes_of(event)):
            yield _problem(file_name, event, f"compensation activityRef '{ref}' names an activity of another scope; "
                                             "BPMN compensates only activities of the throwing event's own scope "
                                             "(or, inside an event subprocess, of the scope that holds it)")


def _scopes_of(event):
    """The processes or subprocesses whose activities a throw event may name: its own, and inside
    an event subprocess also the scope the event subprocess belongs to (BPMN 10.5.6)."""
    scope = event.getparent()
    if local_name(scope) in ("subProcess", "transaction") and scope.get("triggeredByEvent") == "true":
        return [scope, scope.getparent()]
    return [scope]


def _expressions(root, file_name):
    for node in root.iter(f"{{{NSMAP['bpmn']}}}conditionExpression", f"{{{NSMAP['bpmn']}}}condition"):
        text = (node.text or "").strip()
        if not text:
            continue
        owner = _owner(node)  # a conditional event's definition has no id
        try:
            compile_expression(text)
        except ExpressionError as error:
            yield _problem(file_name, node, f"expression {text!r} does not parse: {error.message}", owner.get("id", ""))


TIMER_FORMS = {  # timer element -> (what a literal must be, how SpiffWorkflow reads it)
    "timeDate": ("an ISO 8601 date-time, e.g. 2026-12-24T18:00:00Z", TimerEventDefinition.parse_time_or_duration),
    "timeDuration": ("an ISO 8601 duration, e.g. PT1H or P2D", TimerEventDefinition.parse_iso_duration),
    "timeCycle": ("an ISO 8601 repeating interval, e.g. R3/PT10M", TimerEventDefinition.parse_iso_recurring_interval),
}


CRON = re.compile(r"^[\d*?/,LW#A-Z-]+(\s+[\d*?/,LW#A-Z-]+){4,6}$")


def _timers(root, file_name):
    """Timer values are checked at deploy, not when the timer is reached: a literal must read as its
    kind, anything else must be an expression; cron cycles (Camunda 7 accepts them) are neither."""
    for kind, (expected, read) in TIMER_FORMS.items():
        for node in root.iter(f"{{{NSMAP['bpmn']}}}{kind}"):
            text = (node.text or "").strip()
            if not text:
                continue
            event = node.getparent().getparent()
            value = timer_values.literal(kind, text)
            if value is not None:
                try:
                    read(value)
                except Exception:  # SpiffWorkflow raises plain Exceptions and ValueErrors here
                    yield _problem(file_name, node, f"timer {text!r} is not {expected}", event.get("id", ""))
                continue
            if CRON.match(text):
                yield _problem(file_name, node, f"timer {text!r} is a cron expression, which Maestro does not read: "
                                                f"write {expected}", event.get("id", ""))
                continue
            try:
                compile_expression(text)
            except ExpressionError as error:
                yield _problem(file_name, node, f"timer {text!r} does not read as an expression ({error.message}); "
                                                f"a literal must be {expected}", event.get("id", ""))


def _scripts(root, file_name):
    for task in root.iter(f"{{{NSMAP['bpmn']}}}scriptTask"):
        script_format = (task.get("scriptFormat") or "").strip().lower()
        if script_format not in PYTHON_SCRIPT_FORMATS:
            yield _problem(file_name, task, f"script format '{script_format}' is not supported: "
                                            "Maestro runs scripts as sandboxed Python")
            continue
        script = task.find(f"{{{NSMAP['bpmn']}}}script")
        if script is None or not (script.text or "").strip():
            continue
        try:
            compile_script(script.text)
        except ScriptError as error:
            line = (script.sourceline or task.sourceline or 0) + max((error.line or 1) - 1, 0)
            yield Problem(file_name, line, task.get("id", ""), f"script does not compile: {error.message}")


def _spiff_task_scripts(root, file_name):
    for script in root.iter(f"{{{NSMAP['spiffworkflow']}}}preScript", f"{{{NSMAP['spiffworkflow']}}}postScript"):
        task = script.getparent().getparent()  # task / extensionElements / script
        if (script.text or "").strip():
            yield _problem(file_name, task, f"Spiff Arena {local_name(script)}s are not supported yet: "
                                            "Maestro would skip the script")


def _retry_cycles(root, file_name):
    for cycle in root.iter(f"{{{NSMAP['camunda']}}}failedJobRetryTimeCycle"):
        if (cycle.text or "").strip() and parse_cycle(cycle.text) is None:
            task = cycle.getparent().getparent()
            yield _problem(file_name, task, f"failedJobRetryTimeCycle '{cycle.text.strip()}' is not of the form "
                                            "R<tries>/<ISO 8601 duration>, e.g. R5/PT10S")


def _time_limits(root, file_name):
    for prop in root.iter(f"{{{NSMAP['camunda']}}}property", f"{{{NSMAP['zeebe']}}}property"):
        text = (prop.get("value") or "").strip()
        if prop.get("name") == PROPERTY and parse_limit(text) is None:
            task = next((node for node in prop.iterancestors(f"{{{NSMAP['bpmn']}}}*")
                         if local_name(node) != "extensionElements"), prop)
            yield _problem(file_name, task, f"{PROPERTY} '{text}' is not a time limit: give seconds above 0 "
                                            "(e.g. 10) or an ISO 8601 duration (e.g. PT10S)")


REFERENCES = {  # event definition -> (attribute, element it names)
    "errorEventDefinition": ("errorRef", "error"),
    "escalationEventDefinition": ("escalationRef", "escalation"),
    "messageEventDefinition": ("messageRef", "message"),
    "signalEventDefinition": ("signalRef", "signal"),
}


NAMED_BY = {"message", "signal"}  # matched by name at run time, so a name is needed


def _dangling_references(root, file_name):
    declared = {}
    for _, (_, kind) in REFERENCES.items():
        declared[kind] = {node.get("id"): node for node in root.iter(f"{{{NSMAP['bpmn']}}}{kind}")}
    for definition_name, (attribute, kind) in REFERENCES.items():
        for definition in root.iter(f"{{{NSMAP['bpmn']}}}{definition_name}"):
            ref = definition.get(attribute)
            event = definition.getparent()
            if ref and ref not in declared[kind]:
                yield _problem(file_name, event, f"{attribute} '{ref}' names no <{kind}> declared in the file: "
                                                 f"declare the {kind} or pick an existing one")
            elif ref and kind in NAMED_BY and not declared[kind][ref].get("name"):
                yield _problem(file_name, event, f"the {kind} '{ref}' has no name: give it one "
                                                 f"(Maestro matches {kind}s by name)")


def _event_definition_refs(root, file_name):
    """The references engine.read.exports.event_definition_refs could not resolve (it inlines the others)."""
    for ref in root.iter(f"{{{NSMAP['bpmn']}}}eventDefinitionRef"):
        yield _problem(file_name, ref.getparent(), f"eventDefinitionRef '{(ref.text or '').strip()}' names no event "
                                                   "definition declared in the file: declare it under <definitions> "
                                                   "or define it inside the event")


def _compensation_activity_flows(root, file_name):
    """An activity marked isForCompensation runs only to undo another (BPMN 10.5.6): a flow into it
    would run the undo as ordinary work, a flow out of it would carry on after an undo."""
    flows = {}
    for flow in root.iter(f"{{{NSMAP['bpmn']}}}sequenceFlow"):
        flows.setdefault(flow.get("targetRef"), []).append(f"incoming '{flow.get('id')}'")
        flows.setdefault(flow.get("sourceRef"), []).append(f"outgoing '{flow.get('id')}'")
    for node in root.iter(f"{{{NSMAP['bpmn']}}}*"):
        if node.get("isForCompensation") == "true" and node.get("id") in flows:
            yield _problem(file_name, node, f"compensation activity (isForCompensation=\"true\") with sequence flows "
                                            f"({', '.join(flows[node.get('id')])}): it runs only to undo the "
                                            "activity whose compensation boundary event is associated with it; "
                                            "remove its flows, or unmark it to run it as ordinary work")


def _cancel_end_events(root, file_name):
    """A cancel end event cancels the transaction subprocess it is in (BPMN 10.5.4); anywhere else it
    has no transaction to cancel, so Maestro could not give it a meaning (Camunda 7 refuses it too)."""
    for definition in root.iter(f"{{{NSMAP['bpmn']}}}cancelEventDefinition"):
        event = definition.getparent()
        if local_name(event) == "endEvent" and local_name(event.getparent()) != "transaction":
            yield _problem(file_name, event, "cancel end event outside a transaction: it can only end a "
                                             "transaction subprocess; move it into one, or make it a plain end "
                                             "event (or an error end event caught by a boundary event)")


def _error_end_events(root, file_name, force_executable=False):
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
                yield _problem(file_name, end, "error end event without an error: set its errorRef to an <error> "
                                               "with an errorCode (the code boundary events catch it by)")
            elif ref in codes and not codes[ref]:  # an undeclared one is _dangling_references' to report
                yield _problem(file_name, end, f"the error '{ref}' this end event throws has no errorCode: give it "
                                               "one (the code boundary events catch it by)")


def _will_run(node, force_executable):
    """Whether the process holding `node` is run: marked executable (the default), or forced to be."""
    process = next(node.iterancestors(f"{{{NSMAP['bpmn']}}}process"), None)
    return force_executable or process is None or process.get("isExecutable", "true") == "true"


LISTENERS = [f"{{{NSMAP[tool]}}}{kind}" for tool in ("camunda", "zeebe") for kind in ("executionListener",
                                                                                       "taskListener")]


def _listeners(root, file_name):
    """Maestro runs no execution or task listeners; a listener that does something would be skipped
    without a word, so it is refused like a script Maestro cannot run."""
    for listener in root.iter(*LISTENERS):
        implementation = _listener_implementation(listener)
        if implementation is None:
            continue
        tool = "camunda" if listener.tag.startswith(f"{{{NSMAP['camunda']}}}") else "zeebe"
        yield _problem(file_name, listener, f"{tool}:{local_name(listener)} ({implementation}) would not run: "
                                            "Maestro does not run execution or task listeners; do that work in a "
                                            "service task (bound to a Python handler) or a script task",
                       _owner(listener).get("id", ""))


def _listener_implementation(listener):
    """What the listener runs, in words (a class, an expression, a script, a job type), or None."""
    for attribute in ("class", "delegateExpression", "expression", "type"):
        if (listener.get(attribute) or "").strip():
            return f"{attribute} '{listener.get(attribute).strip()}'"
    script = listener.find(f"{{{NSMAP['camunda']}}}script")
    if script is not None:
        return f"{script.get('scriptFormat') or 'a'} script"
    return None


def _owner(node):
    """The nearest element with an id holding `node` (an extension or a definition has none)."""
    owner = node.getparent()
    while owner.get("id") is None and owner.getparent() is not None:
        owner = owner.getparent()
    return owner


def _by_id(root, element_id):
    return bpmn_element(root, element_id)


# -- handlers --------------------------------------------------------------

def service_nodes(root):
    """Service tasks and compensation activities: the elements a handler binds to."""
    for node in root.iter(f"{{{NSMAP['bpmn']}}}serviceTask", f"{{{NSMAP['bpmn']}}}task"):
        if local_name(node) == "serviceTask" or node.get("isForCompensation") == "true":
            yield node


def compensated_activity(root, handler_node):
    """The activity a compensation handler undoes (through its boundary event), or None."""
    for boundary in root.iter(f"{{{NSMAP['bpmn']}}}boundaryEvent"):
        if is_compensation_boundary(boundary) and compensation_handler_of(boundary) == handler_node.get("id"):
            return _by_id(root, boundary.get("attachedToRef"))
    return None


def check_bindings(roots, handlers):
    """Unbound service tasks, topics bound twice, and handlers no diagram uses."""
    problems, used = [], set()
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
            problems.append(_problem(file_name, node, f"no handler is bound to topic {shown}"))
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
