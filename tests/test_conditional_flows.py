"""Conditional sequence flows out of activities and events, as BPMN and Camunda 7 run them: every
flow whose condition holds and every flow without one is taken, the default flow only when no other
is, and no flow to take fails the instance naming the element (these diagrams were refused)."""
from both_ways import both_ways

import engine
from engine import Handlers

NS = 'xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" ' \
     'targetNamespace="t"'


def _recording(results=None):
    """(handlers, calls): every topic appends itself; `results[topic]` is what that handler returns."""
    def make():
        calls = []

        class Recording(Handlers):
            def task_for(self, topic):
                def handler(ctx):
                    calls.append(topic)
                    return (results or {}).get(topic)
                return handler
        return Recording(), calls
    return make


SCORED = f"""<definitions {NS}>
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f0" sourceRef="s" targetRef="score"/>
    <serviceTask id="score" camunda:topic="score" default="toManual"/>
    <sequenceFlow id="toBig" sourceRef="score" targetRef="big">
      <conditionExpression>${{points &gt; 100}}</conditionExpression></sequenceFlow>
    <sequenceFlow id="toVip" sourceRef="score" targetRef="vip">
      <conditionExpression>${{vip}}</conditionExpression></sequenceFlow>
    <sequenceFlow id="toManual" sourceRef="score" targetRef="manual"/>
    <serviceTask id="big" camunda:topic="big"/>
    <serviceTask id="vip" camunda:topic="vip"/>
    <serviceTask id="manual" camunda:topic="manual"/>
  </process>
</definitions>"""


def test_every_flow_whose_condition_holds_is_taken_and_the_default_only_when_none_is(tmp_path):
    both = both_ways(tmp_path / "both", SCORED, data={"vip": True},
                     make_handlers=_recording({"score": {"points": 500}}))
    assert both.calls[0] == "score" and sorted(both.calls[1:]) == ["big", "vip"]
    assert both.memory.status == both.durable["status"] == "completed"
    assert both.memory.data == both.durable["data"] == {"vip": True, "points": 500}

    one = both_ways(tmp_path / "one", SCORED, data={"vip": False}, make_handlers=_recording({"score": {"points": 500}}))
    assert one.calls == ["score", "big"]

    default = both_ways(tmp_path / "default", SCORED, data={"vip": False},
                        make_handlers=_recording({"score": {"points": 7}}))
    assert default.calls == ["score", "manual"]
    assert default.memory.status == default.durable["status"] == "completed"
    # history lists the diagram's elements only, not the split choosing the flows
    done = [t["bpmn_id"] for t in default.durable["tasks"] if t["state"] == "COMPLETED"]
    assert done == ["s", "score", "manual"]


def test_a_flow_without_a_condition_is_always_taken_and_the_default_then_never(tmp_path):
    with_plain_flow = SCORED.replace('<serviceTask id="big"', '<sequenceFlow id="toLog" sourceRef="score" '
                                     'targetRef="log"/><serviceTask id="log" camunda:topic="log"/><serviceTask id="big"')
    outcome = both_ways(tmp_path, with_plain_flow, data={"vip": False},
                        make_handlers=_recording({"score": {"points": 7}}))
    assert outcome.calls == ["score", "log"]


def test_no_flow_to_take_fails_naming_the_element_and_a_retry_with_the_variable_set_goes_on(tmp_path):
    no_default = SCORED.replace(' default="toManual"', "").replace(
        '<sequenceFlow id="toManual" sourceRef="score" targetRef="manual"/>', "")
    outcome = both_ways(tmp_path, no_default, data={"vip": False}, make_handlers=_recording({"score": {"points": 7}}))
    assert outcome.calls == ["score"]
    message = "no sequence flow leaving 'score' can be taken: none of their conditions holds and it has no default flow"
    assert outcome.memory.status == outcome.durable["status"] == "failed"
    assert outcome.memory.error["message"] == outcome.durable["incident"]["message"] == message
    assert outcome.memory.error["bpmn_id"] == outcome.durable["incident"]["bpmn_id"] == "score"
    assert outcome.durable["data"] == {"vip": False, "points": 7}  # nothing set so far is lost

    outcome.memory.retry({"vip": True})
    assert outcome.memory.status == "completed"
    assert outcome.calls == ["score", "vip"]


CAMUNDA_START = f"""<definitions {NS}>
  <process id="condSeqFlowUelExpr" isExecutable="true">
    <startEvent id="theStart"/>
    <sequenceFlow id="flow1" sourceRef="theStart" targetRef="task1">
      <conditionExpression xsi:type="tFormalExpression" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">${{input == 'right'}}</conditionExpression>
    </sequenceFlow>
    <sequenceFlow id="flow2" sourceRef="theStart" targetRef="task2">
      <conditionExpression>${{input != 'right'}}</conditionExpression>
    </sequenceFlow>
    <userTask id="task1" name="task right"/>
    <userTask id="task2" name="task wrong"/>
  </process>
</definitions>"""


def test_conditional_flows_out_of_a_start_event_choose_the_task_that_waits(tmp_path):
    right = both_ways(tmp_path / "right", CAMUNDA_START, data={"input": "right"})
    assert [t["bpmn_id"] for t in right.memory.waiting_tasks()] == ["task1"]
    assert [t["bpmn_id"] for t in right.durable["waiting"]] == ["task1"]
    wrong = both_ways(tmp_path / "wrong", CAMUNDA_START, data={"input": "left"})
    assert [t["bpmn_id"] for t in wrong.durable["waiting"]] == ["task2"]


def test_conditional_flows_of_spiff_arena_python_conditions_out_of_a_subprocess_and_a_multi_instance_task(tmp_path):
    xml = f"""<definitions {NS}>
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f0" sourceRef="s" targetRef="sub"/>
    <subProcess id="sub">
      <startEvent id="ss"/>
      <sequenceFlow id="f1" sourceRef="ss" targetRef="count"/>
      <serviceTask id="count" camunda:topic="count"/>
      <sequenceFlow id="f2" sourceRef="count" targetRef="se"/>
      <endEvent id="se"/>
    </subProcess>
    <sequenceFlow id="many" sourceRef="sub" targetRef="each"><conditionExpression>len(items) &gt; 1</conditionExpression></sequenceFlow>
    <sequenceFlow id="few" sourceRef="sub" targetRef="alone"><conditionExpression>len(items) &lt;= 1</conditionExpression></sequenceFlow>
    <serviceTask id="each" camunda:topic="each">
      <multiInstanceLoopCharacteristics camunda:collection="items" camunda:elementVariable="item"/>
    </serviceTask>
    <sequenceFlow id="again" sourceRef="each" targetRef="alone"><conditionExpression>"b" in items</conditionExpression></sequenceFlow>
    <sequenceFlow id="done" sourceRef="each" targetRef="e"><conditionExpression>"b" not in items</conditionExpression></sequenceFlow>
    <serviceTask id="alone" camunda:topic="alone"/>
    <endEvent id="e"/>
  </process>
</definitions>"""
    several = both_ways(tmp_path / "several", xml, data={"items": ["a", "b"]}, make_handlers=_recording())
    assert several.calls == ["count", "each", "each", "alone"]
    assert several.memory.status == several.durable["status"] == "completed"
    single = both_ways(tmp_path / "single", xml, data={"items": ["a"]}, make_handlers=_recording())
    assert single.calls == ["count", "alone"]


def test_an_inclusive_join_after_an_activitys_conditional_flows_waits_only_for_the_flows_taken(tmp_path):
    xml = f"""<definitions {NS}>
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f0" sourceRef="s" targetRef="order"/>
    <serviceTask id="order" camunda:topic="order"/>
    <sequenceFlow id="toWrap" sourceRef="order" targetRef="wrap"><conditionExpression>${{gift}}</conditionExpression></sequenceFlow>
    <sequenceFlow id="toPack" sourceRef="order" targetRef="pack"/>
    <serviceTask id="wrap" camunda:topic="wrap"/>
    <serviceTask id="pack" camunda:topic="pack"/>
    <sequenceFlow id="f3" sourceRef="wrap" targetRef="join"/>
    <sequenceFlow id="f4" sourceRef="pack" targetRef="join"/>
    <inclusiveGateway id="join"/>
    <sequenceFlow id="f5" sourceRef="join" targetRef="ship"/>
    <serviceTask id="ship" camunda:topic="ship"/>
  </process>
</definitions>"""
    plain = both_ways(tmp_path / "plain", xml, data={"gift": False}, make_handlers=_recording())
    assert plain.calls == ["order", "pack", "ship"]
    gift = both_ways(tmp_path / "gift", xml, data={"gift": True}, make_handlers=_recording())
    assert gift.calls[0] == "order" and sorted(gift.calls[1:3]) == ["pack", "wrap"] and gift.calls[3:] == ["ship"]


def test_an_activity_with_a_boundary_event_leaves_through_its_conditional_flows_when_the_event_does_not_fire(tmp_path):
    xml = f"""<definitions {NS}>
  <message id="m" name="Stop"/>
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f0" sourceRef="s" targetRef="work"/>
    <serviceTask id="work" camunda:topic="work" default="toOther"/>
    <boundaryEvent id="stop" attachedToRef="work"><messageEventDefinition messageRef="m"/></boundaryEvent>
    <sequenceFlow id="f1" sourceRef="stop" targetRef="stopped"/>
    <serviceTask id="stopped" camunda:topic="stopped"/>
    <sequenceFlow id="toFast" sourceRef="work" targetRef="fast"><conditionExpression>${{speed &gt;= 10}}</conditionExpression></sequenceFlow>
    <sequenceFlow id="toOther" sourceRef="work" targetRef="slow"/>
    <serviceTask id="fast" camunda:topic="fast"/>
    <serviceTask id="slow" camunda:topic="slow"/>
  </process>
</definitions>"""
    fast = both_ways(tmp_path / "fast", xml, data={"speed": 12}, make_handlers=_recording())
    assert fast.calls == ["work", "fast"]
    assert fast.memory.status == fast.durable["status"] == "completed"
    slow = both_ways(tmp_path / "slow", xml, data={"speed": 1}, make_handlers=_recording())
    assert slow.calls == ["work", "slow"]


def test_lint_checks_the_conditions_of_an_activitys_flows(tmp_path):
    broken = tmp_path / "broken.bpmn"
    broken.write_text(SCORED.replace("${vip}", "${vip ==}"))
    problems = engine.lint([str(broken)])
    assert [(p.element, p.line) for p in problems] == [("toVip", 9)]  # the condition's own line
    assert "does not parse" in problems[0].message
