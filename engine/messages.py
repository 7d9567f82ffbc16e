"""Messages from outside: which instances wait for one, whether one correlates, delivering it.

Correlation is by value: a message's `correlation` ({"order_id": "o-1"}, or
{"business_key": "o-1"}) matches an instance whose variables (or business
key) hold those values; a message without correlation reaches every instance
waiting for it.
"""
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.util.task import TaskState

from .specs import caught_definitions


def awaited(workflow):
    """Names of the messages the instance waits for (catch events, receive tasks, boundary events,
    event-based gateways)."""
    return sorted({definition.name
                   for part in (workflow, *workflow.subprocesses.values()) for task in part.tasks.values()
                   if task.state == TaskState.WAITING
                   for definition in caught_definitions(task.task_spec)
                   if isinstance(definition, MessageEventDefinition)})


def starts_with(spec, name):
    """Whether the process starts with a message start event for `name`."""
    return any(_is_message(start) and start.event_definition.name == name for start in spec.start.outputs)


def correlates(correlation, variables, business_key):
    return all((business_key if key == "business_key" else variables.get(key)) == value
               for key, value in (correlation or {}).items())


def deliver(instance, name, data):
    """Hands the message to the instance's waiting catch event; False if none waits for it."""
    if name not in awaited(instance.workflow):
        return False
    instance.workflow.catch(BpmnEvent(MessageEventDefinition(name), payload=dict(data or {})))
    return True


def _is_message(spec):
    return isinstance(getattr(spec, "event_definition", None), MessageEventDefinition)
