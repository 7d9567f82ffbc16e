"""Tracing (README, "Tracing"): every instance, task handler call and message is an OpenTelemetry span,
and one business transaction is one trace across the instances its messages reach or start.
Spans are read from the SDK's InMemorySpanExporter; nothing needs a collector."""
import subprocess
import sys

import pytest
from cli_helpers import SAGA
from durable_helpers import drain, fresh_maestro
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from web_helpers import signed_in

from engine import Handlers, load_handler_module
from engine.durable import tracing

CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
CALLER_TRACE = int("0af7651916cd43dd8448eb211c80319c", 16)

NS = 'xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'
# "order" reserves, tells "payment" (which starts on it) that an order was placed, and waits for its answer.
HOP = f"""<definitions {NS} targetNamespace="t">
  <message id="m_placed" name="order_placed"/><message id="m_paid" name="order_paid"/>
  <process id="order" isExecutable="true">
    <startEvent id="s"/><serviceTask id="reserve" camunda:topic="reserve"/>
    <intermediateThrowEvent id="placed"><messageEventDefinition messageRef="m_placed"/></intermediateThrowEvent>
    <intermediateCatchEvent id="paid"><messageEventDefinition messageRef="m_paid"/></intermediateCatchEvent>
    <serviceTask id="ship" camunda:topic="ship"/><endEvent id="e"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="reserve"/><sequenceFlow id="f2" sourceRef="reserve" targetRef="placed"/>
    <sequenceFlow id="f3" sourceRef="placed" targetRef="paid"/><sequenceFlow id="f4" sourceRef="paid" targetRef="ship"/>
    <sequenceFlow id="f5" sourceRef="ship" targetRef="e"/>
  </process>
  <process id="payment" isExecutable="true">
    <startEvent id="ps"><messageEventDefinition messageRef="m_placed"/></startEvent>
    <serviceTask id="charge" camunda:topic="charge"/>
    <endEvent id="pe"><messageEventDefinition messageRef="m_paid"/></endEvent>
    <sequenceFlow id="g1" sourceRef="ps" targetRef="charge"/><sequenceFlow id="g2" sourceRef="charge" targetRef="pe"/>
  </process>
</definitions>"""


@pytest.fixture
def spans():
    """Tracing on, into memory: the spans finished so far."""
    exporter = InMemorySpanExporter()
    tracing.enable(SimpleSpanProcessor(exporter))
    yield exporter.get_finished_spans
    tracing.disable()


def hop_handlers():
    handlers = Handlers()
    for topic in ("reserve", "ship", "charge"):
        handlers.task(topic)(lambda ctx: {})
    return handlers


def hop_maestro(tmp_path, handlers=None):
    maestro = fresh_maestro(tmp_path, handlers or hop_handlers())
    (tmp_path / "hop.bpmn").write_text(HOP)
    maestro.deploy_paths([tmp_path / "hop.bpmn"])
    return maestro


def run_all(maestro):
    """Works and delivers until nothing is left to do."""
    while drain(maestro) + maestro.deliver_messages():
        pass


def named(finished, prefix):
    return [span for span in finished if span.name.startswith(prefix)]


def test_a_sagas_task_spans_are_children_of_its_instance_span_in_one_trace(tmp_path, spans):
    maestro = fresh_maestro(tmp_path, load_handler_module(SAGA / "handlers.py"))
    maestro.deploy_paths([SAGA / "order_fulfillment.bpmn"])
    instance_id = maestro.start("order_fulfillment", {"items": ["book"], "fail_at": "invoice"}, business_key="o-7")["id"]
    drain(maestro)
    assert maestro.show(instance_id)["status"] == "completed"

    (instance,) = named(spans(), "instance ")
    assert instance.name == "instance order_fulfillment" and instance.parent is None  # started without a trace
    assert instance.attributes["maestro.instance.id"] == instance_id
    assert instance.attributes["maestro.instance.status"] == "completed"
    tasks = named(spans(), "task ")
    by_element = {span.attributes["maestro.element.id"]: span for span in tasks}
    # The forward steps up to the failing one, its business error, and the undos of what completed.
    assert {"checkout", "payment", "invoice", "refund_payment", "release_stock"} <= set(by_element)
    for span in tasks:
        assert span.context.trace_id == instance.context.trace_id
        assert span.parent.span_id == instance.context.span_id
        assert span.attributes["maestro.instance.id"] == instance_id
        assert span.attributes["maestro.process.key"] == "order_fulfillment"
        assert span.attributes["maestro.business_key"] == "o-7"
        assert span.attributes["maestro.task.attempt"] == 1
        assert span.start_time >= instance.start_time and span.end_time <= instance.end_time
    assert by_element["payment"].attributes["maestro.task.outcome"] == "completed"
    assert by_element["invoice"].attributes["maestro.task.outcome"] == "bpmn_error"
    assert by_element["invoice"].attributes["maestro.bpmn_error.code"] == "ORDER_FAILED"


def test_a_failing_handler_is_an_error_span_and_a_caller_context_is_kept(tmp_path, spans):
    handlers = Handlers()

    @handlers.task("reserve")
    def broken(ctx):
        raise RuntimeError("stock service down")

    maestro = hop_maestro(tmp_path, handlers)
    instance_id = maestro.start("order", {}, business_key="o-1", trace=CALLER)["id"]
    drain(maestro)
    assert maestro.show(instance_id)["status"] == "failed"
    failed = named(spans(), "task ")
    assert failed and all(span.context.trace_id == CALLER_TRACE for span in failed)
    assert failed[-1].attributes["maestro.task.outcome"] == "failed"
    assert failed[-1].status.status_code.name == "ERROR" and "stock service down" in failed[-1].status.description
    assert [span.attributes["maestro.task.attempt"] for span in failed] == list(range(1, len(failed) + 1))
    assert not named(spans(), "instance "), "a failed instance waits for an operator: it has not ended"
    maestro.cancel(instance_id)
    (instance,) = named(spans(), "instance ")
    assert instance.parent.span_id == int(CALLER.split("-")[2], 16)  # a child of the caller's span
    assert instance.attributes["maestro.instance.status"] == "cancelled"


def test_a_user_tasks_completion_is_a_task_span_of_its_instance(tmp_path, spans):
    from durable_helpers import DURABLE
    handlers = Handlers()
    handlers.task("ship")(lambda ctx: {})
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([DURABLE / "approval.bpmn"])
    instance_id = maestro.start("approval")["id"]
    drain(maestro)
    maestro.complete_task(instance_id, "approve", {"approved": True, "reason": "fine"})
    drain(maestro)
    (instance,) = named(spans(), "instance approval")
    approve, ship = named(spans(), "task Approve order"), named(spans(), "task ship")
    assert len(approve) == len(ship) == 1
    assert approve[0].attributes["maestro.task.completed_by"].startswith("user@")
    assert {approve[0].parent.span_id, ship[0].parent.span_id} == {instance.context.span_id}


def test_a_message_hop_there_and_back_is_one_trace(tmp_path, spans):
    maestro = hop_maestro(tmp_path)
    order_id = maestro.start("order", {}, business_key="o-1")["id"]
    run_all(maestro)
    assert maestro.show(order_id)["status"] == "completed"
    (payment_id,) = [item["id"] for item in maestro.instances(key="payment")]
    assert maestro.show(payment_id)["status"] == "completed"

    finished = spans()
    instances = {span.attributes["maestro.instance.id"]: span for span in named(finished, "instance ")}
    order, payment = instances[order_id], instances[payment_id]
    assert {span.context.trace_id for span in finished} == {order.context.trace_id}, "one trace"
    ids = {span.context.span_id: span for span in finished}

    placed, paid = named(finished, "publish order_placed"), named(finished, "publish order_paid")
    assert len(placed) == len(paid) == 1
    assert placed[0].parent.span_id == order.context.span_id
    assert placed[0].attributes["maestro.element.id"] == "placed"
    assert payment.parent.span_id == placed[0].context.span_id, "the started instance takes the message's trace"
    assert paid[0].parent.span_id == payment.context.span_id

    (start_delivery,) = named(finished, "deliver order_placed")
    (answer_delivery,) = named(finished, "deliver order_paid")
    assert start_delivery.parent.span_id == placed[0].context.span_id
    assert start_delivery.attributes["maestro.instance.id"] == payment_id
    assert answer_delivery.parent.span_id == order.context.span_id
    assert answer_delivery.attributes["maestro.element.id"] == "paid"
    assert [link.context.span_id for link in answer_delivery.links] == [paid[0].context.span_id]
    assert answer_delivery.kind.name == "CONSUMER" and paid[0].kind.name == "PRODUCER"
    for span in named(finished, "task "):  # each task under its own instance
        assert ids[span.parent.span_id] is instances[span.attributes["maestro.instance.id"]]
    # The messages' rows carry the publishing spans' context to whatever process delivers them.
    message_ids = {placed[0].attributes["messaging.message.id"], paid[0].attributes["messaging.message.id"]}
    assert len(message_ids) == 2


def test_a_publish_from_outside_takes_the_callers_trace(tmp_path, spans):
    from webapp import create_app
    maestro = hop_maestro(tmp_path)
    client = signed_in(create_app(maestro, secret_key="test").test_client())
    published = client.post("/api/messages", json={"name": "order_placed", "correlation": {"business_key": "o-2"}},
                            headers={"traceparent": CALLER})
    assert published.status_code == 202
    run_all(maestro)
    (publish,) = named(spans(), "publish order_placed")
    assert publish.context.trace_id == CALLER_TRACE and publish.parent.span_id == int(CALLER.split("-")[2], 16)
    (payment,) = named(spans(), "instance payment")
    assert payment.context.trace_id == CALLER_TRACE and payment.parent.span_id == publish.context.span_id
    started = client.post("/api/definitions/order/instances", json={}, headers={"traceparent": "not a traceparent"})
    assert started.status_code == 201, "a bad header starts a trace of its own, never an error"


def test_tracing_is_off_by_default_and_passes_a_given_context_on(tmp_path):
    assert tracing.setup.tracer() is None
    maestro = hop_maestro(tmp_path)
    message = maestro.publish("order_placed", {"business_key": "o-3"}, trace=CALLER)
    run_all(maestro)
    (payment,) = maestro.instances(key="payment")
    with maestro._context.Session() as session:
        assert maestro._context.row(session, payment["id"]).trace == CALLER
    assert maestro.message(message["id"])["status"] == "delivered"


def test_the_otlp_exporter_is_configured_only_when_an_endpoint_is_set(monkeypatch):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SDK_DISABLED",
                 "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"):
        monkeypatch.delenv(name, raising=False)
    assert tracing.exporter_from_environment() is None
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector.invalid:4318")
    assert isinstance(tracing.exporter_from_environment(), OTLPSpanExporter)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert tracing.exporter_from_environment() is None
    monkeypatch.delenv("OTEL_TRACES_EXPORTER")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon")
    assert tracing.exporter_from_environment() is None


def test_a_process_without_an_endpoint_loads_no_opentelemetry_and_one_with_it_traces(tmp_path):
    """Configured once per process from the environment, by its first engine object (worker processes too)."""
    script = ("import sys; from engine.durable.maestro import Maestro; from engine.durable import tracing; "
              f"Maestro('sqlite:///{tmp_path / 'm.db'}'); "
              "print(tracing.setup.tracer() is not None, any(m.startswith('opentelemetry') for m in sys.modules))")
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(SAGA.parent.parent)}
    off = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True, timeout=60)
    assert off.stdout.split() == ["False", "False"], off.stderr
    on = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                        env={**environment, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_BSP_SCHEDULE_DELAY": "10"})
    assert on.stdout.split() == ["True", "True"], on.stderr


# -- metrics of messages ----------------------------------------------------------------------

def message_traffic(maestro, client):
    """Publishes through the API: one message starts "payment", whose answer nobody waits for (buffered),
    and one nobody waits for with no time to live (expired)."""
    assert client.post("/api/messages", json={"name": "order_placed", "correlation": {"business_key": "o-2"}}) \
        .status_code == 202
    assert client.post("/api/messages", json={"name": "nobody_listens", "ttl": 0}).status_code == 202
    run_all(maestro)


EXPECTED = ['maestro_messages_published_total{kind="message"} 3.0',  # two from the API, one a step threw
            'maestro_messages_delivered_total{kind="message"} 1.0',
            "maestro_messages_buffered_total 1.0", "maestro_messages_expired_total 1.0",
            "maestro_message_delivery_latency_seconds_count 1.0"]


def test_metrics_count_messages_published_delivered_buffered_and_expired(tmp_path):
    from webapp import create_app
    maestro = hop_maestro(tmp_path)
    client = signed_in(create_app(maestro, secret_key="test").test_client())
    message_traffic(maestro, client)
    metrics = client.get("/metrics").get_data(as_text=True)
    for line in EXPECTED:
        assert line in metrics, line
    assert 'maestro_message_delivery_latency_seconds_bucket{le="+Inf"} 1.0' in metrics


MULTIPROCESS = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
import test_tracing
from web_helpers import signed_in
from webapp import create_app
from webapp.metrics import count_worker_events, share_between_processes
share_between_processes({folder!r})
maestro = test_tracing.fresh_maestro(Path({database!r}), test_tracing.hop_handlers())
if sys.argv[1] == "worker":  # a worker process of `maestro serve`: it delivers, the server counts
    count_worker_events(maestro)
    test_tracing.run_all(maestro)
else:
    client = signed_in(create_app(maestro, secret_key="test").test_client())
    if sys.argv[1] == "publish":
        assert client.post("/api/messages", json={{"name": "order_placed", "correlation": {{"business_key": "o-2"}}}}).status_code == 202
        assert client.post("/api/messages", json={{"name": "nobody_listens", "ttl": 0}}).status_code == 202
    print(client.get("/metrics").get_data(as_text=True))
"""


def test_metrics_of_messages_add_up_across_the_processes_of_maestro_serve(tmp_path):
    """In multiprocess mode, the server's /metrics adds up what its worker processes counted."""
    hop_maestro(tmp_path)  # deployed
    (tmp_path / "metrics").mkdir()
    script = MULTIPROCESS.format(tests=str(SAGA.parent.parent / "tests"), folder=str(tmp_path / "metrics"),
                                 database=str(tmp_path))
    for role in ("publish", "worker", "server"):
        ran = subprocess.run([sys.executable, "-c", script, role], capture_output=True, text=True, timeout=120)
        assert ran.returncode == 0, ran.stderr
    for line in EXPECTED:
        assert line in ran.stdout, line
