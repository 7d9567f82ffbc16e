"""Messages and signals in an instance: what it waits for (its subscriptions), what its start events
start it with, whether a publish's variables match it, and handing one over.

Which instances a message reaches is the durable engine's (engine/durable/deliveries.py): by the
correlation keys and business keys its subscriptions hold (engine.run.correlation).

Within one instance a message has one receiver (in BPMN a message flows from
one sender to one receiver), whatever waits for it: catch events, receive
tasks, boundary events, event-based gateways, the start events of event
subprocesses. SpiffWorkflow 3.2 would hand it to all of them at once.
"""
from typing import NamedTuple

from SpiffWorkflow.bpmn.specs.control import StartEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.bpmn.util import BpmnEvent

from engine.run.spiff import live_tasks
from engine.run.spiff.task_ids import issuing
from engine.run.spiff.tree_order import order_key

from . import event_subprocesses
from .correlation import diagram_key
from .specs import caught_definitions


class Subscription(NamedTuple):
    """What a waiting instance can be reached by: a message (with its catch's correlation key from
    the diagram, None when it gives none) or a signal, and the element that waits for it."""
    kind: str  # "message" or "signal"
    name: str
    correlation_key: str | None
    element: str | None


def kind_of(definition) -> str | None:
    """ "message" or "signal" for those event definitions; None for any other."""
    if isinstance(definition, MessageEventDefinition):
        return "message"
    return "signal" if isinstance(definition, SignalEventDefinition) else None


def subscriptions(workflow) -> list[Subscription]:
    """The messages and signals the instance waits for, one per kind and name (the catch that has waited
    longest names the element and, from its variables, the correlation key), sorted."""
    found: dict[tuple[str, str], Subscription] = {}
    for _, task in _waiting_tasks(workflow):
        for definition in caught_definitions(task.task_spec):
            kind = kind_of(definition)
            if kind is None or (kind, definition.name) in found:
                continue
            key = diagram_key(definition, task.data) if kind == "message" else None
            found[kind, definition.name] = Subscription(kind, definition.name, key, _catch_element(task, definition))
    return sorted(found.values(), key=lambda found_one: (found_one.kind, found_one.name))


def _catch_element(task, definition):
    """The element that catches `definition`: the task's own, or behind an event-based gateway the event
    after it."""
    gathered = getattr(task.task_spec, "event_definition", None)
    if isinstance(gathered, MultipleEventDefinition) and isinstance(task.task_spec, EventBasedGateway):
        # The gateway holds its events' definitions, in the order of the events after it.
        return task.task_spec.outputs[gathered.event_definitions.index(definition)].bpmn_id
    return task.task_spec.bpmn_id


def waits_for_a_message(spec) -> bool:
    """Whether tasks of this spec can wait for a message or signal (so that their changes change
    `subscriptions`)."""
    return any(kind_of(definition) for definition in caught_definitions(spec))


def start_events(spec) -> set[tuple[str, str]]:
    """(kind, name) of each message and signal the process's start events start it with."""
    definitions = (getattr(start, "event_definition", None) for start in _start_specs(spec))
    return {(kind_of(definition), definition.name) for definition in definitions if kind_of(definition)}


def correlates(correlation, variables, business_key) -> bool:
    return all((business_key if key == "business_key" else variables.get(key)) == value
               for key, value in (correlation or {}).items())


def deliver(instance, name, data, key=None) -> bool:
    """Hands the message to one waiting receiver of the instance; False if none waits for it.

    The receiver is the one that has waited longest (see `receiver`): a second
    message of the same name goes to the next one. With a `key`, a catch whose diagram gives a
    correlation key takes it only when its key is that one.
    """
    event = BpmnEvent(MessageEventDefinition(name), payload=dict(data or {}))
    task = receiver(instance.workflow, event, key)
    if task is None:
        return False
    variable = next((getattr(definition, "message_variable", None) for definition in caught_definitions(task.task_spec)
                     if definition == event.event_definition), None)
    if variable:  # Spiff Arena's messageVariable: the payload in one variable
        event.payload = {variable: event.payload}
    _hand(instance, [task], event)
    return True


def deliver_signal(instance, name, data) -> bool:
    """Hands the signal to every catch of the instance waiting for it (a signal is broadcast: BPMN
    10.5.1); False if none waits for it."""
    event = BpmnEvent(SignalEventDefinition(name), payload=dict(data or {}))
    catching = [task for _, task in _waiting_tasks(instance.workflow)
                if isinstance(task.task_spec, CatchingEvent) and task.task_spec.catches(task, event)]
    _hand(instance, catching, event)
    return bool(catching)


def _hand(instance, tasks, event):
    """The waiting `tasks` catch `event`."""
    with issuing(instance.task_ids):  # an event subprocess armed again gets the instance's next task ids
        for task in tasks:
            event_subprocesses.fire(task)  # an event subprocess's start event: before it takes the payload
            task.task_spec.catch(task, event)
            task.task_spec._update(task)


def receiver(workflow, event: BpmnEvent, key=None):
    """The waiting task that gets `event`: of those that catch it, the one waiting since the
    earliest moment (when it last entered WAITING), on a tie the first of the process's, then of each
    subprocess in the order they started, and within one the first in its task tree.

    Camunda leaves the choice among several waiting executions arbitrary (or refuses
    to choose); a fixed rule makes deliveries repeatable, in memory and durably alike.
    """
    catching = [(task.last_state_change, position, order_key(task), task)
                for position, task in _waiting_tasks(workflow)
                if isinstance(task.task_spec, CatchingEvent) and task.task_spec.catches(task, event)
                and (key is None or _keyed_for(task, event, key))]
    return min(catching, key=lambda entry: entry[:3], default=(None,) * 4)[3]


def _keyed_for(task, event, key) -> bool:
    """Whether the catch takes a message of `key`: its diagram's key is that one, or it gives none."""
    for definition in caught_definitions(task.task_spec):
        if definition == event.event_definition:
            own = diagram_key(definition, task.data)
            return own is None or own == key
    return True


def _waiting_tasks(workflow):
    """(position of its workflow, task) for the instance's WAITING tasks: the process's, then each
    subprocess's in the order they started (an order the saved instance keeps). From the index of
    live tasks: a walk of every tree for them cost the whole instance at every commit."""
    for position, part in enumerate((workflow, *workflow.subprocesses.values())):
        for task in live_tasks.of(part).waiting_tasks():
            yield position, task


def _start_specs(spec):
    """The process's start events: SpiffWorkflow puts a split before them when there are several."""
    for start in spec.start.outputs:
        yield from (start.outputs if isinstance(start, StartEventSplit) else [start])
