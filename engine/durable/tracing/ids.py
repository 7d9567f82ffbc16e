"""Span ids for Maestro's TracerProvider: random, except where an instance's span is made."""
from contextvars import ContextVar

from opentelemetry.sdk.trace.id_generator import RandomIdGenerator


class InstanceSpanIds(RandomIdGenerator):
    """Random ids, but the ids `wanted` holds when it holds some.

    An instance outlives any process, so its span is made when it ends, by whichever worker ends it,
    long after its task spans named it as their parent: its id must follow from the instance (spans.py),
    and the SDK takes ids from the provider's IdGenerator only.
    """

    def __init__(self, wanted: ContextVar):
        self.wanted = wanted

    def generate_span_id(self) -> int:
        ids = self.wanted.get()
        return ids[1] if ids else super().generate_span_id()

    def generate_trace_id(self) -> int:
        ids = self.wanted.get()
        return ids[0] if ids and ids[0] else super().generate_trace_id()
