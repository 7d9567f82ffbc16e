"""What a Maestro object tells its observers (the web app's metrics): tasks completed, instances ended,
messages its steps threw."""
from engine.run import compensation


def round_events(instance, writer, status):
    """What an instance's round tells observers: its completed tasks' durations, and its end."""
    key = instance.workflow.spec.name
    events = [{"event": "task_completed", "key": key, "bpmn_id": entry["bpmn_id"], "type": entry["type"],
               "seconds": seconds} for entry, seconds in writer.recorder.take_durations()]
    if status in ("completed", "failed"):
        events.append(ended(instance, status))
    return events


def ended(instance, status):
    return {"event": "instance_ended", "key": instance.workflow.spec.name, "status": status,
            "compensated": compensation.has_compensated(instance.workflow)}


def published(row):
    """A message or signal a step threw (an outbox row), once its step is committed."""
    return {"event": "message_published", "kind": row["kind"], "name": row["name"]}
