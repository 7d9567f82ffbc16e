"""A user task's assignment (assignee, candidates, due and follow-up dates, priority), evaluated when
the task becomes ready, and the rule of who may work it.

The parser keeps what the diagram says (engine.read.assignments) in the spec's maestro facts; when
the task becomes ready, its expressions are evaluated against its variables and the result is kept
in the task's internal data, which is saved with it. An expression that fails, or gives what is not
a name, a date or a priority, fails the task (an incident naming the element and the attribute):
a task never waits silently unassigned because its assignee could not be worked out.
"""
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from SpiffWorkflow.bpmn.specs.defaults import UserTask
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.sandbox.expressions import ExpressionError, evaluate

from .specs import maestro_info
from .spiff import touched

ASSIGNMENT = "maestro_assignment"  # in a ready user task's internal data: the evaluated assignment
_FAILED = "maestro_assignment_failures"  # on the top workflow: (task, message) not yet failed
DEFAULT_PRIORITY = 50


class AssignmentError(Exception):
    """A value of a user task's assignment that cannot be used (the message names the attribute)."""


class MaestroUserTask(UserTask):
    """A user task that works out its assignment when it becomes ready."""

    def _update_hook(self, my_task):
        ready = super()._update_hook(my_task)
        if ready:
            assign(my_task)
        return ready


def assign(task) -> None:
    """Evaluates the task's assignment into its internal data; a failure is kept for the runtime to
    fail the task with (take_failure), since SpiffWorkflow is in the middle of another task's
    completion here."""
    facts = maestro_info(task.task_spec).get("assignment")
    task.internal_data.pop(ASSIGNMENT, None)
    try:
        task.internal_data[ASSIGNMENT] = evaluated(facts, task.data, _ready_at(task))
    except AssignmentError as error:
        failures = task.workflow.top_workflow.__dict__.setdefault(_FAILED, [])
        failures.append((task, str(error)))
    touched.mark(task)  # its internal data changed without a change of state


def take_failure(top) -> tuple[Any, str] | None:
    """(a user task whose assignment failed, the message) still in the tree, or None; forgets it."""
    failures = top.__dict__.get(_FAILED)
    while failures:
        task, message = failures.pop(0)
        if task.workflow.tasks.get(task.id) is task:
            return task, message
    return None


def is_expression(text: str) -> bool:
    """Whether a value is an expression to evaluate (JUEL `${...}`, FEEL `=...`), not a literal."""
    stripped = text.strip()
    return (stripped[:2] in ("${", "#{") and stripped.endswith("}")) or stripped.startswith("=")


def split_list(text: str) -> list[str]:
    """The items of a comma separated list; a comma inside `${...}` or brackets belongs to its item,
    and a FEEL expression (`=...`) is one item however many commas it holds."""
    if text.strip().startswith("="):
        return [text.strip()]
    items, depth, current = [], 0, ""
    for char in text:
        if char in "{([":
            depth += 1
        elif char in "})]":
            depth = max(0, depth - 1)
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    return [item.strip() for item in items if item.strip()]


def _ready_at(task) -> datetime:
    """Now: the hook runs as the task becomes ready (its state changes just after)."""
    return datetime.now(timezone.utc)


def evaluated(facts: Mapping | None, variables: Mapping, ready_at: datetime) -> dict:
    """{"assignee", "candidate_users", "candidate_groups", "due_at", "follow_up_at", "priority"} of
    the facts read from the diagram (None: the diagram gives none), dates as ISO 8601 text in UTC;
    AssignmentError for a value that cannot be used."""
    facts = facts or {}
    attributes = facts.get("attributes", {})

    def value(field):
        text = facts.get(field)
        if text is None:
            return None
        return _evaluate(text, variables, attributes.get(field, field)) if is_expression(text) else text

    assignee = value("assignee")
    if assignee is not None and not isinstance(assignee, str):
        raise AssignmentError(f"{attributes.get('assignee')} {facts['assignee']!r} gave {assignee!r}, not a name")
    return {
        "assignee": assignee.strip() or None if isinstance(assignee, str) else None,
        "candidate_users": _names(facts, "candidate_users", variables),
        "candidate_groups": _names(facts, "candidate_groups", variables),
        "due_at": _moment(value("due"), ready_at, attributes.get("due")),
        "follow_up_at": _moment(value("follow_up"), ready_at, attributes.get("follow_up")),
        "priority": priority(value("priority"), attributes.get("priority"), facts.get("dialect") == "zeebe"),
    }


def _evaluate(text, variables, attribute):
    try:
        return evaluate(text, dict(variables))
    except ExpressionError as error:
        raise AssignmentError(f"{attribute} {text!r}: {error.message}") from error


def _names(facts, field, variables) -> list[str]:
    """The names of a candidate list: each item a name, or an expression giving a name, a list of
    names or a comma separated text of them."""
    attribute = facts.get("attributes", {}).get(field, field)
    names: list[str] = []
    for item in facts.get(field) or []:
        result = _evaluate(item, variables, attribute) if is_expression(item) else item
        if result is None:
            continue
        if isinstance(result, str):
            names += split_list(result)
        elif isinstance(result, (list, tuple)) and all(isinstance(name, str) for name in result):
            names += [name.strip() for name in result if name.strip()]
        else:
            raise AssignmentError(f"{attribute} {item!r} gave {result!r}, not a name or a list of names")
    return list(dict.fromkeys(names))


def parse_moment(value: Any, ready_at: datetime) -> datetime | None:
    """An ISO 8601 date-time (no offset: UTC) or duration (from `ready_at`) as a UTC datetime;
    ValueError for anything else."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip().upper().startswith("P"):
        try:
            parsed = TimerEventDefinition.parse_iso_duration(value.strip())
        except Exception as error:
            raise ValueError(f"{value!r} is not an ISO 8601 duration") from error
        return ready_at + TimerEventDefinition.get_timedelta_from_start(parsed, ready_at)
    elif isinstance(value, str) and "T" in value:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError as error:
            raise ValueError(f"{value!r} is not an ISO 8601 date-time") from error
    else:
        raise ValueError(f"{value!r} is neither an ISO 8601 date-time (2026-12-24T18:00:00Z) "
                         "nor a duration (P2D)")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _moment(value, ready_at, attribute) -> str | None:
    try:
        moment = parse_moment(value, ready_at)
    except ValueError as error:
        raise AssignmentError(f"{attribute}: {error}") from error
    return moment.isoformat() if moment is not None else None


def priority(value: Any, attribute: str | None = None, zeebe: bool = False) -> int:
    """A priority as an integer (the default when none is given); AssignmentError for anything else."""
    if value is None or value == "":
        return DEFAULT_PRIORITY
    if isinstance(value, bool):
        raise AssignmentError(f"{attribute}: {value!r} is not an integer priority")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise AssignmentError(f"{attribute}: {value!r} is not an integer priority") from None
    if not isinstance(value, int):
        raise AssignmentError(f"{attribute}: {value!r} is not an integer priority")
    if zeebe and not 0 <= value <= 100:
        raise AssignmentError(f"{attribute}: {value} is not between 0 and 100")
    return value


def may_work(task: Mapping, person: str | None, groups: Iterable[str]) -> bool:
    """Whether `person` (in `groups`) may work a user task ({assignee, candidate_users,
    candidate_groups}): its assignee may; an unassigned task is open to its candidate users and to
    the members of its candidate groups, and, when it names no candidates, to every worker.
    (Operators and admins may work any task: the caller knows their roles.)"""
    assignee = task.get("assignee")
    if assignee:
        return person is not None and person == assignee
    users, task_groups = task.get("candidate_users") or [], task.get("candidate_groups") or []
    if not users and not task_groups:
        return True
    return (person is not None and person in users) or bool(set(groups) & set(task_groups))


def overdue(due_at: datetime | None, now: datetime | None = None) -> bool:
    return due_at is not None and due_at < (now or datetime.now(timezone.utc))

