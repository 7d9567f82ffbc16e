"""The spans Maestro makes, when tracing is on (imported only then).

An instance outlives the processes that run it, so it is no live span. Its trace is fixed when it
starts: its starter's (an API request's traceparent, the current span of the program that called
`start`, the message that started it), stored as `instances.trace`; an instance started without
any has a trace of its own, whose ids follow from its id. Its span's id follows from its id too
(instance_ids), so every worker names the same parent for the spans of its tasks and of the
messages it throws; the span itself is made when the instance completes or is cancelled, from its
start time, by whichever worker ends it (ids.InstanceSpanIds gives it the id).
"""
import hashlib
from contextlib import contextmanager
from datetime import datetime, timezone

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from engine.handlers import BpmnError

from . import setup
from .traceparent import SAMPLED, parse

INSTANCE_ID, PROCESS_KEY, BUSINESS_KEY = "maestro.instance.id", "maestro.process.key", "maestro.business_key"
OUTCOME = "maestro.task.outcome"


def instance_ids(instance_id: str) -> tuple[int, int]:
    """(trace id, span id) of an instance: the trace id is its own trace's when it was started without any."""
    digest = hashlib.sha256(instance_id.encode()).digest()
    return int.from_bytes(digest[:16], "big") or 1, int.from_bytes(digest[16:24], "big") or 1


def traceparent(span) -> str:
    context = span.get_span_context()
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def remote_context(text: str | None) -> Context | None:
    """The OpenTelemetry context of a stored traceparent (None when there is none)."""
    parsed = parse(text)
    if parsed is None:
        return None
    return trace.set_span_in_context(NonRecordingSpan(_span_context(parsed.trace_id, parsed.span_id, parsed.flags)))


def current_traceparent() -> str | None:
    """The current span's traceparent (a program that calls Maestro inside a span of its own), or None."""
    span = trace.get_current_span()
    return traceparent(span) if span.get_span_context().is_valid else None


class InstanceTrace:
    """One instance's place in its trace, for the spans of its tasks and of the messages it throws."""

    def __init__(self, tracer, instance_id: str, key: str, business_key: str | None, stored: str | None,
                 created_at: datetime | None = None):
        self.tracer, self.instance_id, self.key, self.created_at = tracer, instance_id, key, created_at
        self.starter = parse(stored)  # the span that started it, or None: a trace of its own
        trace_id, self.span_id = instance_ids(instance_id)
        if self.starter is not None:
            trace_id, flags = self.starter.trace_id, self.starter.flags
        else:
            flags = SAMPLED if _sampled(trace_id, f"instance {key}") else 0
        self.trace_id = trace_id
        self.context = trace.set_span_in_context(NonRecordingSpan(_span_context(trace_id, self.span_id, flags)))
        self.attributes = {INSTANCE_ID: instance_id, PROCESS_KEY: key}
        if business_key is not None:
            self.attributes[BUSINESS_KEY] = business_key

    @contextmanager
    def handler_call(self, task, element_id: str):
        """The span of one call of a task's handler (`task` its TaskContext); current while it runs, so
        that the spans a handler makes, and the context it passes on, belong to the instance's trace."""
        attributes = {**self.attributes, "maestro.element.id": element_id, "maestro.task.name": task.task_name,
                      "maestro.task.attempt": task.attempt, "maestro.task.topic": task.topic or ""}
        with self.tracer.start_as_current_span(f"task {task.task_name}", context=self.context, attributes=attributes,
                                               record_exception=False, set_status_on_exception=False) as span:
            try:
                yield
            except BpmnError as error:  # a business outcome, not an error of the trace
                span.set_attributes({OUTCOME: "bpmn_error", "maestro.bpmn_error.code": error.code})
                raise
            except BaseException as error:
                span.set_attribute(OUTCOME, "failed" if isinstance(error, Exception) else "interrupted")
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
                raise
            span.set_attribute(OUTCOME, "completed")

    def completed_by_user(self, task_name: str, element_id: str, actor: str) -> None:
        """The span of a user task's completion (committed just now): a task span of no duration."""
        attributes = {**self.attributes, "maestro.element.id": element_id, "maestro.task.name": task_name,
                      "maestro.task.completed_by": actor, OUTCOME: "completed"}
        self.tracer.start_span(f"task {task_name}", context=self.context, attributes=attributes).end()

    def published(self, row: dict) -> str:
        """The traceparent of the span that publishes a message or signal the instance threw (a child of its span)."""
        attributes = {**self.attributes, "maestro.element.id": row["source_element"]}
        return _publish(self.tracer, row, self.context, attributes)

    def ended(self, status: str, ended_at: datetime | None = None) -> None:
        """Makes the instance's span, from its start to now that it ended (completed or cancelled)."""
        parent = self.starter
        context = remote_context(parent.text()) if parent is not None else Context()  # Context(): a root span
        token = setup.wanted_ids.set((self.trace_id, self.span_id))
        try:
            span = self.tracer.start_span(f"instance {self.key}", context=context, start_time=_ns(self.created_at),
                                          attributes={**self.attributes, "maestro.instance.status": status})
        finally:
            setup.wanted_ids.reset(token)
        span.end(end_time=_ns(ended_at) if ended_at else None)


def published_from_outside(tracer, row: dict, caller: str | None) -> str:
    """The traceparent of the span publishing a message or signal from outside (the API, `maestro publish`):
    a child of the caller's span (`caller`, else the current one), or the root of a new trace."""
    return _publish(tracer, row, remote_context(caller), {})


def delivered(tracer, message, receiver_id: str, receiver_key: str, receiver_trace: str | None, began_ns: int,
              element: str | None) -> None:
    """The span of a delivery, in the receiver's trace. To a waiting instance (at its catch `element`):
    a child of the instance's span, linked to the span that published the message, whose trace may be
    another. Starting an instance (`element` None), which takes the message's trace: a child of the
    publishing span, like the instance's own span."""
    receiver = InstanceTrace(tracer, receiver_id, receiver_key, None, receiver_trace)
    publisher = parse(message.trace)
    if element is None and publisher is not None:
        parent, links = remote_context(message.trace), []
    else:
        parent = receiver.context
        links = [Link(_span_context(publisher.trace_id, publisher.span_id, publisher.flags))] if publisher else []
    attributes = {**receiver.attributes, **_messaging(message.kind, message.name, message.id, "process"),
                  "maestro.element.id": element or "", "maestro.delivery.started_instance": element is None}
    span = tracer.start_span(f"deliver {message.name}", context=parent, kind=SpanKind.CONSUMER,
                             links=links, start_time=began_ns, attributes=attributes)
    span.end()


def _publish(tracer, row, context, attributes) -> str:
    span = tracer.start_span(f"publish {row['name']}", context=context, kind=SpanKind.PRODUCER,
                             attributes={**attributes, **_messaging(row["kind"], row["name"], row["id"], "send")})
    span.end()
    return traceparent(span)


def _messaging(kind, name, message_id, operation):
    """The OpenTelemetry semantic conventions' attributes of a messaging span."""
    return {"messaging.system": "maestro", "messaging.operation.type": operation,
            "messaging.destination.name": name, "messaging.message.id": message_id, "maestro.message.kind": kind}


def _span_context(trace_id, span_id, flags):
    return SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(flags))


def _sampled(trace_id, name) -> bool:
    """Whether the sampler keeps a trace that starts here (its root decision)."""
    sampler = setup.sampler()
    return sampler is None or sampler.should_sample(None, trace_id, name).decision.is_sampled()


def _ns(moment: datetime) -> int:
    if moment.tzinfo is None:  # SQLite gives back naive UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1e9)


