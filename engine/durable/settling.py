"""What an instance is once it stops running: the row fields to write and its next due work
(a timer, a retry after a failure), or an incident when its tries are used up."""
from datetime import timedelta

from engine.run.instance import FAILURES
from engine.run.outcomes import outcome_of
from engine.run.retries import policy_for
from engine.run.specs import maestro_info
from engine.run.timers import next_timer_due

from .store import incidents, jobs


def settle(session, instance_id, instance):
    """What the instance is now: (row fields to write, next job as (reason, due) or None)."""
    if instance.error is not None:
        return _settle_failure(session, instance_id, instance)
    if instance.ended:
        outcome, end_event = outcome_of(instance.workflow)
        return {"status": "completed", "ended_at": jobs.now(), "error": None, "outcome": outcome,
                "end_event": end_event}, None
    due = next_timer_due(instance.workflow)
    return {"status": "waiting", "error": None}, (("timer", due) if due else None)


def _settle_failure(session, instance_id, instance):
    error, failed = instance.error, instance.failed_task()
    attempts = failed.internal_data.get(FAILURES, 1) - failed.internal_data.get("maestro_retry_base", 0)
    policy = policy_for(maestro_info(failed.task_spec))
    if not error.get("business") and attempts < policy.tries:
        retry_at = jobs.now() + timedelta(seconds=policy.delay(attempts))
        # Kept with the error in the row, so that lists say "try 2 of 3, next at ..." without a join.
        pending = {**error, "retry": {"attempt": attempts + 1, "of": policy.tries, "next_at": retry_at.isoformat()}}
        return {"status": "running", "error": pending}, ("retry", retry_at)
    incidents.add(session, instance_id, error)
    return {"status": "failed", "error": error}, None


def reschedule(session, instance_id, next_job):
    """Makes the instance due for `next_job` ((reason, due) from settle), or for nothing when None."""
    if next_job is None:
        jobs.unschedule(session, instance_id)
    else:
        jobs.schedule(session, instance_id, *next_job)
