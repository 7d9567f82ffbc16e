"""Timer values, checked at deploy rather than when the timer is reached."""
import re

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.namespaces import NSMAP
from engine.read import timer_values
from engine.sandbox.expressions import ExpressionError, compile_expression

from .located import problem_at

TIMER_FORMS = {  # timer element -> (what a literal must be, how SpiffWorkflow reads it)
    "timeDate": ("an ISO 8601 date-time, e.g. 2026-12-24T18:00:00Z", TimerEventDefinition.parse_time_or_duration),
    "timeDuration": ("an ISO 8601 duration, e.g. PT1H or P2D", TimerEventDefinition.parse_iso_duration),
    "timeCycle": ("an ISO 8601 repeating interval, e.g. R3/PT10M", TimerEventDefinition.parse_iso_recurring_interval),
}


CRON = re.compile(r"^[\d*?/,LW#A-Z-]+(\s+[\d*?/,LW#A-Z-]+){4,6}$")


def timers(root, file_name):
    """A literal must read as its kind, anything else must be an expression; cron cycles (Camunda 7
    accepts them) are neither."""
    for kind, (expected, read) in TIMER_FORMS.items():
        for node in root.iter(f"{{{NSMAP['bpmn']}}}{kind}"):
            text = (node.text or "").strip()
            if not text:
                continue
            event = node.getparent().getparent()
            value = timer_values.literal(kind, text)
            if value is not None:
                try:
                    read(value)
                except Exception:  # SpiffWorkflow raises plain Exceptions and ValueErrors here
                    yield problem_at(file_name, node, f"timer {text!r} is not {expected}", event.get("id", ""))
                continue
            if CRON.match(text):
                yield problem_at(file_name, node, f"timer {text!r} is a cron expression, which Maestro does not "
                                                  f"read: write {expected}", event.get("id", ""))
                continue
            try:
                compile_expression(text)
            except ExpressionError as error:
                yield problem_at(file_name, node, f"timer {text!r} does not read as an expression "
                                                  f"({error.message}); a literal must be {expected}",
                                 event.get("id", ""))
