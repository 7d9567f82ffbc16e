"""When the next timer of a waiting instance falls due (from SpiffWorkflow's waiting events)."""
from datetime import timezone

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

TIMER_EVENTS = {"TimeDateEventDefinition", "DurationTimerEventDefinition", "CycleTimerEventDefinition"}


def next_timer_due(workflow):
    """The earliest fire time (UTC) among the instance's waiting timers, or None."""
    due = []
    for event in workflow.waiting_events():
        if event.event_type not in TIMER_EVENTS or event.value is None:
            continue
        value = event.value.get("next") if isinstance(event.value, dict) else event.value
        if value:
            moment = TimerEventDefinition.get_datetime(value)
            due.append(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))
    return min(due) if due else None
