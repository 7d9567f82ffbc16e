"""Messages from outside: which instances wait for one, whether one correlates, delivering it.

Correlation is by value: a message's `correlation` ({"order_id": "o-1"}, or
{"business_key": "o-1"}) matches an instance whose variables (or business
key) hold those values; a message without correlation reaches every instance
waiting for it.

Within one instance a message has one receiver (in BPMN a message flows from
one sender to one receiver), whatever waits for it: catch events, receive
tasks, boundary events, event-based gateways, the start events of event
subprocesses. SpiffWorkflow 3.2 would hand it to all of them at once.
"""
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.util import BpmnEvent

from engine.run.spiff import live_tasks
from engine.run.spiff.task_ids import issuing
from engine.run.spiff.tree_order import order_key

from . import event_subprocesses
from .specs import caught_definitions


def awaited(workflow) -> list[str]:
    """Names of the messages the instance waits for (catch events, receive tasks, boundary events,
    event-based gateways, armed event subprocesses)."""
    return sorted({definition.name for _, task in _waiting_tasks(workflow)
                   for definition in caught_definitions(task.task_spec)
                   if isinstance(definition, MessageEventDefinition)})


def waits_for_a_message(spec) -> bool:
    """Whether tasks of this spec can wait for a message (so that their changes change `awaited`)."""
    return any(isinstance(definition, MessageEventDefinition) for definition in caught_definitions(spec))


def starts_with(spec, name) -> bool:
    """Whether the process starts with a message start event for `name`."""
    return any(_is_message(start) and start.event_definition.name == name for start in spec.start.outputs)


def correlates(correlation, variables, business_key) -> bool:
    return all((business_key if key == "business_key" else variables.get(key)) == value
               for key, value in (correlation or {}).items())


def deliver(instance, name, data) -> bool:
    """Hands the message to one waiting receiver of the instance; False if none waits for it.

    The receiver is the one that has waited longest (see `receiver`): a second
    message of the same name goes to the next one.
    """
    event = BpmnEvent(MessageEventDefinition(name), payload=dict(data or {}))
    task = receiver(instance.workflow, event)
    if task is None:
        return False
    with issuing(instance.task_ids):  # an event subprocess armed again gets the instance's next task ids
        event_subprocesses.fire(task)  # an event subprocess's start event: before it takes the payload
        task.task_spec.catch(task, event)
        task.task_spec._update(task)
    return True


def receiver(workflow, event: BpmnEvent):
    """The waiting task that gets `event`: of those that catch it, the one waiting since the
    earliest moment (when it last entered WAITING), on a tie the first of the process's, then of each
    subprocess in the order they started, and within one the first in its task tree.

    Camunda leaves the choice among several waiting executions arbitrary (or refuses
    to choose); a fixed rule makes deliveries repeatable, in memory and durably alike.
    """
    catching = [(task.last_state_change, position, order_key(task), task)
                for position, task in _waiting_tasks(workflow)
                if isinstance(task.task_spec, CatchingEvent) and task.task_spec.catches(task, event)]
    return min(catching, key=lambda entry: entry[:3], default=(None,) * 4)[3]


def _waiting_tasks(workflow):
    """(position of its workflow, task) for the instance's WAITING tasks: the process's, then each
    subprocess's in the order they started (an order the saved instance keeps). From the index of
    live tasks: a walk of every tree for them cost the whole instance at every commit."""
    for position, part in enumerate((workflow, *workflow.subprocesses.values())):
        for task in live_tasks.of(part).waiting_tasks():
            yield position, task


def _is_message(spec):
    return isinstance(getattr(spec, "event_definition", None), MessageEventDefinition)
