"""Incidents: the record of an instance's failure that an operator must look at."""
from sqlalchemy import select

from .models import Incident


def add(session, instance_id, error):
    """An incident from an error record (as Instance keeps it: task, bpmn_id, message, type, traceback)."""
    session.add(Incident(instance_id=instance_id, task_id=error["task"], bpmn_id=error["bpmn_id"],
                         message=error["message"], error_type=error["type"], traceback=error["traceback"]))


def open_incident(session, instance_id):
    """The instance's newest unresolved incident, or None."""
    return session.scalars(
        select(Incident).where(Incident.instance_id == instance_id, Incident.resolved_at.is_(None))
        .order_by(Incident.id.desc()).limit(1)
    ).first()


def forget_pending(session, keep):
    """Drops the incidents about to be added for instances not in `keep` (their step is dropped)."""
    for pending in list(session.new):
        if isinstance(pending, Incident) and pending.instance_id not in keep:
            session.expunge(pending)
