"""Time limits on handlers: a handler that runs too long is a technical failure, not a hung worker.

A limit comes from the diagram (an extension property `maestro.timeout` on the
service task, in Camunda 7's `camunda:properties` or Camunda 8's
`zeebe:properties`: seconds, or an ISO 8601 duration such as PT10S) or else
from the binding (`@handlers.task("charge", timeout=10)`). A limited handler
runs in a thread of its own that the worker waits for at most that long. Python
cannot stop a thread: a handler over its limit is abandoned, still running,
and whatever it does later is ignored.
"""
import contextvars
import threading

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.namespaces import extension_property

PROPERTY = "maestro.timeout"


class HandlerTimeout(Exception):
    """A handler ran over its time limit (a technical failure: retried, then an incident)."""


def declared_limit(node) -> str | None:
    """The text of the service task's `maestro.timeout` property, if it has one."""
    return extension_property(node, PROPERTY)


def parse_limit(text: str | None) -> float | None:
    """Seconds from "10", "2.5" or "PT10S"; None when `text` is none of those or not above zero."""
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            duration = TimerEventDefinition.parse_iso_duration(text)
            seconds = TimerEventDefinition.get_timedelta_from_start(duration).total_seconds()
        except Exception:  # SpiffWorkflow raises a bare Exception for a bad duration
            return None
    return seconds if 0 < seconds < float("inf") else None


def limit_for(info: dict, binding_timeout: float | None) -> float | None:
    """The diagram's limit for this task if it sets one, else the binding's."""
    return parse_limit(info.get("time_limit")) or binding_timeout


def call(function, argument, seconds: float | None, what: str):
    """`function(argument)`, or HandlerTimeout if it has not returned within `seconds` (None: no limit).

    Whatever the function raises is raised here, as if it had been called directly.
    """
    if seconds is None:
        return function(argument)
    outcome = {}

    def run():
        try:
            outcome["result"] = function(argument)
        except BaseException as error:  # handed to the caller's thread, which decides
            outcome["error"] = error

    context = contextvars.copy_context()  # the handler sees the caller's context (tracing, logging)
    thread = threading.Thread(target=context.run, args=(run,), name=f"handler {what}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise HandlerTimeout(f"{what} ran over its time limit of {seconds:g} s; it was abandoned "
                             "(its thread may still be running: Python cannot stop it)")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
