"""Whether this process traces, and where its spans go: configured once from the environment.

Off unless OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set; then spans are
batched to that OTLP endpoint, and the other standard OTEL_* variables (service name, resource,
sampler, headers, batch sizes, protocol) apply as the OpenTelemetry SDK reads them. OpenTelemetry
is imported only when tracing is on: off, a `maestro` command and a worker load none of it.
"""
import os
import sys
from contextvars import ContextVar

_tracer = None  # the Tracer Maestro's spans are made with; None: tracing is off
_provider = None
_configured = False
# (trace id, span id) the next span made must have: an instance's span, whose ids follow from its id (spans.py).
wanted_ids: ContextVar[tuple[int | None, int] | None] = ContextVar("maestro_wanted_span_ids", default=None)

DEFAULT_SERVICE_NAME = "maestro"


def tracer():
    """The Tracer of Maestro's spans, or None when tracing is off (the one check the hot path makes)."""
    return _tracer


def sampler():
    return _provider.sampler if _provider is not None else None


def configure_from_environment() -> None:
    """Turns tracing on once per process when the environment names an OTLP endpoint (a no-op after that,
    and when tracing was turned on by `enable`)."""
    global _configured
    if _configured:
        return
    _configured = True
    if _tracer is not None:
        return
    exporter = exporter_from_environment()
    if exporter is None:
        return
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    provider = enable(BatchSpanProcessor(exporter))
    # Handlers that make spans of their own (an instrumented HTTP client...) export them through it too,
    # unless the program set up OpenTelemetry itself.
    if not hasattr(trace.get_tracer_provider(), "add_span_processor"):
        trace.set_tracer_provider(provider)


def exporter_from_environment():
    """The OTLP span exporter the standard variables ask for, or None (tracing off).

    OTEL_EXPORTER_OTLP_PROTOCOL (or ..._TRACES_PROTOCOL) picks http/protobuf (the default) or grpc,
    which needs the package opentelemetry-exporter-otlp-proto-grpc; OTEL_SDK_DISABLED=true and
    OTEL_TRACES_EXPORTER=none turn tracing off.
    """
    environ = os.environ
    if not (environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")):
        return None
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true" \
            or environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return None
    protocol = (environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
                or "http/protobuf").strip().lower()
    if protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
        except ImportError:
            _warn("OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs the package opentelemetry-exporter-otlp-proto-grpc "
                  "(pip install it, or use http/protobuf); tracing is off")
            return None
        return GrpcExporter()
    if protocol != "http/protobuf":
        _warn(f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not supported (http/protobuf or grpc); tracing is off")
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    return OTLPSpanExporter()


def enable(processor, resource=None):
    """Traces from now on into `processor` (a SpanProcessor: tests give one over an InMemorySpanExporter);
    the TracerProvider made for it."""
    global _tracer, _provider
    from opentelemetry.sdk.trace import TracerProvider

    from .ids import InstanceSpanIds
    provider = TracerProvider(resource=resource or _default_resource(), id_generator=InstanceSpanIds(wanted_ids))
    provider.add_span_processor(processor)
    _provider, _tracer = provider, provider.get_tracer("maestro")
    return provider


def disable() -> None:
    """Tracing off again (the spans already made are flushed)."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _tracer = _provider = None


def _default_resource():
    """The resource of OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; named "maestro" when they name no service."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    default = Resource.create()
    if default.attributes.get(SERVICE_NAME, "").startswith("unknown_service"):
        return default.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    return default


def _warn(text):
    print(f"maestro: {text}", file=sys.stderr, flush=True)
