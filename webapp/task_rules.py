"""Who may see and do what with a user task, for the Tasks page and /api/tasks alike.

The rule of who may work a task is the engine's (engine.run.assignment.may_work); here it meets the
roles of the person asking (webapp.access): operators and admins may work any task, a viewer may
only look. Each check raises a refusal the page and the API answer alike (403 not yours, 409 taken).
"""
from engine.durable.errors import NotFound, NotYours, TaskTaken
from engine.run.assignment import may_work

from . import access


def asking() -> tuple[str | None, list[str]]:
    """(the person asking, their groups)."""
    return access.person(), list(access.groups())


def is_operator() -> bool:
    return access.may("operator")


def views() -> tuple[str, ...]:
    """The lists the person may open: every worker has theirs; "all" is for operators, and viewers
    read it (and only it)."""
    if access.may("worker") and not is_operator():
        return ("mine", "groups", "unassigned")
    if access.may("worker"):
        return ("mine", "groups", "unassigned", "all")
    return ("all",)


def may_claim(task: dict) -> bool:
    """Whether the asker may take the task: an open one offered to them (or to everyone), or any as operator."""
    person, groups = asking()
    if task["state"] != "open" or not access.may("worker"):
        return False
    return bool(person) and (is_operator() or may_work({**task, "assignee": None}, person, groups))


def check_claim(task: dict) -> str:
    """The person claiming `task` (NotYours, TaskTaken when they may not)."""
    person, _ = asking()
    _check_open(task)
    if not person:
        raise NotYours("sign in to claim tasks: a task is claimed for a person")
    if task["assignee"] and task["assignee"] != person:
        raise TaskTaken(f"the task '{task['name']}' is claimed by {task['assignee']}")
    if not may_claim(task):
        raise NotYours(f"the task '{task['name']}' is not offered to you or your groups")
    return person


def check_unclaim(task: dict) -> None:
    person, _ = asking()
    _check_open(task)
    if task["assignee"] and task["assignee"] != person and not is_operator():
        raise NotYours(f"the task '{task['name']}' is {task['assignee']}'s: only they or an operator may "
                       "give it back")


def may_complete(task: dict) -> bool:
    person, groups = asking()
    return task["state"] == "open" and access.may("worker") and (is_operator() or may_work(task, person, groups))


def check_complete(task: dict) -> None:
    person, _ = asking()
    _check_open(task)
    if is_operator():
        return
    if task["assignee"] and task["assignee"] != person:
        raise TaskTaken(f"the task '{task['name']}' is claimed by {task['assignee']}")
    if not may_complete(task):
        raise NotYours(f"the task '{task['name']}' is not offered to you or your groups")


def check_completion_by_reference(maestro, instance_id: str, task_ref: str) -> None:
    """check_complete for a completion from an instance's page or /api/instances/ID/tasks/REF/complete
    (REF: a task id or an element id), so that no way round the Tasks page skips the rule."""
    check_waiting_task(maestro, next((task for task in maestro.show(instance_id)["waiting"]
                                      if task_ref in (task["id"], task["bpmn_id"])), None), instance_id)


def check_waiting_task(maestro, waiting: dict | None, instance_id: str) -> None:
    """check_complete for a waiting task of an instance's page (an entry of its `waiting`). A task that is
    no user task (a receive task: completing it by hand stands for the message) is for operators."""
    if waiting is None:
        return  # the engine says what is wrong (not waiting)
    if waiting["type"] != "userTask":
        if not is_operator():
            raise NotYours(f"'{waiting['name'] or waiting['bpmn_id']}' waits for a message: triggering it by hand "
                           "needs the operator role")
        return
    try:
        check_complete(maestro.user_task(instance_id, waiting["id"]))
    except NotFound:  # waiting since before the task lists (migration 0015): only on its instance's page
        if not access.may("worker"):
            raise NotYours("completing a task needs the worker role") from None


def workable(maestro, shown: dict) -> set[str]:
    """The ids of the waiting tasks of an instance (`shown`) the person asking may complete on its page."""
    if shown.get("suspended"):
        return set()
    found = set()
    for waiting in shown["waiting"]:
        try:
            check_waiting_task(maestro, waiting, shown["id"])
        except (NotYours, TaskTaken):
            continue
        found.add(waiting["id"])
    return found


def _check_open(task):
    if task["state"] != "open":
        raise TaskTaken(f"the task '{task['name']}' no longer waits: it is {task['state']}")
