"""What an instance sends to other instances and processes: the messages and signals its throw events,
message end events and send tasks throw (the durable engine's outbox writes them in the step's
commit, engine/durable/store/outbox.py).

The parser gives each message and signal event definition Maestro's throw (`install_throw`):
it works out what the message carries while the throwing task runs, so a payload expression that
fails fails that task, as any expression does. A message then goes where SpiffWorkflow sends it:
to a catch of the same instance waiting for it, else out (`get_events`); a signal is broadcast, so
it goes out whether or not the instance caught it too.
"""
from types import MethodType
from typing import NamedTuple

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent

from .copies import deep_copy
from .correlation import diagram_key, key_text

_SIGNALS_OUT = "maestro_signals_out"  # the signals thrown since the last take, on the top workflow


class Thrown(NamedTuple):
    kind: str  # "message" or "signal"
    name: str
    payload: dict
    correlation: str | None  # the key from the diagram (None: the thrower's business key decides)
    element: str | None  # the element that threw it
    time_to_live: str | None  # from the diagram (seconds or ISO 8601), None for the default


def install_throw(definition) -> None:
    """Makes `definition` (a message or signal event definition) throw as Maestro does."""
    if isinstance(definition, MessageEventDefinition):
        definition.throw = MethodType(_throw_message, definition)
    elif isinstance(definition, SignalEventDefinition):
        definition.throw = MethodType(_throw_signal, definition)


def take_thrown(workflow) -> list[Thrown]:
    """The messages and signals thrown for others since the last call, messages first, each in the order thrown."""
    kept, thrown = [], []
    for event in workflow.bpmn_events:
        if isinstance(event.event_definition, MessageEventDefinition):
            thrown.append(_thrown("message", event))
        elif not isinstance(event.event_definition, SignalEventDefinition):
            kept.append(event)  # errors, escalations...: not for other instances
    workflow.bpmn_events = kept
    signals = getattr(workflow, _SIGNALS_OUT, [])
    setattr(workflow, _SIGNALS_OUT, [])
    return thrown + [_thrown("signal", event) for event in signals]


def forget_thrown(workflow) -> None:
    """Drops what was thrown since the last take (a replay throws again what was sent already)."""
    take_thrown(workflow)


def _throw_message(definition, task):
    payload = _payload(definition, task)
    correlations = definition.get_correlations(task, payload)  # BPMN correlation properties, as SpiffWorkflow
    task.workflow.correlations.update(correlations)
    event = BpmnEvent(definition, payload=payload, correlations=correlations)
    if len(correlations) == 1:
        event.maestro_key = key_text(next(iter(correlations.values())))
    else:
        event.maestro_key = key_text(correlations or None) or diagram_key(definition, {**task.data, **payload})
    event.maestro_element = task.task_spec.bpmn_id
    task.workflow.top_workflow.catch(event)


def _throw_signal(definition, task):
    event = BpmnEvent(definition, payload=_payload(definition, task) if _names_payload(definition) else {})
    event.maestro_element, event.maestro_key = task.task_spec.bpmn_id, None
    top = task.workflow.top_workflow
    top.catch(event)  # the catches of this instance take it now
    setattr(top, _SIGNALS_OUT, [*getattr(top, _SIGNALS_OUT, []), event])


def _names_payload(definition) -> bool:
    return bool(getattr(definition, "payload_expression", None) or getattr(definition, "payload_mappings", None))


def _payload(definition, task) -> dict:
    """What a throw sends: its payload expression's value, else its input mappings, else the variables."""
    evaluate = task.workflow.script_engine.evaluate
    expression = getattr(definition, "payload_expression", None)
    if expression:
        value = evaluate(task, expression)
        return deep_copy(value) if isinstance(value, dict) else {"payload": deep_copy(value)}
    mappings = getattr(definition, "payload_mappings", None)
    if mappings:
        return {target: deep_copy(evaluate(task, source)) if is_expression else source
                for target, source, is_expression in mappings}
    return deep_copy(task.data)


def _thrown(kind, event) -> Thrown:
    definition = event.event_definition
    return Thrown(kind, definition.name, event.payload if isinstance(event.payload, dict) else {},
                  getattr(event, "maestro_key", None), getattr(event, "maestro_element", None),
                  getattr(definition, "time_to_live", None))
