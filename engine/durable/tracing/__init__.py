"""OpenTelemetry tracing of instances, tasks and messages (README, "Tracing").

Off unless the environment names an OTLP endpoint (setup.py); off, each call here is one check and
OpenTelemetry is never imported, while a trace context given from outside (a traceparent) is still
stored and passed on with the messages, so that a process that traces further on continues the trace.
On, spans.py makes the spans. Which is the job of which module:
  traceparent.py  the W3C text form stored in `instances.trace` and `messages.trace`
  setup.py        on or off, the provider and its exporter, from the environment
  ids.py          the ids of an instance's span, which follow from the instance
  spans.py        the spans of instances, task handler calls, publishing and delivering
"""
from . import setup
from .setup import configure_from_environment, disable, enable, exporter_from_environment
from .traceparent import normalized

__all__ = ["configure_from_environment", "enable", "disable", "exporter_from_environment", "for_instance", "of",
           "of_caller", "published", "delivered", "now_ns"]


def for_instance(row):
    """The InstanceTrace of a loaded instance's row (id, key, business_key, trace, created_at), or None when
    tracing is off."""
    tracer = setup.tracer()
    if tracer is None:
        return None
    from .spans import InstanceTrace
    return InstanceTrace(tracer, row.id, row.key, row.business_key, row.trace, row.created_at)


def of(instance):
    """The InstanceTrace a loaded instance runs under (None when tracing is off)."""
    return instance.workflow.script_engine.tracing


def of_caller(given: str | None = None) -> str | None:
    """The traceparent of whoever starts an instance or publishes: `given` (an HTTP traceparent header,
    TRACEPARENT) when valid, else, tracing on, the current span's; or None."""
    given = normalized(given)
    if given is not None or setup.tracer() is None:
        return given
    from .spans import current_traceparent
    return current_traceparent()


def published(row: dict, caller: str | None) -> str | None:
    """The traceparent to store with a message or signal published from outside: its publish span's,
    a child of the caller's; tracing off, the caller's own (passed on)."""
    tracer = setup.tracer()
    if tracer is None:
        return normalized(caller)
    from .spans import published_from_outside
    return published_from_outside(tracer, row, caller)


def delivered(message, receiver_id: str, receiver_key: str, receiver_trace: str | None, began_ns: int,
              element: str | None = None) -> None:
    """Records a delivery to an instance (`element`: its catch; None when the message started it)."""
    tracer = setup.tracer()
    if tracer is not None:
        from .spans import delivered as span
        span(tracer, message, receiver_id, receiver_key, receiver_trace, began_ns, element)


def now_ns() -> int:
    """When a delivery began (time.time_ns): only taken when tracing is on."""
    if setup.tracer() is None:
        return 0
    import time
    return time.time_ns()
