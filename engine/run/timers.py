"""When the next timer of a waiting instance falls due (from SpiffWorkflow's waiting events)."""
from datetime import timezone

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from .specs import caught_definitions


def next_timer_due(workflow):
    """The earliest fire time (UTC) among the instance's waiting timers, or None.

    Looks inside event-based gateways too: their timers live in the gateway.
    """
    due = []
    for task in workflow.event_manager.tasks.values():
        for definition in caught_definitions(task.task_spec):
            if not isinstance(definition, TimerEventDefinition):
                continue
            value = definition.details(task).value
            value = value.get("next") if isinstance(value, dict) else value
            if value:
                moment = TimerEventDefinition.get_datetime(value)
                due.append(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))
    return min(due) if due else None
