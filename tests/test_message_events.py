"""Event subprocesses started by a message or a timer, messages to a multi-instance activity's
boundary event, and one receiver per message within an instance (issue 10, items 4, 9, 10).

Every diagram runs in memory and durably (both_ways); durably, the message_subscriptions rows must
name exactly what the instance waits for after every commit.
"""
from both_ways import both_ways
from durable_helpers import delivered, drain, fresh_maestro
from sqlalchemy import select

from engine import Handlers
from engine.durable.store.models import Subscription
from engine.run import messages

NS = ('xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" targetNamespace="t"')
MESSAGES = "".join(f'<message id="m_{name}" name="{name}"/>' for name in ("go", "cancel", "note", "stop", "done"))


def catch(element_id, message, tag="intermediateCatchEvent"):
    return f'<{tag} id="{element_id}"><messageEventDefinition messageRef="m_{message}"/></{tag}>'


def service(element_id):
    return f'<serviceTask id="{element_id}" camunda:topic="{element_id}"/>'


def flows(*path, prefix="f"):
    """Sequence flows along `path` (element ids)."""
    return "".join(f'<sequenceFlow id="{prefix}{n}" sourceRef="{a}" targetRef="{b}"/>'
                   for n, (a, b) in enumerate(zip(path, path[1:], strict=False)))


def event_subprocess(start_definition, interrupting=True):
    """es (the trigger) -> h -> ee."""
    return f"""<subProcess id="esp" triggeredByEvent="true">
      <startEvent id="es" isInterrupting="{str(interrupting).lower()}">{start_definition}</startEvent>
      {service("h")}<endEvent id="ee"/>{flows("es", "h", "ee", prefix="g")}
    </subProcess>"""


def message_start(name):
    return f'<messageEventDefinition messageRef="m_{name}"/>'


def timer_start(kind, value):
    return f"<timerEventDefinition><{kind}>{value}</{kind}></timerEventDefinition>"


def diagram(body, definitions=MESSAGES):
    return f'<definitions {NS}>{definitions}<process id="p" isExecutable="true">{body}</process></definitions>'


def waiting_for_go(extra):
    """s -> a -> (message go) -> b -> e, with `extra` (an event subprocess) beside it."""
    return diagram(f"""<startEvent id="s"/>{service("a")}{catch("wait", "go")}{service("b")}<endEvent id="e"/>
      {flows("s", "a", "wait", "b", "e")}{extra}""")


def recorder(returns=None, item_key=None):
    """make_handlers for both_ways: each handler records its topic (":<item>" when the data hold
    `item_key`) and returns returns[topic], if given."""
    returns = returns or {}

    def make():
        handlers, calls = Handlers(), []
        for topic in ("a", "b", "c", "h", "t1", "t2", "x"):
            def handler(ctx, topic=topic):
                value = ctx.data.get(item_key) if item_key else None
                calls.append(topic if value is None else f"{topic}:{value}")
                return dict(returns.get(topic, {}))
            handlers.task(topic)(handler)
        return handlers, calls
    return make


def awaited(outcome):
    """The messages the instance waits for, in memory and by its subscription rows (which must agree)."""
    rows = subscription_names(outcome.maestro, outcome.durable_id)
    in_memory = message_names(outcome.memory.workflow)
    assert rows == in_memory == message_names(_durable_workflow(outcome)), (rows, in_memory)
    return rows


def subscription_names(maestro, instance_id):
    with maestro.Session() as session:
        return session.scalars(select(Subscription.name).where(
            Subscription.instance_id == instance_id, Subscription.kind == "message").order_by(Subscription.name)).all()


def message_names(workflow):
    return [found.name for found in messages.subscriptions(workflow) if found.kind == "message"]


def _durable_workflow(outcome):
    maestro = outcome.maestro
    with maestro.Session() as session:
        return maestro._load(session, maestro._row(session, outcome.durable_id))[0].workflow


def statuses(outcome):
    return outcome.memory.status, outcome.durable["status"]


# -- message event subprocesses ------------------------------------------------------

INTERRUPTING = waiting_for_go(event_subprocess(message_start("cancel")))


def test_a_message_event_subprocess_is_awaited_while_its_process_runs(tmp_path):
    armed = both_ways(tmp_path, INTERRUPTING, make_handlers=recorder(), data={"order_id": "o-1"})
    assert armed.calls == ["a"] and statuses(armed) == ("waiting", "waiting")
    assert awaited(armed) == ["cancel", "go"]


def test_an_interrupting_message_event_subprocess_correlates_and_cancels_the_rest_of_the_process(tmp_path):
    cancelled = both_ways(tmp_path, INTERRUPTING, make_handlers=recorder({"a": {"paid": True}}),
                          data={"order_id": "o-1"}, steps=[
                              ("publish", "cancel", {"order_id": "o-9"}, {"reason": "not for this one"}),
                              ("publish", "cancel", {"order_id": "o-1"}, {"reason": "customer"})])
    assert cancelled.calls == ["a", "h"], "b never runs: the message cancelled the wait for go"
    assert statuses(cancelled) == ("completed", "completed")
    assert awaited(cancelled) == []
    # The event subprocess saw the variables set after it was armed, and the message's.
    expected = {"order_id": "o-1", "paid": True, "reason": "customer"}
    assert cancelled.memory.data == cancelled.durable["data"] == expected
    assert delivered(cancelled.maestro, "go", {"order_id": "o-1"})["reached"] == []


NON_INTERRUPTING = waiting_for_go(event_subprocess(message_start("note"), interrupting=False))


def test_a_non_interrupting_message_event_subprocess_runs_beside_the_process_at_every_message(tmp_path):
    noted = both_ways(tmp_path, NON_INTERRUPTING, make_handlers=recorder(item_key="n"), steps=[
        ("publish", "note", None, {"n": 1}), ("publish", "note", None, {"n": 2})])
    assert noted.calls == ["a", "h:1", "h:2"]
    assert statuses(noted) == ("waiting", "waiting")
    assert awaited(noted) == ["go", "note"], "armed again after each message"

    done = both_ways(tmp_path / "done", NON_INTERRUPTING, make_handlers=recorder({"h": {"noted": True}}, "n"),
                     steps=[("publish", "note", None, {"n": 1}), ("publish", "go", None, {"n": 2})])
    assert done.calls == ["a", "h:1", "b:2"]
    assert statuses(done) == ("completed", "completed")
    assert done.memory.data == done.durable["data"] == {"n": 2, "noted": True}, "what it set joins the process's"
    assert awaited(done) == [], "the event subprocess is disarmed when the rest of the process has ended"
    assert delivered(done.maestro, "note")["reached"] == []


def test_an_event_subprocess_of_an_embedded_subprocess_is_armed_while_that_subprocess_runs(tmp_path):
    source = diagram(f"""<startEvent id="s"/>
      <subProcess id="sub"><startEvent id="ss"/>{service("a")}{catch("wait", "go")}{service("b")}<endEvent id="se"/>
        {flows("ss", "a", "wait", "b", "se", prefix="i")}{event_subprocess(message_start("cancel"))}</subProcess>
      {catch("after", "done")}{service("c")}<endEvent id="e"/>{flows("s", "sub", "after", "c", "e")}""")
    interrupted = both_ways(tmp_path, source, make_handlers=recorder(), steps=[("publish", "cancel")])
    assert interrupted.calls == ["a", "h"]
    assert awaited(interrupted) == ["done"], "the subprocess ended with its event subprocess; the process goes on"
    finished = both_ways(tmp_path / "finished", source, make_handlers=recorder(),
                         steps=[("publish", "cancel"), ("publish", "done")])
    assert finished.calls == ["a", "h", "c"] and statuses(finished) == ("completed", "completed")

    passed = both_ways(tmp_path / "passed", source, make_handlers=recorder(), steps=[("publish", "go")])
    assert passed.calls == ["a", "b"]
    assert awaited(passed) == ["done"], "disarmed with the subprocess that holds it"
    assert delivered(passed.maestro, "cancel")["reached"] == []


def test_a_non_interrupting_event_subprocess_of_an_embedded_subprocess(tmp_path):
    source = diagram(f"""<startEvent id="s"/>
      <subProcess id="sub"><startEvent id="ss"/>{service("a")}{catch("wait", "go")}<endEvent id="se"/>
        {flows("ss", "a", "wait", "se", prefix="i")}{event_subprocess(message_start("note"), False)}</subProcess>
      {service("c")}<endEvent id="e"/>{flows("s", "sub", "c", "e")}""")
    outcome = both_ways(tmp_path, source, make_handlers=recorder(), steps=[
        ("publish", "note"), ("publish", "note"), ("publish", "go")])
    assert outcome.calls == ["a", "h", "h", "c"]
    assert statuses(outcome) == ("completed", "completed") and awaited(outcome) == []


# -- timer event subprocesses --------------------------------------------------------

def test_an_interrupting_timer_event_subprocess_fires_once_after_its_duration(tmp_path):
    source = waiting_for_go(event_subprocess(timer_start("timeDuration", "PT1S")))
    outcome = both_ways(tmp_path, source, make_handlers=recorder(), steps=[("sleep", 1.3)])
    assert outcome.calls == ["a", "h"]
    assert statuses(outcome) == ("completed", "completed")
    assert awaited(outcome) == [] and outcome.maestro.next_due() is None


def test_a_timer_event_subprocess_that_has_not_fired_does_not_hold_its_process(tmp_path):
    source = diagram(f"""<startEvent id="s"/>{service("a")}{service("b")}<endEvent id="e"/>{flows("s", "a", "b", "e")}
      {event_subprocess(timer_start("timeDuration", "PT1H"), interrupting=False)}""")
    outcome = both_ways(tmp_path, source, make_handlers=recorder())
    assert outcome.calls == ["a", "b"]
    assert statuses(outcome) == ("completed", "completed") and outcome.maestro.next_due() is None


def test_a_non_interrupting_timer_cycle_repeats_beside_the_process_and_stops_with_it(tmp_path):
    source = diagram(f"""<startEvent id="s"/>{service("a")}
      <intermediateCatchEvent id="later"><timerEventDefinition><timeDuration>PT3S</timeDuration></timerEventDefinition>
      </intermediateCatchEvent>{service("b")}<endEvent id="e"/>{flows("s", "a", "later", "b", "e")}
      {event_subprocess(timer_start("timeCycle", "R/PT2S"), interrupting=False)}""")
    # In memory the timers fire when the steps let time pass; durably the worker waits for them.
    outcome = both_ways(tmp_path, source, make_handlers=recorder(), steps=[("sleep", 2.3), ("sleep", 1.0)])
    assert outcome.calls == ["a", "h", "b"]
    assert statuses(outcome) == ("completed", "completed") and outcome.maestro.next_due() is None


# -- signal event subprocesses -----------------------------------------------------------

def test_a_signal_thrown_by_the_process_starts_its_interrupting_signal_event_subprocess(tmp_path):
    """A signal the process throws reaches its own armed event subprocess (and goes out to others)."""
    source = diagram(f"""<startEvent id="s"/>{service("a")}
      <intermediateThrowEvent id="alarm"><signalEventDefinition signalRef="sig"/></intermediateThrowEvent>
      {catch("wait", "go")}{service("b")}<endEvent id="e"/>{flows("s", "a", "alarm", "wait", "b", "e")}
      {event_subprocess('<signalEventDefinition signalRef="sig"/>')}""", MESSAGES + '<signal id="sig" name="alarm"/>')
    outcome = both_ways(tmp_path, source, make_handlers=recorder())
    assert outcome.calls == ["a", "h"]
    assert statuses(outcome) == ("completed", "completed") and awaited(outcome) == []


# -- the boundary event of a multi-instance subprocess -----------------------------------

def multi_instance_with_boundary(cancel_activity, sequential=False):
    """sub runs once per item, each waiting for go; a stop message on its boundary event leads to h."""
    return diagram(f"""<startEvent id="s"/>
      <subProcess id="sub">
        <multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}">
          <loopDataInputRef>items</loopDataInputRef><inputDataItem id="item" name="item"/>
        </multiInstanceLoopCharacteristics>
        <startEvent id="ss"/>{catch("wait", "go")}<endEvent id="se"/>{flows("ss", "wait", "se", prefix="i")}
      </subProcess>
      <boundaryEvent id="stop" attachedToRef="sub" cancelActivity="{str(cancel_activity).lower()}">
        <messageEventDefinition messageRef="m_stop"/></boundaryEvent>
      {service("a")}<endEvent id="e"/>{service("h")}<endEvent id="e2"/>
      {flows("s", "sub", "a", "e")}{flows("stop", "h", "e2", prefix="b")}""")


def test_a_message_to_the_interrupting_boundary_event_of_a_multi_instance_subprocess(tmp_path):
    for sequential in (False, True):
        source = multi_instance_with_boundary(cancel_activity=True, sequential=sequential)
        folder = tmp_path / f"sequential_{sequential}"
        waiting = both_ways(folder / "waiting", source, make_handlers=recorder(), data={"items": [1, 2]})
        assert awaited(waiting) == ["go", "stop"]
        stopped = both_ways(folder, source, make_handlers=recorder(), data={"items": [1, 2]},
                            steps=[("publish", "stop")])
        assert stopped.calls == ["h"]
        assert statuses(stopped) == ("completed", "completed")
        assert awaited(stopped) == [], "the cancelled iterations wait for nothing any more"
        assert delivered(stopped.maestro, "go")["reached"] == []


def test_a_message_to_the_non_interrupting_boundary_event_of_a_multi_instance_subprocess(tmp_path):
    source = multi_instance_with_boundary(cancel_activity=False)
    noted = both_ways(tmp_path, source, make_handlers=recorder(), data={"items": [1, 2]},
                      steps=[("publish", "stop"), ("publish", "go")])
    assert noted.calls == ["h"]
    assert statuses(noted) == ("waiting", "waiting")
    assert awaited(noted) == ["go"], "one go released one iteration; the other still waits"
    done = both_ways(tmp_path / "done", source, make_handlers=recorder(), data={"items": [1, 2]},
                     steps=[("publish", "stop"), ("publish", "go"), ("publish", "go")])
    assert done.calls == ["h", "a"]
    assert statuses(done) == ("completed", "completed") and awaited(done) == []


# -- one receiver per message ------------------------------------------------------------

TWO_RECEIVERS = diagram(f"""<startEvent id="s"/><parallelGateway id="split"/>
  {service("x")}{catch("wait1", "go", tag="receiveTask")}{service("t1")}
  {catch("wait2", "go")}{service("t2")}
  <parallelGateway id="join"/><endEvent id="e"/>
  {flows("s", "split", "x", "wait1", "t1", "join", "e")}{flows("split", "wait2", "t2", "join", prefix="o")}""")


def test_a_message_releases_one_receiver_the_one_that_has_waited_longest(tmp_path):
    first = both_ways(tmp_path, TWO_RECEIVERS, make_handlers=recorder(), steps=[("publish", "go", None, {"n": 1})])
    # wait1 comes first in the diagram but began to wait after x ran: wait2 has waited longer.
    assert first.calls == ["x", "t2"]
    assert statuses(first) == ("waiting", "waiting") and awaited(first) == ["go"]
    assert delivered(first.maestro, "go", None, {"n": 2})["reached"] == [first.durable_id]

    both = both_ways(tmp_path / "both", TWO_RECEIVERS, make_handlers=recorder(item_key="n"),
                     steps=[("publish", "go", None, {"n": 1}), ("publish", "go", None, {"n": 2})])
    assert both.calls == ["x", "t2:1", "t1:2"]
    assert statuses(both) == ("completed", "completed") and awaited(both) == []


def test_the_subscription_rows_name_a_catch_while_the_rest_of_the_instance_runs_on(tmp_path):
    source = diagram(f"""<startEvent id="s"/><parallelGateway id="split"/>
      {catch("wait", "go")}{service("x")}{service("y")}<parallelGateway id="join"/><endEvent id="e"/>
      {flows("s", "split", "wait", "join", "e")}{flows("split", "x", "y", "join", prefix="o")}""")
    seen = []
    handlers = Handlers()
    handlers.task("x")(lambda ctx: None)

    @handlers.task("y")
    def look(ctx):  # runs one commit after the catch began to wait
        with maestro.Session() as session:
            seen.append(session.scalars(select(Subscription.name)
                                        .where(Subscription.instance_id == ctx.instance_id)).all())

    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy([("d.bpmn", source.encode())])
    instance_id = maestro.start("p")["id"]
    drain(maestro)
    assert seen == [["go"]]
    assert delivered(maestro, "go")["reached"] == [instance_id]
    drain(maestro)
    assert maestro.show(instance_id)["status"] == "completed"
