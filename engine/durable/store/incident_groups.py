"""Open incidents grouped by what failed: process, element and error message (the incidents view).

Thirty instances failing the same way are one group an operator looks at once: how many, since when,
the newest. Only failed instances' incidents count (a cancelled instance's failure needs no one).
"""
from sqlalchemy import func, select

from .models import HistoryEntry, Incident
from .models import Instance as InstanceRow

_OPEN = (Incident.resolved_at.is_(None), InstanceRow.status == "failed")


def groups(session, limit: int = 200) -> list[dict]:
    """[{key, element, element_name, message, count, first_at, last_at}], the largest groups first."""
    count = func.count(Incident.id)
    query = select(InstanceRow.key, Incident.bpmn_id, Incident.message, count, func.min(Incident.created_at),
                   func.max(Incident.created_at), func.min(Incident.instance_id)) \
        .join(InstanceRow, InstanceRow.id == Incident.instance_id).where(*_OPEN) \
        .group_by(InstanceRow.key, Incident.bpmn_id, Incident.message) \
        .order_by(count.desc(), InstanceRow.key, Incident.bpmn_id).limit(limit)
    found = []
    for key, element, message, number, first_at, last_at, an_instance in session.execute(query):
        found.append({"key": key, "element": element, "element_name": _element_name(session, an_instance, element),
                      "message": message, "count": number, "first_at": first_at, "last_at": last_at})
    return found


def open_count(session) -> int:
    """How many failed instances have an open incident."""
    return session.scalar(select(func.count(Incident.id))
                          .join(InstanceRow, InstanceRow.id == Incident.instance_id).where(*_OPEN)) or 0


def _element_name(session, instance_id, element):
    """The element's name as the instance's history recorded it (its id when it has none)."""
    if element is None:
        return None
    name = session.scalar(select(HistoryEntry.name).where(HistoryEntry.instance_id == instance_id,
                                                          HistoryEntry.bpmn_id == element).limit(1))
    return name or element
