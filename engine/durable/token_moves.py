"""The token-move job: an operator cancels an active activity of a stored instance and starts another
element of the same scope (engine.run.token_moves), in one commit; a worker runs it on from there."""
from engine.run.token_moves import MoveRefused, checked_reason, move_choices, move_token

from .store import incidents, jobs, outbox
from .store.person_actions import surgery


class TokenMoves:
    """Maestro.move_token, over its Context."""

    def __init__(self, context):
        self.context = context

    def move(self, instance_id, from_task, to_element, reason, by=None):
        """{instance summary, moved: {from, to, task_id}, warnings, incident_resolved}; MoveRefused
        (an InstanceError) with its reasons when the move cannot be made: then nothing changes."""
        reason = checked_reason(reason)
        context = self.context
        actor = by or f"user@{context.actor}"
        with context.Session() as session:
            row = context.row(session, instance_id)
            if row.status in ("completed", "cancelled"):
                raise MoveRefused([f"instance {instance_id} is {row.status}: no token to move"])
            context.lock_for_user(session, row.id)
            session.refresh(row)  # as of the lease: a suspend may have committed between the read and the take
            if row.suspended_at is not None:
                raise MoveRefused([f"instance {instance_id} is suspended: resume it to move a token"])
            instance, writer = context.load(session, row)
            move = move_token(instance, str(from_task or ""), str(to_element or ""))
            # The tree changed outside a step: the commit is a snapshot of it.
            still_failed = instance.error is not None  # another task failed: the instance waits for its retry
            writer.write(session.connection(), actor, status="failed" if still_failed else "running",
                         error=instance.error)
            cancelled, started = move.cancelled.task_spec, move.started.task_spec
            # Under the cancelled task's id: the page times a task from its READY entry to its next one.
            surgery(session.connection(), row.id, str(move.cancelled.id), started.bpmn_id, "MOVED",
                    f"moved by {actor}: {reason}", actor,
                    {"from": cancelled.bpmn_id, "from_task": str(move.cancelled.id), "to": started.bpmn_id,
                     "reason": reason})
            resolved = False
            if not still_failed:
                incident = incidents.open_incident(session, row.id)
                if incident is not None:
                    incident.resolved_at = jobs.now()
                    resolved = True
            if still_failed:
                jobs.unschedule(session, row.id)
            else:
                jobs.schedule(session, row.id, "continue")
                outbox.wake_for(session.connection(), row.id)  # messages kept while it was failed may be taken now
            session.commit()
            return {**context.summary(session, instance_id),
                    "moved": {"from": cancelled.bpmn_id, "to": started.bpmn_id, "task_id": str(move.started.id),
                              "reason": reason, "by": actor},
                    "warnings": move.warnings, "incident_resolved": resolved}

    def choices(self, instance_id):
        """The active activities of the instance and the elements a token can move to (move_choices);
        none for an instance that ended."""
        context = self.context
        with context.Session() as session:
            row = context.row(session, instance_id)
            if row.status in ("completed", "cancelled"):
                return {"active": [], "targets": []}
            instance, _ = context.load(session, row)
            return move_choices(instance)
