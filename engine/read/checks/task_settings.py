"""What extension properties set for running an element: a task's retry cycle and time limit, a message's
time to live, a user task's assignment (its static dates and priority, the syntax of its expressions)."""
from datetime import datetime, timezone

from engine.namespaces import NSMAP, local_name
from engine.read.assignments import assignment_of
from engine.read.message_details import TTL_PROPERTY
from engine.run.assignment import AssignmentError, is_expression, parse_moment, priority
from engine.run.handler_limits import PROPERTY, parse_limit
from engine.run.retries import parse_cycle
from engine.run.time_to_live import InvalidTimeToLive, ttl_seconds
from engine.sandbox.expressions import ExpressionError, compile_expression

from .located import problem_at


def retry_cycles(root, file_name):
    for cycle in root.iter(f"{{{NSMAP['camunda']}}}failedJobRetryTimeCycle"):
        if (cycle.text or "").strip() and parse_cycle(cycle.text) is None:
            task = cycle.getparent().getparent()
            yield problem_at(file_name, task, f"failedJobRetryTimeCycle '{cycle.text.strip()}' is not of the form "
                                              "R<tries>/<ISO 8601 duration>, e.g. R5/PT10S")


def time_limits(root, file_name):
    for prop in root.iter(f"{{{NSMAP['camunda']}}}property", f"{{{NSMAP['zeebe']}}}property"):
        text = (prop.get("value") or "").strip()
        if prop.get("name") == PROPERTY and parse_limit(text) is None:
            yield problem_at(file_name, _element_of(prop), f"{PROPERTY} '{text}' is not a time limit: give seconds "
                                                           "above 0 (e.g. 10) or an ISO 8601 duration (e.g. PT10S)")


def message_times_to_live(root, file_name):
    for prop in root.iter(f"{{{NSMAP['camunda']}}}property", f"{{{NSMAP['zeebe']}}}property"):
        if prop.get("name") != TTL_PROPERTY:
            continue
        text = (prop.get("value") or "").strip()
        try:
            ttl_seconds(text)
        except InvalidTimeToLive:
            yield problem_at(file_name, _element_of(prop), f"{TTL_PROPERTY} '{text}' is not a time to live: give "
                                                           "seconds (0 or more, e.g. 600) or an ISO 8601 duration "
                                                           "(e.g. PT10M)")


def user_task_assignments(root, file_name):
    """A user task's static due and follow-up dates must be ISO 8601 date-times or durations and its static
    priority an integer (0 to 100 in Camunda 8); its expressions must parse. (An expression's value is
    checked when the task becomes ready: engine.run.assignment.)"""
    for task in root.iter(f"{{{NSMAP['bpmn']}}}userTask"):
        facts = assignment_of(task)
        if not facts:
            continue
        for field, attribute in facts["attributes"].items():
            values = facts[field] if isinstance(facts[field], list) else [facts[field]]
            for text in values:
                problem = _assignment_problem(field, attribute, text, facts["dialect"] == "zeebe")
                if problem:
                    yield problem_at(file_name, task, problem)


def _assignment_problem(field, attribute, text, zeebe):
    if is_expression(text):
        try:
            compile_expression(text)
        except ExpressionError as error:
            return f"{attribute} {text!r}: {error.message}"
        return None
    if field in ("due", "follow_up"):
        try:
            parse_moment(text, datetime.now(timezone.utc))
        except ValueError as error:
            return f"{attribute}: {error}"
    if field == "priority":
        try:
            priority(text, attribute, zeebe)
        except AssignmentError as error:
            return str(error)
    return None


def _element_of(prop):
    """The BPMN element whose extension property `prop` is."""
    return next((node for node in prop.iterancestors(f"{{{NSMAP['bpmn']}}}*")
                 if local_name(node) != "extensionElements"), prop)
