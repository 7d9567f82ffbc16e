"""What an instance sends to other instances and processes: the messages and signals its throw events,
message end events and send tasks threw in a step (the durable engine's outbox writes them in the
step's commit, engine/durable/store/outbox.py).

SpiffWorkflow hands a thrown message to a catch of the same instance when one waits for it, and
keeps the others (`get_events`); a signal is broadcast, so it goes out whether or not the instance
caught it too. Which element threw what is read from the step's completed throwing tasks.
"""
from typing import NamedTuple

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import ThrowingEvent
from SpiffWorkflow.util.task import TaskState

from .copies import deep_copy
from .correlation import diagram_key, key_text


class Thrown(NamedTuple):
    kind: str  # "message" or "signal"
    name: str
    payload: dict
    correlation: str | None  # the key from the diagram (None: the thrower's business key decides)
    element: str | None  # the element that threw it


def take_thrown(workflow, changed) -> list[Thrown]:
    """The messages and signals thrown for others since the last call, in the order they were thrown;
    `changed`: the tasks whose state changed meanwhile (the throwing ones among them)."""
    throwers = [task for task in changed if task.state == TaskState.COMPLETED
                and isinstance(task.task_spec, ThrowingEvent)
                and isinstance(task.task_spec.event_definition, (MessageEventDefinition, SignalEventDefinition))]
    kept, thrown = [], []
    for event in workflow.bpmn_events:
        if isinstance(event.event_definition, MessageEventDefinition):
            task = _thrower(throwers, event.event_definition)
            variables = {**(task.data if task is not None else {}), **_as_dict(event.payload)}
            key = key_text(next(iter(event.correlations.values()))) if len(event.correlations) == 1 \
                else key_text(event.correlations or None)
            thrown.append(Thrown("message", event.event_definition.name, _as_dict(event.payload),
                                 key or diagram_key(event.event_definition, variables),
                                 task.task_spec.bpmn_id if task is not None else None))
        elif not isinstance(event.event_definition, SignalEventDefinition):
            kept.append(event)  # errors, escalations...: not for other instances
    workflow.bpmn_events = kept
    for task in throwers:  # signals: every one thrown, caught here too or not
        if isinstance(task.task_spec.event_definition, SignalEventDefinition):
            thrown.append(Thrown("signal", task.task_spec.event_definition.name, {}, None, task.task_spec.bpmn_id))
    return thrown


def _thrower(throwers, definition):
    """The completed throwing task whose definition threw this message (taken, so a second one of the
    same name gets the next); None when none is among the step's tasks."""
    for position, task in enumerate(throwers):
        if task.task_spec.event_definition == definition:
            return throwers.pop(position)
    return None


def _as_dict(payload):
    return deep_copy(payload) if isinstance(payload, dict) else ({} if payload is None else {"payload": payload})
