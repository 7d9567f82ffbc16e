"""W3C trace context (https://www.w3.org/TR/trace-context/) as text: the `traceparent` that
`instances.trace` and `messages.trace` hold, an HTTP request carries, and `TRACEPARENT` gives a
command. The standard library alone: with tracing off, a context is passed on without loading OpenTelemetry.
"""
import re
from typing import NamedTuple

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
SAMPLED = 0x01


class TraceParent(NamedTuple):
    trace_id: int
    span_id: int
    flags: int

    def text(self) -> str:
        return f"00-{self.trace_id:032x}-{self.span_id:016x}-{self.flags:02x}"

    @property
    def sampled(self) -> bool:
        return bool(self.flags & SAMPLED)


def parse(text: str | None) -> TraceParent | None:
    """The trace context a traceparent names, or None when `text` is not a valid one (then it is ignored,
    as the W3C recommends: a bad header starts a new trace rather than failing the request)."""
    if not text or len(text) > 512:
        return None
    match = _TRACEPARENT.match(text.strip().lower())
    if match is None:
        return None
    version, trace_id, span_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest) or not int(trace_id, 16) or not int(span_id, 16):
        return None
    return TraceParent(int(trace_id, 16), int(span_id, 16), int(flags, 16))


def normalized(text: str | None) -> str | None:
    """`text` as the version-00 traceparent Maestro stores (it fits the 64 characters of the columns), or None."""
    parsed = parse(text)
    return parsed.text() if parsed else None
