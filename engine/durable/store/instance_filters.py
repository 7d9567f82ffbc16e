"""Which instances a list or a batch action means: conditions on the instances table.

An instance's failed element and error text are those of its open incident (the failure an
operator looks at); both are found by an EXISTS on the incidents of the instance (indexed by it).
"""
from dataclasses import dataclass, fields

from sqlalchemy import and_, exists, func, select

from .models import Incident
from .models import Instance as InstanceRow


@dataclass(frozen=True)
class InstanceFilter:
    key: str | None = None
    version: int | None = None
    status: str | None = None
    element: str | None = None  # the BPMN id of the element its open incident is at
    error: str | None = None  # a part of its open incident's message, in any case
    business_key: str | None = None
    suspended: bool | None = None
    outcome: str | None = None  # how a completed instance ended: "completed" or "rolled_back" (engine.run.outcomes)

    def criteria(self) -> dict:
        """The criteria given, by name (an empty dict: the filter matches every instance)."""
        return {field.name: getattr(self, field.name) for field in fields(self)
                if getattr(self, field.name) not in (None, "")}

    def conditions(self) -> list:
        """WHERE conditions on InstanceRow for the criteria given."""
        given, conditions = self.criteria(), []
        for name in ("key", "version", "status", "business_key", "outcome"):
            if name in given:
                conditions.append(getattr(InstanceRow, name) == given[name])
        if "suspended" in given:
            column = InstanceRow.suspended_at
            conditions.append(column.is_not(None) if given["suspended"] else column.is_(None))
        incident = [Incident.instance_id == InstanceRow.id, Incident.resolved_at.is_(None)]
        if "element" in given:
            incident.append(Incident.bpmn_id == given["element"])
        if "error" in given:
            incident.append(func.lower(Incident.message).contains(given["error"].lower(), autoescape=True))
        if len(incident) > 2:
            conditions.append(exists(select(Incident.id).where(and_(*incident))))
        return conditions
