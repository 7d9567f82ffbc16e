"""The repairs job: what an operator does to an instance that went wrong or must wait.

Retry a failed instance from its failed task, with its variables edited first (one commit: the
edit, its history row and the retry); edit a failed instance's variables without retrying; suspend
an instance (its status stays; no worker runs it, messages for it wait) and resume it.
"""
from datetime import datetime

from engine.run import variable_limits
from engine.run.instance_errors import InstanceError

from .errors import Stale
from .instances import refuse_if_suspended
from .store import incidents, jobs, outbox, person_actions
from .summaries import iso

MAX_REASON_LENGTH = 1000


class Repairs:
    """Maestro's repair methods, over its Context."""

    def __init__(self, context):
        self.context = context

    def retry(self, instance_id, variables=None, by=None, expected_updated_at=None):
        """Resumes a failed instance from its failed task (a worker runs it), with `variables` (the
        whole variables object as edited, if given) in their place first."""
        return self._repair(instance_id, variables, by, expected_updated_at, retry=True)

    def set_variables(self, instance_id, variables, by=None, expected_updated_at=None):
        """Edits a failed instance's variables; it stays failed until retried."""
        return self._repair(instance_id, variables, by, expected_updated_at, retry=False)

    def _repair(self, instance_id, variables, by, expected_updated_at, retry):
        if variables is not None:
            variables = variable_limits.checked(variables, "the edited variables")
        context = self.context
        actor = by or f"user@{context.actor}"
        with context.Session() as session:
            row = context.row(session, instance_id)
            _refuse_unless_failed(row, "retry it" if retry else "edit its variables")
            context.lock_for_user(session, row.id)
            session.refresh(row)  # as of the lease: a commit for it may have come between the read and the take
            _refuse_unless_failed(row, "retry it" if retry else "edit its variables")
            _refuse_if_stale(row, expected_updated_at)
            status = "running" if retry else "failed"
            if variables is not None:
                self._edit(session, row, variables, actor, status)
            if retry:
                incident = incidents.open_incident(session, instance_id)
                if incident is not None:
                    incident.resolved_at, incident.resolved_by = jobs.now(), actor
                    person_actions.on_task(session.connection(), instance_id, incident.task_id, "RETRIED", actor)
                row.status, row.updated_at = "running", jobs.now()
                jobs.schedule(session, row.id, "manual_retry")
                # A message that came while it was failed was kept for its catches (buffered): due again now.
                outbox.wake_for(session.connection(), row.id)
            else:
                jobs.unschedule(session, row.id)  # the lease's row: a failed instance has no due work
            session.commit()
            return context.summary(session, instance_id)

    def _edit(self, session, row, variables, actor, status):
        """Writes the edited variables (a snapshot) and the history row naming the variables changed."""
        from engine.run import variable_edits
        instance, writer = self.context.load(session, row)
        shown = instance.data
        found = variable_edits.apply(instance.latest_task or instance.workflow.task_tree, shown,
                                     instance.failed_task(), variables)
        if not any(found.values()):
            return
        writer.snapshot_due = True
        writer.write(session.connection(), actor, status=status, error=row.error)
        person_actions.on_instance(session.connection(), row.id, "VARIABLES", "Variables changed", actor, found)

    def suspend(self, instance_id, by=None, reason=None):
        """Suspends a running, waiting or failed instance: it keeps its status, no worker runs it (its
        due timers fire after resume), messages for it are kept for it, and its user tasks and retry are
        refused until it is resumed. Cancelling stays allowed."""
        if reason is not None and len(reason) > MAX_REASON_LENGTH:
            raise InstanceError(f"the reason is {len(reason)} characters long; at most {MAX_REASON_LENGTH} are kept")
        context = self.context
        actor = by or f"user@{context.actor}"
        with context.Session() as session:
            row = context.row(session, instance_id)
            _refuse_if_ended(row, "suspend")
            if row.suspended_at is not None:
                raise InstanceError(f"instance {instance_id} is suspended already")
            context.lock_for_user(session, row.id)
            session.refresh(row)
            _refuse_if_ended(row, "suspend")
            row.suspended_at, row.suspended_by, row.suspended_reason = jobs.now(), actor, reason or None
            row.updated_at = row.suspended_at
            jobs.park(session, row.id)
            person_actions.on_instance(session.connection(), row.id, "SUSPENDED", "Suspended", actor,
                                    {"reason": reason} if reason else None)
            session.commit()
            return context.summary(session, instance_id)

    def resume(self, instance_id, by=None):
        """Resumes a suspended instance: its due work is claimable again and the messages kept for it
        are delivered."""
        context = self.context
        actor = by or f"user@{context.actor}"
        with context.Session() as session:
            row = context.row(session, instance_id)
            if row.suspended_at is None:
                raise InstanceError(f"instance {instance_id} is not suspended")
            context.lock_for_user(session, row.id)
            session.refresh(row)
            if row.suspended_at is None:
                raise InstanceError(f"instance {instance_id} is not suspended")
            row.suspended_at = row.suspended_by = row.suspended_reason = None
            row.updated_at = jobs.now()
            jobs.unpark(session, row.id)
            outbox.wake_for(session.connection(), row.id)
            person_actions.on_instance(session.connection(), row.id, "RESUMED", "Resumed", actor)
            session.commit()
            return context.summary(session, instance_id)


def _refuse_unless_failed(row, action):
    refuse_if_suspended(row, action)
    if row.status != "failed":
        raise InstanceError(f"instance {row.id} is {row.status}, not failed: nothing to retry")


def _refuse_if_ended(row, action):
    if row.status in ("completed", "cancelled"):
        raise InstanceError(f"instance {row.id} is {row.status}: there is nothing to {action}")


def _refuse_if_stale(row, expected_updated_at):
    """Stale when the instance changed since the page that made the edit showed it (its updated_at then)."""
    if expected_updated_at is None:
        return
    expected = expected_updated_at if isinstance(expected_updated_at, datetime) else _moment(expected_updated_at)
    if jobs._aware(expected) != jobs._aware(row.updated_at):
        raise Stale(f"instance {row.id} changed at {iso(row.updated_at)}, after the page you edited was loaded "
                    "(it showed it as of "f"{iso(expected)}): reload it and edit again")


def _moment(text):
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise InstanceError(f"expected_updated_at is not a time: {str(text)[:60]!r}") from None
