"""The user_tasks table: written from the history rows of the commit that changes a user task (one
source of truth: a task is open from the commit after which it waits until the one that completes or
ends it), read by the task lists, and changed by claims (a compare-and-set of the assignee).
"""
from datetime import datetime
from uuid import UUID

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from . import person_actions
from .jobs import now
from .models import Definition, UserTask

USER_TASKS = UserTask.__table__
_OPENED = {dialect: insert_(USER_TASKS).on_conflict_do_nothing(index_elements=["instance_id", "task_id"])
           for dialect, insert_ in (("postgresql", postgres_insert), ("sqlite", sqlite_insert))}
_CLOSE = update(USER_TASKS).where(USER_TASKS.c.instance_id == bindparam("instance"),
                                  USER_TASKS.c.task_id == bindparam("task"), USER_TASKS.c.state == "open") \
    .values(state=bindparam("new_state"), completed_by=bindparam("by"), completed_at=bindparam("at"))
_CLOSE_ALL = update(USER_TASKS).where(USER_TASKS.c.instance_id == bindparam("instance"),
                                      USER_TASKS.c.state == "open") \
    .values(state="cancelled", completed_at=bindparam("at"))
_ENDED = {"COMPLETED": "completed", "CANCELLED": "cancelled"}
_ASSIGNMENT = "maestro_assignment"  # engine.run.assignment.ASSIGNMENT (not imported: no SpiffWorkflow here)


def changes(instance, process: tuple[str, int], history: list[dict], gone: list[dict]) -> tuple[list, list]:
    """(rows of user tasks that began waiting, closings of those that ended) for the history rows and
    "gone" marks a commit writes; `process` is the instance's (key, version)."""
    opened, closed = [], []
    for entry in history:
        if entry["type"] != "userTask":
            continue
        if entry["state"] == "READY":
            row = _opened(instance, process, entry)
            if row is not None:
                opened.append(row)
        elif entry["state"] in _ENDED:
            closed.append({"instance": entry["instance_id"], "task": entry["task_id"],
                           "new_state": _ENDED[entry["state"]], "by": entry["actor"], "at": entry["at"]})
    closed += [{"instance": mark["instance_id"], "task": mark["task_id"], "new_state": "cancelled", "by": None,
                "at": now()} for mark in gone if mark["mark"] == "gone"]
    return opened, closed


def _opened(instance, process, entry):
    try:
        task = instance.workflow.get_task_from_id(UUID(entry["task_id"]))
    except Exception:  # not in the tree any more: nothing waits
        return None
    assignment = task.internal_data.get(_ASSIGNMENT) or {}
    return {"instance_id": entry["instance_id"], "task_id": entry["task_id"], "element": entry["bpmn_id"],
            "name": entry["name"], "process_key": process[0], "version": process[1],
            "business_key": instance.business_key, "assignee": assignment.get("assignee"),
            "candidate_users": assignment.get("candidate_users") or [],
            "candidate_groups": assignment.get("candidate_groups") or [],
            "due_at": _moment(assignment.get("due_at")), "follow_up_at": _moment(assignment.get("follow_up_at")),
            "priority": assignment.get("priority", 50), "created_at": entry["at"], "claimed_at": None,
            "state": "open", "completed_by": None, "completed_at": None}


def _moment(text):
    return datetime.fromisoformat(text) if text else None


def write(connection, opened: list, closed: list, ended: list[str]) -> None:
    """Writes a commit's changes: the tasks that began waiting, those that ended, and every open task of
    the instances that ended (`ended`: their ids) closed as cancelled."""
    if opened:
        connection.execute(_OPENED[connection.dialect.name], opened)
    if closed:
        connection.execute(_CLOSE, closed)
    if ended:
        connection.execute(_CLOSE_ALL, [{"instance": instance_id, "at": now()} for instance_id in ended])


# -- the task lists -------------------------------------------------------------

_COLUMNS = (*USER_TASKS.c, Definition.name.label("process_name"))
_LISTED = select(*_COLUMNS).select_from(USER_TASKS.outerjoin(
    Definition.__table__, and_(Definition.key == USER_TASKS.c.process_key, Definition.version == USER_TASKS.c.version)))


def open_rows(connection, view: str, person: str | None, key: str | None, limit: int):
    """The open tasks a list may show (up to `limit`), in list order: highest priority first, then the
    soonest due (those without a due date last), then the oldest. `view` narrows what SQL can:
    "mine" to the person's, "groups" and "unassigned" to those without an assignee."""
    query = _LISTED.where(USER_TASKS.c.state == "open")
    if view == "mine":
        query = query.where(USER_TASKS.c.assignee == person)
    elif view in ("groups", "unassigned"):
        query = query.where(USER_TASKS.c.assignee.is_(None))
    if key:
        query = query.where(USER_TASKS.c.process_key == key)
    query = query.order_by(USER_TASKS.c.priority.desc(), USER_TASKS.c.due_at.is_(None), USER_TASKS.c.due_at,
                           USER_TASKS.c.created_at, USER_TASKS.c.instance_id, USER_TASKS.c.task_id).limit(limit)
    return connection.execute(query).all()


def one(connection, instance_id: str, task_id: str):
    """The task's row (with its process name), or None."""
    return connection.execute(_LISTED.where(USER_TASKS.c.instance_id == instance_id,
                                            USER_TASKS.c.task_id == task_id)).first()


def claim(connection, instance_id: str, task_id: str, person: str) -> bool:
    """Assigns the open task to `person` unless someone else has it: one UPDATE, so of two claims at once
    one wins. True when the person has it now."""
    result = connection.execute(
        update(USER_TASKS).where(USER_TASKS.c.instance_id == instance_id, USER_TASKS.c.task_id == task_id,
                                 USER_TASKS.c.state == "open",
                                 or_(USER_TASKS.c.assignee.is_(None), USER_TASKS.c.assignee == person))
        .values(assignee=person, claimed_at=now()))
    return result.rowcount == 1


def unclaim(connection, instance_id: str, task_id: str, assignee: str) -> bool:
    """Gives the open task back (no assignee) while `assignee` has it; True when it did."""
    result = connection.execute(
        update(USER_TASKS).where(USER_TASKS.c.instance_id == instance_id, USER_TASKS.c.task_id == task_id,
                                 USER_TASKS.c.state == "open", USER_TASKS.c.assignee == assignee)
        .values(assignee=None, claimed_at=None))
    return result.rowcount == 1


def record(connection, row, state: str, actor: str, detail: dict) -> None:
    """A history row for a person's action on a task (CLAIMED, UNCLAIMED) that changes no task state."""
    person_actions.add(connection, row.instance_id, row.task_id, state, actor, bpmn_id=row.element, name=row.name,
                       kind="userTask", details_in=detail)


def moved_to_version(connection, instance_id: str, version: int) -> None:
    """The tasks of an instance migrated to another version of its process say so in the lists."""
    connection.execute(update(USER_TASKS).where(USER_TASKS.c.instance_id == instance_id).values(version=version))
