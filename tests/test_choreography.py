"""Messages between processes (DESIGN.md, "Messages between processes"): every kind of throw reaches
every kind of catch in another process's instance, through the outbox and the workers; what a
throw sends and how a catch is found come from the diagram.

Each test deploys a sender and a receiver process, runs them durably on a fresh SQLite file, and
asserts what each receiver did with what, in which order, and the message's record.
"""
import pytest
from durable_helpers import drain, fresh_maestro
from sqlalchemy import select

from engine import Handlers
from engine.durable.store.models import Message
from engine.problems import DeployError

NS = ('xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
      'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" targetNamespace="t"')


def message(name, key=None, extra=""):
    subscription = f'<extensionElements><zeebe:subscription correlationKey="{key}"/></extensionElements>' if key else ""
    return f'<message id="m_{name}" name="{name}">{subscription}{extra}</message>'


def flows(*path, prefix="f"):
    return "".join(f'<sequenceFlow id="{prefix}{n}" sourceRef="{a}" targetRef="{b}"/>'
                   for n, (a, b) in enumerate(zip(path, path[1:], strict=False)))


def service(element_id):
    return f'<serviceTask id="{element_id}" camunda:topic="{element_id}"/>'


def process(process_id, body):
    return f'<process id="{process_id}" isExecutable="true">{body}</process>'


def diagram(*parts):
    return f'<definitions {NS}>{"".join(parts)}</definitions>'


def recording(*topics):
    """Handlers for `topics` recording (topic, the instance's business key, the variables they saw)."""
    handlers, calls = Handlers(), []
    for topic in topics:
        handlers.task(topic)(lambda ctx, topic=topic: calls.append((topic, ctx.business_key, dict(ctx.data))))
    return handlers, calls


def engine_with(tmp_path, source, *topics):
    handlers, calls = recording(*topics)
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy([("choreography.bpmn", source.encode())])
    return maestro, calls


def sent(maestro, name):
    """The records of the messages of `name`, oldest first, with their deliveries."""
    with maestro.Session() as session:
        ids = session.scalars(select(Message.id).where(Message.name == name).order_by(Message.published_at)).all()
    return [maestro.message(message_id) for message_id in ids]


# A sender that throws "ping" in one of three ways, then ends.
THROWS = {
    "intermediate throw event": '<intermediateThrowEvent id="throw"><messageEventDefinition messageRef="m_ping"/>'
                                '</intermediateThrowEvent><endEvent id="end"/>',
    "send task": '<sendTask id="throw" messageRef="m_ping"/><endEvent id="end"/>',
    "message end event": '<endEvent id="throw"><messageEventDefinition messageRef="m_ping"/></endEvent>',
}


def sender(throw):
    body = f'<startEvent id="s"/>{service("prepare")}{THROWS[throw]}'
    path = ("s", "prepare", "throw") if throw == "message end event" else ("s", "prepare", "throw", "end")
    return process("sender", body + flows(*path))


# Receivers: each waits for "ping" in its own way, then runs `after` (or, for the boundary event, `handle`).
CATCHES = {
    "intermediate catch event": f'<startEvent id="s"/><intermediateCatchEvent id="catch">'
                                f'<messageEventDefinition messageRef="m_ping"/></intermediateCatchEvent>'
                                f'{service("after")}<endEvent id="e"/>{flows("s", "catch", "after", "e")}',
    "receive task": f'<startEvent id="s"/><receiveTask id="catch" messageRef="m_ping"/>{service("after")}'
                    f'<endEvent id="e"/>{flows("s", "catch", "after", "e")}',
    "event-based gateway": f'''<startEvent id="s"/><eventBasedGateway id="gate"/>
        <intermediateCatchEvent id="catch"><messageEventDefinition messageRef="m_ping"/></intermediateCatchEvent>
        <intermediateCatchEvent id="late"><timerEventDefinition><timeDuration>PT1H</timeDuration>
        </timerEventDefinition></intermediateCatchEvent>{service("after")}{service("timeout")}
        <endEvent id="e"/><endEvent id="e2"/>{flows("s", "gate", "catch", "after", "e")}
        {flows("gate", "late", "timeout", "e2", prefix="t")}''',
    "boundary event": f'''<startEvent id="s"/><userTask id="work"/>
        <boundaryEvent id="catch" attachedToRef="work"><messageEventDefinition messageRef="m_ping"/></boundaryEvent>
        {service("after")}<endEvent id="e"/><endEvent id="e2"/>{flows("s", "work", "e2")}
        {flows("catch", "after", "e", prefix="b")}''',
    "event subprocess": f'''<startEvent id="s"/><userTask id="work"/><endEvent id="e"/>{flows("s", "work", "e")}
        <subProcess id="esp" triggeredByEvent="true">
          <startEvent id="catch"><messageEventDefinition messageRef="m_ping"/></startEvent>{service("after")}
          <endEvent id="ee"/>{flows("catch", "after", "ee", prefix="g")}</subProcess>''',
}


@pytest.mark.parametrize("throw", sorted(THROWS))
@pytest.mark.parametrize("catch", sorted(CATCHES))
def test_every_kind_of_throw_reaches_every_kind_of_catch_in_another_process(tmp_path, throw, catch):
    source = diagram(message("ping"), sender(throw), process("receiver", CATCHES[catch]))
    maestro, calls = engine_with(tmp_path, source, "prepare", "after", "timeout")
    receiver = maestro.start("receiver", {"mine": 1}, "order-7")["id"]
    other = maestro.start("receiver", {"mine": 2}, "order-8")["id"]  # another order: the message is not for it
    drain(maestro)
    assert maestro.show(receiver)["status"] == "waiting"

    thrower = maestro.start("sender", {"note": "hello"}, "order-7")["id"]
    drain(maestro)

    assert calls == [("prepare", "order-7", {"note": "hello"}),
                     ("after", "order-7", {"mine": 1, "note": "hello"})], "the thrower's variables, to order-7 only"
    assert maestro.show(receiver)["status"] == "completed"
    assert maestro.show(other)["status"] == "waiting"
    assert maestro.show(thrower)["status"] == "completed"
    (record,) = sent(maestro, "ping")
    assert (record["status"], record["source_instance_id"], record["source_element"]) == ("delivered", thrower, "throw")
    assert (record["correlation"], record["business_key"]) == ("order-7", "order-7")
    assert [(d["instance_id"], d["element"], d["started"]) for d in record["deliveries"]] == [
        (receiver, "catch", False)]


def test_a_message_start_event_starts_one_instance_per_process_with_the_throwers_business_key(tmp_path):
    starts = [process(key, f'<startEvent id="begin"><messageEventDefinition messageRef="m_ping"/></startEvent>'
                           f'{service(key)}<endEvent id="e"/>{flows("begin", key, "e")}')
              for key in ("billing", "packing")]
    source = diagram(message("ping"), sender("message end event"), *starts)
    maestro, calls = engine_with(tmp_path, source, "prepare", "billing", "packing")
    thrower = maestro.start("sender", {"order_id": "o-1"}, "order-1")["id"]
    drain(maestro)

    assert sorted(calls) == [("billing", "order-1", {"order_id": "o-1"}), ("packing", "order-1", {"order_id": "o-1"}),
                             ("prepare", "order-1", {"order_id": "o-1"})]
    (record,) = sent(maestro, "ping")
    assert record["status"] == "delivered" and record["source_instance_id"] == thrower
    started = {d["key"]: d["instance_id"] for d in record["deliveries"] if d["started"]}
    assert sorted(started) == ["billing", "packing"]
    for key, instance_id in started.items():
        shown = maestro.show(instance_id)
        assert (shown["key"], shown["business_key"], shown["started_by"], shown["status"]) == (
            key, "order-1", "message", "completed")


# "payment" charges and ends by sending "paid"; "order" waits for "paid", then ships.
PAYMENT_AND_ORDER = (
    process("payment", f'<startEvent id="ps"/>{service("charge")}<endEvent id="pe">'
                       f'<messageEventDefinition messageRef="m_paid"/></endEvent>{flows("ps", "charge", "pe", prefix="p")}'),
    process("order", f'<startEvent id="os"/><intermediateCatchEvent id="wait"><messageEventDefinition '
                     f'messageRef="m_paid"/></intermediateCatchEvent>{service("ship")}<endEvent id="oe"/>'
                     f'{flows("os", "wait", "ship", "oe", prefix="o")}'))


def test_the_correlation_key_from_the_diagram_finds_the_catch_whatever_the_business_keys(tmp_path):
    source = diagram(
        message("paid", key="=order_id"),
        *PAYMENT_AND_ORDER)
    maestro, calls = engine_with(tmp_path, source, "charge", "ship")
    orders = {order_id: maestro.start("order", {"order_id": order_id}, f"customer-{n}")["id"]
              for n, order_id in enumerate(("o-1", "o-2"))}
    drain(maestro)
    maestro.start("payment", {"order_id": "o-2"}, "payments-batch-9")  # its business key is not the order's
    drain(maestro)

    assert [call[0] for call in calls] == ["charge", "ship"]
    assert calls[1] == ("ship", "customer-1", {"order_id": "o-2"})
    assert maestro.show(orders["o-2"])["status"] == "completed"
    assert maestro.show(orders["o-1"])["status"] == "waiting"
    (record,) = sent(maestro, "paid")
    assert record["correlation"] == "o-2" and [d["instance_id"] for d in record["deliveries"]] == [orders["o-2"]]


def test_a_publish_by_key_reaches_the_catch_whose_diagram_key_it_is(tmp_path):
    source = diagram(message("paid", key="=order_id"), process(
        "order", f'<startEvent id="s"/><receiveTask id="wait" messageRef="m_paid"/>{service("ship")}<endEvent id="e"/>'
                 f'{flows("s", "wait", "ship", "e")}'))
    maestro, calls = engine_with(tmp_path, source, "ship")
    first = maestro.start("order", {"order_id": 41})["id"]
    second = maestro.start("order", {"order_id": 42})["id"]
    drain(maestro)
    published = maestro.publish("paid", "42", {"amount": 9})
    drain(maestro)
    assert calls == [("ship", None, {"order_id": 42, "amount": 9})], "42 and '42' are the same key"
    assert [d["instance_id"] for d in maestro.message(published["id"])["deliveries"]] == [second]
    assert maestro.show(first)["status"] == "waiting"


THROW_WITH = {
    "camunda:inputParameter": '''<intermediateThrowEvent id="throw"><extensionElements><camunda:inputOutput>
        <camunda:inputParameter name="total">${amount * 2}</camunda:inputParameter>
        <camunda:inputParameter name="currency">EUR</camunda:inputParameter>
        </camunda:inputOutput></extensionElements><messageEventDefinition messageRef="m_ping"/>
        </intermediateThrowEvent>''',
    "zeebe:input": '''<intermediateThrowEvent id="throw"><extensionElements><zeebe:ioMapping>
        <zeebe:input source="=amount * 2" target="total"/><zeebe:input source="EUR" target="currency"/>
        </zeebe:ioMapping></extensionElements><messageEventDefinition messageRef="m_ping"/>
        </intermediateThrowEvent>''',
    "spiffworkflow:messagePayload": '''<intermediateThrowEvent id="throw"><messageEventDefinition messageRef="m_ping">
        <extensionElements><spiffworkflow:messagePayload>{"total": amount * 2, "currency": "EUR"}
        </spiffworkflow:messagePayload></extensionElements></messageEventDefinition></intermediateThrowEvent>''',
}


@pytest.mark.parametrize("how", sorted(THROW_WITH))
def test_a_throw_sends_the_variables_its_diagram_names(tmp_path, how):
    source = diagram(
        message("ping"),
        process("sender", f'<startEvent id="s"/>{THROW_WITH[how]}<endEvent id="e"/>{flows("s", "throw", "e")}'),
        process("receiver", f'<startEvent id="s"><messageEventDefinition messageRef="m_ping"/></startEvent>'
                            f'{service("after")}<endEvent id="e"/>{flows("s", "after", "e")}'))
    maestro, calls = engine_with(tmp_path, source, "after")
    maestro.start("sender", {"amount": 21, "secret": "not sent"})
    drain(maestro)
    assert calls == [("after", None, {"total": 42, "currency": "EUR"})]


def test_a_catch_with_a_message_variable_keeps_the_payload_in_it(tmp_path):
    source = diagram(message("ping"), process(
        "receiver", f'''<startEvent id="s"/><intermediateCatchEvent id="wait"><messageEventDefinition messageRef="m_ping">
        <extensionElements><spiffworkflow:messageVariable>order</spiffworkflow:messageVariable></extensionElements>
        </messageEventDefinition></intermediateCatchEvent>{service("after")}<endEvent id="e"/>
        {flows("s", "wait", "after", "e")}'''))
    maestro, calls = engine_with(tmp_path, source, "after")
    maestro.start("receiver", {"n": 1})
    drain(maestro)
    maestro.publish("ping", None, {"id": "o-1", "total": 3})
    drain(maestro)
    assert calls == [("after", None, {"n": 1, "order": {"id": "o-1", "total": 3}})]


def test_a_payload_expression_that_fails_fails_the_throwing_task(tmp_path):
    source = diagram(message("ping"), process("sender", '''<startEvent id="s"/>
        <intermediateThrowEvent id="throw"><messageEventDefinition messageRef="m_ping"><extensionElements>
        <spiffworkflow:messagePayload>{"total": missing}</spiffworkflow:messagePayload></extensionElements>
        </messageEventDefinition></intermediateThrowEvent><endEvent id="e"/>''' + flows("s", "throw", "e")))
    maestro, _ = engine_with(tmp_path, source)
    instance_id = maestro.start("sender")["id"]
    drain(maestro)
    shown = maestro.show(instance_id)
    assert shown["status"] == "failed" and "missing" in shown["error"]["message"]
    assert shown["incident"]["bpmn_id"] == "throw"
    assert sent(maestro, "ping") == [], "nothing half-sent"


def test_a_thrown_message_nobody_waits_for_keeps_its_diagram_time_to_live(tmp_path):
    source = diagram(
        message("ping", extra='<extensionElements><camunda:properties><camunda:property name="maestro.ttl" '
                              'value="PT10M"/></camunda:properties></extensionElements>'),
        process("sender", f'<startEvent id="s"/>{THROWS["intermediate throw event"]}{flows("s", "throw", "end")}'))
    maestro, _ = engine_with(tmp_path, source)
    maestro.start("sender")
    drain(maestro, patience=0.5)
    (record,) = sent(maestro, "ping")
    assert record["status"] == "buffered"
    kept = (_moment(record["expires_at"]) - _moment(record["published_at"])).total_seconds()
    assert kept == 600


def test_an_unreadable_time_to_live_is_refused_at_deploy_with_its_element(tmp_path):
    source = diagram(message("ping"), process("sender", '''<startEvent id="s"/>
        <intermediateThrowEvent id="throw"><extensionElements><zeebe:properties><zeebe:property name="maestro.ttl"
        value="soon"/></zeebe:properties></extensionElements><messageEventDefinition messageRef="m_ping"/>
        </intermediateThrowEvent><endEvent id="e"/>''' + flows("s", "throw", "e")))
    maestro = fresh_maestro(tmp_path)
    with pytest.raises(DeployError) as refused:
        maestro.deploy([("ttl.bpmn", source.encode())])
    (problem,) = refused.value.problems
    assert problem.element == "throw" and "maestro.ttl 'soon'" in problem.message


def test_a_signal_thrown_by_one_instance_reaches_the_others_and_starts_processes(tmp_path):
    source = diagram(
        '<signal id="sig" name="recall"/>',
        process("alarm", f'<startEvent id="s"/>{service("raise")}<endEvent id="e"><signalEventDefinition '
                         f'signalRef="sig"/></endEvent>{flows("s", "raise", "e")}'),
        process("listener", f'<startEvent id="s"/><intermediateCatchEvent id="hear"><signalEventDefinition '
                            f'signalRef="sig"/></intermediateCatchEvent>{service("heard")}<endEvent id="e"/>'
                            f'{flows("s", "hear", "heard", "e")}'),
        process("recall_desk", f'<startEvent id="s"><signalEventDefinition signalRef="sig"/></startEvent>'
                               f'{service("desk")}<endEvent id="e"/>{flows("s", "desk", "e")}'))
    maestro, calls = engine_with(tmp_path, source, "raise", "heard", "desk")
    listeners = [maestro.start("listener", {"n": n}, f"l-{n}")["id"] for n in range(3)]
    drain(maestro)
    maestro.start("alarm", {"why": "batch 7"}, "a-1")
    drain(maestro)

    assert sorted(call[:2] for call in calls) == [("desk", None), ("heard", "l-0"), ("heard", "l-1"),
                                                 ("heard", "l-2"), ("raise", "a-1")]
    assert all(maestro.show(instance_id)["status"] == "completed" for instance_id in listeners)
    assert all(call[2] == {"n": int(call[1][-1])} for call in calls if call[0] == "heard"), \
        "a signal carries no variables unless its diagram names them"
    (record,) = sent(maestro, "recall")
    assert record["kind"] == "signal" and record["status"] == "delivered"
    assert sorted((d["key"], d["started"]) for d in record["deliveries"]) == [
        ("listener", False), ("listener", False), ("listener", False), ("recall_desk", True)]


def _moment(text):
    from datetime import datetime
    return datetime.fromisoformat(text)


def test_publish_and_signal_from_the_command_line_wait_for_a_running_worker(tmp_path, monkeypatch):
    import subprocess
    import sys

    from cli_helpers import ROOT
    from cli_helpers import maestro as run_maestro

    source = diagram(message("ping"), '<signal id="sig" name="recall"/>', process(
        "receiver", f'<startEvent id="s"/><intermediateCatchEvent id="wait"><messageEventDefinition '
                    f'messageRef="m_ping"/></intermediateCatchEvent><intermediateCatchEvent id="hear">'
                    f'<signalEventDefinition signalRef="sig"/></intermediateCatchEvent><endEvent id="e"/>'
                    f'{flows("s", "wait", "hear", "e")}'))
    (tmp_path / "flow.bpmn").write_text(source)
    monkeypatch.setenv("MAESTRO_DATABASE_URL", f"sqlite:///{tmp_path / 'maestro.db'}")
    assert run_maestro("deploy", tmp_path / "flow.bpmn").returncode == 0
    waiting = run_maestro("start", "receiver", "--business-key", "k-1").stdout.strip()
    worker = subprocess.Popen([sys.executable, "-m", "engine.cli", "worker", "--processes", str(tmp_path)],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):  # until the worker has run it to its catch
            if '"status": "waiting"' in run_maestro("show", waiting, "--json").stdout:
                break
        reached = run_maestro("publish", "ping", "--correlation", "k-1", "--data", '{"n": 1}', "--wait")
        assert reached.returncode == 0, reached.stderr
        message_id, line = reached.stdout.strip().splitlines()
        assert line == f"reached {waiting} (receiver, wait)" and len(message_id) == 36
        expired = run_maestro("publish", "ping", "--correlation", "k-9", "--ttl", "0", "--wait")
        assert expired.returncode == 1 and "nobody waits for message 'ping'" in expired.stderr
        assert "expired" in expired.stderr
        signalled = run_maestro("signal", "recall", "--wait")
        assert signalled.returncode == 0 and signalled.stdout.strip().splitlines()[1] == \
            f"reached {waiting} (receiver, hear)"
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def test_a_correlation_key_or_payload_expression_that_does_not_parse_is_refused_at_deploy(tmp_path):
    source = diagram(message("ping", key="=order_id +"), process("sender", '''<startEvent id="s"/>
        <sendTask id="throw" messageRef="m_ping"><extensionElements><zeebe:ioMapping>
        <zeebe:input source="=amount *" target="total"/></zeebe:ioMapping></extensionElements></sendTask>
        <endEvent id="e"/>''' + flows("s", "throw", "e")))
    with pytest.raises(DeployError) as refused:
        fresh_maestro(tmp_path).deploy([("bad.bpmn", source.encode())])
    assert sorted((problem.element, problem.message.split(":")[0]) for problem in refused.value.problems) == [
        ("m_ping", "expression '=order_id +' does not parse"), ("throw", "expression '=amount *' does not parse")]


def test_a_receiver_that_cannot_be_loaded_does_not_keep_the_message_from_the_others(tmp_path, monkeypatch):
    source = diagram(message("ping"), process(
        "receiver", f'<startEvent id="s"/><receiveTask id="wait" messageRef="m_ping"/>{service("after")}'
                    f'<endEvent id="e"/>{flows("s", "wait", "after", "e")}'))
    maestro, calls = engine_with(tmp_path, source, "after")
    broken, healthy = (maestro.start("receiver", {"n": n})["id"] for n in (1, 2))
    drain(maestro)
    context, load = maestro._context, maestro._context.load

    def failing_load(session, row, logged=None):
        if row.id == broken:
            raise RuntimeError("a state this Maestro cannot read")
        return load(session, row, logged)

    monkeypatch.setattr(context, "load", failing_load)
    published = maestro.publish("ping", None, {"m": 1})["id"]
    maestro.deliver_messages()
    shown = maestro.message(published)
    assert [d["instance_id"] for d in shown["deliveries"]] == [healthy]
    assert shown["status"] == "pending" and shown["attempts"] == 1, "due again for the one it could not reach"

    monkeypatch.setattr(context, "load", load)  # fixed (say, by an upgrade): the next try reaches it
    drain(maestro)
    shown = maestro.message(published)
    assert shown["status"] == "delivered" and sorted(d["instance_id"] for d in shown["deliveries"]) == sorted(
        [broken, healthy])
    assert calls == [("after", None, {"n": 2, "m": 1}), ("after", None, {"n": 1, "m": 1})]


def test_bpmn_correlation_properties_find_the_catch(tmp_path):
    correlation = '''<correlationProperty id="order_ref" name="order reference">
        <correlationPropertyRetrievalExpression messageRef="m_paid"><messagePath>order_id</messagePath>
        </correlationPropertyRetrievalExpression></correlationProperty>'''
    source = diagram(
        message("paid"), correlation,
        *PAYMENT_AND_ORDER)
    maestro, calls = engine_with(tmp_path, source, "charge", "ship")
    orders = {order_id: maestro.start("order", {"order_id": order_id})["id"] for order_id in ("o-1", "o-2")}
    drain(maestro)
    maestro.start("payment", {"order_id": "o-1"})
    drain(maestro)
    assert [call[0] for call in calls] == ["charge", "ship"]
    assert maestro.show(orders["o-1"])["status"] == "completed"
    assert maestro.show(orders["o-2"])["status"] == "waiting"
    (record,) = sent(maestro, "paid")
    assert record["correlation"] == "o-1"


def test_a_message_that_came_while_its_instance_had_failed_reaches_it_once_retried(tmp_path):
    from engine import BpmnError

    source = diagram(message("ping"), process("order", f'''<startEvent id="s"/><parallelGateway id="split"/>
        <intermediateCatchEvent id="wait"><messageEventDefinition messageRef="m_ping"/></intermediateCatchEvent>
        {service("after")}{service("flaky")}<parallelGateway id="join"/><endEvent id="e"/>
        {flows("s", "split", "wait", "after", "join", "e")}{flows("split", "flaky", "join", prefix="b")}'''))
    handlers, calls = recording("after")
    broken = [True]

    @handlers.task("flaky")
    def flaky(ctx):
        calls.append(("flaky", ctx.business_key, dict(ctx.data)))
        if broken[0]:
            raise BpmnError("DOWN", "the service is down")

    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy([("order.bpmn", source.encode())])
    instance_id = maestro.start("order", {}, "order-1")["id"]
    drain(maestro)
    assert maestro.show(instance_id)["status"] == "failed"

    published = maestro.publish("ping", "order-1", {"paid": True})["id"]
    drain(maestro)
    assert maestro.message(published)["status"] == "buffered", "a failed instance takes nothing"

    broken[0] = False
    maestro.retry(instance_id)
    drain(maestro)
    assert maestro.message(published)["status"] == "delivered"
    assert [d["instance_id"] for d in maestro.message(published)["deliveries"]] == [instance_id]
    assert maestro.show(instance_id)["status"] == "completed"
    # The retry's round runs both branches on: the caught message's first (it comes first in the tree).
    assert [call[0] for call in calls] == ["flaky", "after", "flaky"]


def test_a_message_delivered_while_a_retry_is_pending_keeps_the_retry(tmp_path):
    source = diagram(message("ping"), process("order", f'''<startEvent id="s"/><parallelGateway id="split"/>
        <intermediateCatchEvent id="wait"><messageEventDefinition messageRef="m_ping"/></intermediateCatchEvent>
        {service("after")}<serviceTask id="flaky" camunda:topic="flaky"><extensionElements>
        <camunda:failedJobRetryTimeCycle>R2/PT1S</camunda:failedJobRetryTimeCycle></extensionElements></serviceTask>
        <parallelGateway id="join"/><endEvent id="e"/>
        {flows("s", "split", "wait", "after", "join", "e")}{flows("split", "flaky", "join", prefix="b")}'''))
    handlers, calls = recording("after")

    @handlers.task("flaky")
    def flaky(ctx):
        calls.append(("flaky", ctx.attempt))
        if ctx.attempt == 1:
            raise RuntimeError("timed out")

    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy([("order.bpmn", source.encode())])
    instance_id = maestro.start("order", {}, "order-1")["id"]
    drain(maestro, patience=0.3)  # the first try failed; the retry is a second away
    assert maestro.show(instance_id)["status"] == "running" and maestro.show(instance_id)["error"]

    published = maestro.publish("ping", "order-1", {"paid": True})["id"]
    maestro.deliver_messages()
    assert [d["instance_id"] for d in maestro.message(published)["deliveries"]] == [instance_id]
    assert maestro.show(instance_id)["error"], "still failed, its retry still to come"
    drain(maestro)
    assert maestro.show(instance_id)["status"] == "completed"
    assert calls == [("flaky", 1), ("after", "order-1", {"paid": True}), ("flaky", 2)]


def test_a_catch_with_a_key_of_its_own_takes_only_a_message_of_that_key(tmp_path):
    """The subscription rows may lag behind an instance that moved on to another catch of the same
    name: the catch itself decides."""
    from engine import run
    from engine.run import messages

    source = diagram(message("paid", key="=order_id"), process(
        "order", f'<startEvent id="s"/><receiveTask id="wait" messageRef="m_paid"/><endEvent id="e"/>'
                 f'{flows("s", "wait", "e")}'))
    (tmp_path / "order.bpmn").write_text(source)
    instance = run(tmp_path / "order.bpmn", Handlers(), {"order_id": "o-2"})
    assert instance.status == "waiting"
    assert not messages.deliver(instance, "paid", {}, key="o-1")
    assert messages.deliver(instance, "paid", {"amount": 3}, key="o-2")
    instance.run()
    assert instance.status == "completed" and instance.data == {"order_id": "o-2", "amount": 3}


def test_a_key_longer_than_a_column_holds_still_finds_its_catch(tmp_path):
    long_id = "o-" + "x" * 300
    source = diagram(
        message("paid", key="=order_id"),
        process("payment", f'<startEvent id="ps"/><endEvent id="pe"><messageEventDefinition messageRef="m_paid"/>'
                           f'</endEvent>{flows("ps", "pe", prefix="p")}'),
        process("order", f'<startEvent id="s"/><receiveTask id="wait" messageRef="m_paid"/>{service("ship")}'
                         f'<endEvent id="e"/>{flows("s", "wait", "ship", "e")}'))
    maestro, calls = engine_with(tmp_path, source, "ship")
    waiting = maestro.start("order", {"order_id": long_id})["id"]
    other = maestro.start("order", {"order_id": long_id + "y"})["id"]
    drain(maestro)
    maestro.start("payment", {"order_id": long_id})
    drain(maestro)
    (record,) = sent(maestro, "paid")
    assert record["correlation"].startswith("sha256:") and len(record["correlation"]) == len("sha256:") + 64
    assert [d["instance_id"] for d in record["deliveries"]] == [waiting]
    assert maestro.show(other)["status"] == "waiting"


def test_a_publish_with_a_business_key_longer_than_kept_is_refused(tmp_path):
    from web_helpers import signed_in

    from webapp import create_app

    client = signed_in(create_app(fresh_maestro(tmp_path), secret_key="test").test_client())
    refused = client.post("/api/messages", json={"name": "ping", "correlation": {"business_key": "k" * 256}})
    assert refused.status_code == 400 and "at most 255" in refused.json["message"]
    assert client.post("/api/messages", json={"name": "ping", "correlation": "k" * 256}).status_code == 400
