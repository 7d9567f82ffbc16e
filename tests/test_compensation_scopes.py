"""Compensation across scopes: event subprocesses naming activities, transactions left through
their cancel boundary, multi-instance iterations undone with their own variables (issue 10)."""
import pytest
from both_ways import both_ways
from conftest import FIXTURES, make_recorder

import engine
from engine.read.loader import inspect

NS = 'xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" ' \
     'targetNamespace="t"'


def undoable(task_id, topic, inner=""):
    """A service task with a compensation boundary event and its undo (topic undo_<topic>)."""
    return f"""<serviceTask id="{task_id}" camunda:topic="{topic}"/>{inner}
    <boundaryEvent id="{task_id}_comp" attachedToRef="{task_id}"><compensateEventDefinition/></boundaryEvent>
    <serviceTask id="undo_{task_id}" camunda:topic="undo_{topic}" isForCompensation="true"/>
    <association id="{task_id}_assoc" sourceRef="{task_id}_comp" targetRef="undo_{task_id}"/>"""


EVENT_SUBPROCESS_NAMING_ACTIVITIES = f"""<definitions {NS}>
  <error id="err" errorCode="FAIL"/>
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="A"/>
    {undoable("A", "a")}
    <sequenceFlow id="f2" sourceRef="A" targetRef="B"/>
    {undoable("B", "b")}
    <sequenceFlow id="f3" sourceRef="B" targetRef="C"/>
    <serviceTask id="C" camunda:topic="c"/>
    <sequenceFlow id="f4" sourceRef="C" targetRef="e"/>
    <endEvent id="e"/>
    <subProcess id="on_error" triggeredByEvent="true">
      <startEvent id="es"><errorEventDefinition errorRef="err"/></startEvent>
      <sequenceFlow id="g1" sourceRef="es" targetRef="X"/>
      {undoable("X", "x")}
      <sequenceFlow id="g2" sourceRef="X" targetRef="compensate_A"/>
      <intermediateThrowEvent id="compensate_A"><compensateEventDefinition activityRef="A"/></intermediateThrowEvent>
      <sequenceFlow id="g3" sourceRef="compensate_A" targetRef="compensate_X"/>
      <intermediateThrowEvent id="compensate_X"><compensateEventDefinition activityRef="X"/></intermediateThrowEvent>
      <sequenceFlow id="g4" sourceRef="compensate_X" targetRef="ee"/>
      <endEvent id="ee"/>
    </subProcess>
  </process>
</definitions>"""

TOPICS = ["a", "b", "c", "x", "undo_a", "undo_b", "undo_x", "after"]


def test_an_event_subprocess_compensates_named_activities_of_its_parent_scope_and_its_own(tmp_path):
    assert inspect([("esp.bpmn", EVENT_SUBPROCESS_NAMING_ACTIVITIES.encode())])[1] == []
    outcome = both_ways(tmp_path, EVENT_SUBPROCESS_NAMING_ACTIVITIES, TOPICS,
                        raise_on={"c": engine.BpmnError("FAIL", "c failed")})
    assert outcome.calls == ["a", "b", "c", "x", "undo_a", "undo_x"]  # B is not named: not undone
    assert outcome.memory.status == outcome.durable["status"] == "completed"
    compensated = sorted(t["bpmn_id"] for t in outcome.durable["tasks"] if t["compensated"])
    assert compensated == ["A", "X"]


def test_an_activity_ref_outside_the_throw_scope_and_its_parent_is_still_refused():
    elsewhere = EVENT_SUBPROCESS_NAMING_ACTIVITIES.replace(
        '<sequenceFlow id="f4" sourceRef="C" targetRef="e"/>',
        '<sequenceFlow id="f4" sourceRef="C" targetRef="e"/><subProcess id="inner"><startEvent id="is"/>'
        '<sequenceFlow id="i1" sourceRef="is" targetRef="deep"/><task id="deep"/></subProcess>').replace(
        'activityRef="X"', 'activityRef="deep"')
    problems = inspect([("esp.bpmn", elsewhere.encode())])[1]
    assert [(p.element, "another scope" in p.message) for p in problems] == [("compensate_X", True)]


def test_a_subprocess_undone_later_also_undoes_the_work_of_an_event_subprocess_that_ran_in_it(tmp_path):
    inner = EVENT_SUBPROCESS_NAMING_ACTIVITIES.split('<process id="p" isExecutable="true">')[1].split("</process>")[0]
    inner = inner.replace('<intermediateThrowEvent id="compensate_A"><compensateEventDefinition activityRef="A"/>'
                          '</intermediateThrowEvent>', '<intermediateThrowEvent id="compensate_A"/>').replace(
        '<intermediateThrowEvent id="compensate_X"><compensateEventDefinition activityRef="X"/>'
        '</intermediateThrowEvent>', '<intermediateThrowEvent id="compensate_X"/>')
    outer = f"""<definitions {NS}><error id="err" errorCode="FAIL"/>
      <process id="outer" isExecutable="true">
        <startEvent id="os"/><sequenceFlow id="o1" sourceRef="os" targetRef="S"/>
        <subProcess id="S">{inner}</subProcess>
        <sequenceFlow id="o2" sourceRef="S" targetRef="undo_all"/>
        <intermediateThrowEvent id="undo_all"><compensateEventDefinition/></intermediateThrowEvent>
        <sequenceFlow id="o3" sourceRef="undo_all" targetRef="oe"/><endEvent id="oe"/>
      </process></definitions>"""
    outcome = both_ways(tmp_path, outer, TOPICS, raise_on={"c": engine.BpmnError("FAIL", "c failed")})
    assert outcome.calls == ["a", "b", "c", "x", "undo_x", "undo_b", "undo_a"]
    assert outcome.durable["status"] == "completed"


TRANSACTION = f"""<definitions {NS}>
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="T"/>
    <transaction id="T">
      <startEvent id="ts"/>
      <sequenceFlow id="t1" sourceRef="ts" targetRef="X"/>
      {undoable("X", "x")}
      <sequenceFlow id="t2" sourceRef="X" targetRef="B"/>
      {undoable("B", "b")}
      <sequenceFlow id="t3" sourceRef="B" targetRef="cancel"/>
      <endEvent id="cancel"><cancelEventDefinition/></endEvent>
    </transaction>
    <sequenceFlow id="f2" sourceRef="T" targetRef="e"/>
    <endEvent id="e"/>
    <boundaryEvent id="cancelled" attachedToRef="T"><cancelEventDefinition/></boundaryEvent>
    <sequenceFlow id="f3" sourceRef="cancelled" targetRef="after"/>
    <serviceTask id="after" camunda:topic="after"/>
    <sequenceFlow id="f4" sourceRef="after" targetRef="ce"/>
    <endEvent id="ce"/>
  </process>
</definitions>"""


def returning_results():
    """Handlers that each return {topic: "done"} and record the variables they saw."""
    handlers, calls = make_recorder()
    seen = {}
    for topic in TOPICS:
        def handler(ctx, topic=topic):
            calls.append(topic)
            seen[topic] = dict(ctx.data)
            return {f"{topic}_result": f"{topic} done"}
        handlers.task(topic)(handler)
    make_recorder.seen = seen
    return handlers, calls


def test_leaving_a_transaction_through_its_cancel_boundary_keeps_its_variables(tmp_path):
    outcome = both_ways(tmp_path, TRANSACTION, data={"order": "o-1"}, make_handlers=returning_results)
    assert outcome.calls == ["x", "b", "undo_b", "undo_x", "after"]
    expected = {"order": "o-1", "x_result": "x done", "b_result": "b done", "undo_b_result": "undo_b done",
                "undo_x_result": "undo_x done"}
    assert make_recorder.seen["after"] == expected
    assert outcome.memory.data == outcome.durable["data"] == {**expected, "after_result": "after done"}


MULTI_INSTANCE_SUBPROCESS = f"""<definitions {NS}>
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="S"/>
    <subProcess id="S">
      <multiInstanceLoopCharacteristics isSequential="SEQUENTIAL">
        <loopDataInputRef>items</loopDataInputRef><inputDataItem id="item"/>
      </multiInstanceLoopCharacteristics>
      <startEvent id="ss"/>
      <sequenceFlow id="g1" sourceRef="ss" targetRef="M"/>
      {undoable("M", "reserve")}
      <sequenceFlow id="g2" sourceRef="M" targetRef="se"/>
      <endEvent id="se"/>
    </subProcess>
    <sequenceFlow id="f2" sourceRef="S" targetRef="undo_all"/>
    <intermediateThrowEvent id="undo_all"><compensateEventDefinition/></intermediateThrowEvent>
    <sequenceFlow id="f3" sourceRef="undo_all" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"""


def reservations():
    handlers, calls = make_recorder()

    @handlers.task("reserve")
    def reserve(ctx):
        calls.append(f"reserve:{ctx.data['item']}")
        return {"reservation": f"r-{ctx.data['item']}"}

    @handlers.task("undo_reserve")
    def release(ctx):
        calls.append(f"release:{ctx.data['item']}:{ctx.data['reservation']}")
    return handlers, calls


@pytest.mark.parametrize("sequential", ["true", "false"])
def test_each_multi_instance_iteration_is_undone_with_its_own_variables(tmp_path, sequential):
    diagram = MULTI_INSTANCE_SUBPROCESS.replace("SEQUENTIAL", sequential)
    outcome = both_ways(tmp_path, diagram, data={"items": ["a", "b", "c"]}, make_handlers=reservations)
    assert outcome.calls == ["reserve:a", "reserve:b", "reserve:c",
                             "release:c:r-c", "release:b:r-b", "release:a:r-a"]
    assert outcome.memory.status == outcome.durable["status"] == "completed"


def test_a_compensation_event_subprocess_also_marked_is_for_compensation_deploys_and_undoes(tmp_path):
    fixture = (FIXTURES / "compensation_event_subprocess.bpmn").read_text().replace(
        'triggeredByEvent="true">', 'triggeredByEvent="true" isForCompensation="true">')
    assert 'isForCompensation="true">' in fixture
    assert inspect([("marked.bpmn", fixture.encode())])[1] == []
    outcome = both_ways(tmp_path, fixture, ["X", "Y", "undoX", "undoY", "cleanup"])
    assert outcome.calls == ["X", "Y", "undoY", "undoX", "cleanup"]
    assert outcome.durable["status"] == "completed"


MULTI_INSTANCE_TRANSACTION = TRANSACTION.replace(
    '<transaction id="T">',
    '<transaction id="T"><multiInstanceLoopCharacteristics isSequential="true">'
    '<loopCardinality>3</loopCardinality></multiInstanceLoopCharacteristics>')


def test_a_multi_instance_transaction_is_cancelled_by_its_first_cancelled_iteration(tmp_path):
    assert inspect([("mi_transaction.bpmn", MULTI_INSTANCE_TRANSACTION.encode())])[1] == []
    outcome = both_ways(tmp_path, MULTI_INSTANCE_TRANSACTION, data={"order": "o-1"}, make_handlers=returning_results)
    # The first iteration ends in the cancel end event: its work is undone, the activity is
    # interrupted (no second iteration), and the cancel boundary event's path runs.
    assert outcome.calls == ["x", "b", "undo_b", "undo_x", "after"]
    assert outcome.memory.status == outcome.durable["status"] == "completed"
    assert outcome.memory.data == outcome.durable["data"]
    assert outcome.durable["data"]["undo_x_result"] == "undo_x done"
    undone = sorted(t["bpmn_id"] for t in outcome.durable["tasks"] if t["compensated"])
    assert undone == ["B", "X"]
