"""Whatever ids a tool writes, the diagram runs as drawn (engine.read.exports.element_ids)."""
from both_ways import both_ways

import engine
from engine.read.loader import inspect

NS = ('xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" targetNamespace="t"')

FLOWS_WITHOUT_IDS = f"""<definitions {NS}>
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow sourceRef="s" targetRef="a"/>
    <serviceTask id="a" camunda:topic="a"/>
    <sequenceFlow sourceRef="a" targetRef="gw"/>
    <exclusiveGateway id="gw" default="toC"/>
    <sequenceFlow sourceRef="gw" targetRef="b"><conditionExpression>${{go}}</conditionExpression></sequenceFlow>
    <sequenceFlow id="toC" sourceRef="gw" targetRef="c"/>
    <serviceTask id="b" camunda:topic="b"/>
    <serviceTask id="c" camunda:topic="c"/>
    <sequenceFlow sourceRef="b" targetRef="e"/>
    <sequenceFlow sourceRef="c" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"""


def test_sequence_flows_without_ids_are_followed(tmp_path):
    taken = both_ways(tmp_path, FLOWS_WITHOUT_IDS, ["a", "b", "c"], {"go": True})
    assert taken.calls == ["a", "b"]
    assert taken.memory.status == taken.durable["status"] == "completed"
    assert taken.durable["data"] == taken.memory.data == {"go": True}
    default = both_ways(tmp_path / "default", FLOWS_WITHOUT_IDS, ["a", "b", "c"], {"go": False})
    assert default.calls == ["a", "c"]


def test_generated_flow_ids_are_the_same_at_every_parse():
    def outputs(library):
        spec, _ = library.build("p")
        return {name: [o.name for o in task.outputs] for name, task in spec.task_specs.items()}
    first = outputs(engine.load(FLOWS_WITHOUT_IDS))
    assert first == outputs(engine.load(FLOWS_WITHOUT_IDS))
    assert first["gw"] == ["b", "c"]


def test_document_checks_see_flows_without_ids():
    missing_condition = FLOWS_WITHOUT_IDS.replace("<conditionExpression>${go}</conditionExpression>", "")
    _, problems = inspect([("no_ids.bpmn", missing_condition.encode())])
    assert [(p.file, p.line, p.element) for p in problems] == [("no_ids.bpmn", 8, "Flow_gw_b")]
    assert "condition" in problems[0].message


SPIFF_OPERATOR_SHARING_ITS_TASKS_ID = f"""<definitions {NS}>
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="pay"/>
    <serviceTask id="pay">
      <extensionElements><spiffworkflow:serviceTaskOperator id="pay"/></extensionElements>
    </serviceTask>
    <sequenceFlow id="f2" sourceRef="pay" targetRef="ship"/>
    <serviceTask id="ship">
      <extensionElements><spiffworkflow:serviceTaskOperator id="ship_it"/></extensionElements>
    </serviceTask>
    <sequenceFlow id="f3" sourceRef="ship" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"""


def test_an_extension_element_never_stands_for_the_task_with_its_id(tmp_path):
    assert inspect([("spiff.bpmn", SPIFF_OPERATOR_SHARING_ITS_TASKS_ID.encode())])[1] == []
    outcome = both_ways(tmp_path, SPIFF_OPERATOR_SHARING_ITS_TASKS_ID, ["pay", "ship_it"])
    assert outcome.calls == ["pay", "ship_it"]
    assert outcome.durable["status"] == "completed"


RESERVED_IDS = f"""<definitions {NS}>
  <process id="p" isExecutable="true">
    <startEvent id="Start"/>
    <sequenceFlow id="f1" sourceRef="Start" targetRef="Root"/>
    <serviceTask id="Root"/>
    <sequenceFlow id="f2" sourceRef="Root" targetRef="StartEventSplit"/>
    <serviceTask id="StartEventSplit" camunda:topic="split"/>
    <boundaryEvent id="p.EndJoin" attachedToRef="StartEventSplit">
      <errorEventDefinition/>
    </boundaryEvent>
    <sequenceFlow id="f3" sourceRef="StartEventSplit" targetRef="End"/>
    <sequenceFlow id="f4" sourceRef="p.EndJoin" targetRef="handled"/>
    <serviceTask id="handled" camunda:topic="handled"/>
    <sequenceFlow id="f5" sourceRef="handled" targetRef="End"/>
    <endEvent id="End"/>
  </process>
</definitions>"""


def test_ids_that_spiffworkflow_uses_for_its_own_tasks_work(tmp_path):
    assert inspect([("reserved.bpmn", RESERVED_IDS.encode())])[1] == []
    outcome = both_ways(tmp_path, RESERVED_IDS, ["Root", "split", "handled"])
    assert outcome.calls == ["Root", "split"]
    ran = [(t["bpmn_id"], t["state"]) for t in outcome.durable["tasks"] if t["state"] == "COMPLETED"]
    assert ran == [("Start", "COMPLETED"), ("Root", "COMPLETED"), ("StartEventSplit", "COMPLETED"),
                   ("End", "COMPLETED")]
    assert [t["bpmn_id"] for t in outcome.memory.tasks() if t["state"] == "COMPLETED"] == [r[0] for r in ran]
    assert {row["bpmn_id"] for row in outcome.durable["history"]} >= {"Start", "Root", "StartEventSplit", "End"}


def test_an_error_caught_by_a_boundary_event_with_a_reserved_id_goes_its_way(tmp_path):
    outcome = both_ways(tmp_path, RESERVED_IDS, ["Root", "split", "handled"],
                        raise_on={"split": engine.BpmnError("E", "no")})
    assert outcome.calls == ["Root", "split", "handled"]
    assert outcome.memory.status == outcome.durable["status"] == "completed"
