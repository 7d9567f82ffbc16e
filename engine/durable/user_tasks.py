"""The user tasks job: the task lists people work from, and claiming and giving back a task.

What a list shows is the user_tasks table (store.user_task_rows), which every commit that makes a
user task wait, completes it or ends it keeps in step with the instance. Who may work a task is one
rule (engine.run.assignment.may_work): the web app asks it too.
"""
from datetime import datetime, timezone

from engine.run.assignment import may_work

from .errors import NotFound, NotYours, TaskTaken
from .store import user_task_rows
from .summaries import iso

VIEWS = ("mine", "groups", "unassigned", "all")
# A list reads at most this many rows to filter by candidates: task lists are for people, not for bulk.
_SCAN = 5000


class UserTasks:
    """Maestro's user task methods, over its Context."""

    def __init__(self, context):
        self.context = context

    def tasks(self, person, groups, view="mine", key=None, limit=50, after=None):
        """{"tasks": [...], "next": cursor of the following page or None} (see Maestro.tasks)."""
        if view not in VIEWS:
            raise ValueError(f"view must be one of {', '.join(VIEWS)}, not {view!r}")
        groups = list(groups or [])
        with self.context.Session() as session:
            rows = user_task_rows.open_rows(session.connection(), view, person, key, _SCAN)
        listed = [row for row in rows if _in_view(row, view, person, groups)]
        if after:
            position = _cursor(after)
            listed = [row for row in listed if _order(row) > position]
        page, more = listed[:limit], len(listed) > limit
        return {"tasks": [task_summary(row) for row in page],
                "next": _cursor_of(page[-1]) if more and page else None}

    def task(self, instance_id, task_id):
        """One user task (open or not) as the lists show it, with its `state`; NotFound when none."""
        with self.context.Session() as session:
            row = user_task_rows.one(session.connection(), instance_id, task_id)
        if row is None:
            raise NotFound(f"no user task '{task_id}' in instance '{instance_id}'")
        return task_summary(row)

    def claim(self, instance_id, task_id, person, by=None):
        """Assigns the task to `person` (TaskTaken when someone else has it or it no longer waits)."""
        if not person:
            raise NotYours("nobody to claim the task for: a claim needs a person")
        with self.context.Session() as session:
            connection = session.connection()
            row = self._row(connection, instance_id, task_id)
            if not user_task_rows.claim(connection, instance_id, task_id, person):
                session.rollback()
                raise TaskTaken(_why_not(self._row(session.connection(), instance_id, task_id), person))
            if row.assignee != person:  # claiming one's own task again changes nothing and records nothing
                user_task_rows.record(connection, row, "CLAIMED", by or person, {"assignee": person})
            session.commit()
        return self.task(instance_id, task_id)

    def unclaim(self, instance_id, task_id, person, by=None, as_operator=False):
        """Gives the task back (no assignee): only its assignee may, or an operator (`as_operator`)."""
        with self.context.Session() as session:
            connection = session.connection()
            row = self._row(connection, instance_id, task_id)
            if row.state != "open":
                raise TaskTaken(f"the task '{row.name or row.element}' no longer waits: it is {row.state}")
            if row.assignee is None:
                return task_summary(row)
            if row.assignee != person and not as_operator:
                raise NotYours(f"the task '{row.name or row.element}' is {row.assignee}'s: only they "
                               "or an operator may give it back")
            if not user_task_rows.unclaim(connection, instance_id, task_id, row.assignee):
                session.rollback()
                raise TaskTaken(_why_not(self._row(session.connection(), instance_id, task_id), person))
            user_task_rows.record(connection, row, "UNCLAIMED", by or person or "operator",
                                  {"assignee": row.assignee})
            session.commit()
        return self.task(instance_id, task_id)

    @staticmethod
    def _row(connection, instance_id, task_id):
        row = user_task_rows.one(connection, instance_id, task_id)
        if row is None:
            raise NotFound(f"no user task '{task_id}' in instance '{instance_id}'")
        return row


def _why_not(row, person):
    if row.state != "open":
        return f"the task '{row.name or row.element}' no longer waits: it is {row.state}"
    return f"the task '{row.name or row.element}' is claimed by {row.assignee}"


def _in_view(row, view, person, groups):
    """mine: assigned to the person; groups: unassigned and offered to them by name or by a group of
    theirs; unassigned: unassigned and offered to nobody in particular (every worker); all: every one."""
    if view == "groups":
        return row.assignee is None and bool(row.candidate_users or row.candidate_groups) and \
            may_work(_as_task(row), person, groups)
    if view == "unassigned":
        return row.assignee is None and not row.candidate_users and not row.candidate_groups
    return True


def _as_task(row):
    return {"assignee": row.assignee, "candidate_users": row.candidate_users, "candidate_groups": row.candidate_groups}


def _aware(moment):
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


def _order(row):
    """The list order as a comparable tuple (the cursor's meaning)."""
    due = _aware(row.due_at)
    return (-row.priority, due is None, due.isoformat() if due else "", _aware(row.created_at).isoformat(),
            row.instance_id, row.task_id)


def _cursor_of(row):
    priority, _, due, created, instance_id, task_id = _order(row)
    return "|".join((str(-priority), due, created, instance_id, task_id))


def _cursor(text):
    try:
        priority, due, created, instance_id, task_id = text.split("|")
        return (-int(priority), due == "", due, created, instance_id, task_id)
    except ValueError:
        raise ValueError(f"not a page cursor: {text[:80]!r}") from None


def task_summary(row) -> dict:
    """A user_tasks row as the API gives it."""
    due = _aware(row.due_at)
    return {"instance_id": row.instance_id, "task_id": row.task_id, "element": row.element, "name": row.name,
            "key": row.process_key, "version": row.version, "process_name": row.process_name,
            "business_key": row.business_key, "assignee": row.assignee,
            "candidate_users": list(row.candidate_users or []), "candidate_groups": list(row.candidate_groups or []),
            "due_at": iso(row.due_at), "follow_up_at": iso(row.follow_up_at), "priority": row.priority,
            "created_at": iso(row.created_at), "claimed_at": iso(row.claimed_at), "state": row.state,
            "completed_by": row.completed_by, "completed_at": iso(row.completed_at),
            "overdue": row.state == "open" and due is not None and due < datetime.now(timezone.utc)}
