"""Diagrams that parse but mean something Maestro would not do are refused, naming file, line and element:
compensation activities with sequence flows, cancel end events outside a transaction, error end events
throwing no error code, and execution or task listeners (which Maestro does not run)."""
import pytest
from cli_helpers import maestro as maestro_cli
from conftest import FIXTURES
from web_helpers import signed_in

import engine
from engine.durable import Maestro
from webapp import create_app

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
    id="d" targetNamespace="t">"""

UNDO_WITH_FLOWS = HEAD + """
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="pay"/>
    <bpmn:serviceTask id="pay"/>
    <bpmn:boundaryEvent id="undo_pay" attachedToRef="pay"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
    <bpmn:association id="a1" associationDirection="One" sourceRef="undo_pay" targetRef="refund"/>
    <bpmn:sequenceFlow id="f2" sourceRef="pay" targetRef="refund"/>
    <bpmn:serviceTask id="refund" isForCompensation="true"/>
    <bpmn:sequenceFlow id="f3" sourceRef="refund" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""

CANCEL_OUTSIDE_TRANSACTION = HEAD + """
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sub"/>
    <bpmn:subProcess id="sub">
      <bpmn:startEvent id="sub_start"/>
      <bpmn:sequenceFlow id="s1" sourceRef="sub_start" targetRef="give_up"/>
      <bpmn:endEvent id="give_up"><bpmn:cancelEventDefinition/></bpmn:endEvent>
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""

# An error end event per case: no errorRef, and an error without errorCode. The boundary event and
# the event subprocess catch without errorRef: they catch every error, which is fine.
ERRORS = HEAD + """
  <bpmn:error id="no_code" name="Declined"/>
  <bpmn:error id="coded" name="Out of stock" errorCode="NO_STOCK"/>
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sub"/>
    <bpmn:subProcess id="sub">
      <bpmn:startEvent id="sub_start"/>
      <bpmn:sequenceFlow id="s1" sourceRef="sub_start" targetRef="split"/>
      <bpmn:exclusiveGateway id="split" default="s2"/>
      <bpmn:sequenceFlow id="s2" sourceRef="split" targetRef="unnamed_error"/>
      <bpmn:sequenceFlow id="s3" sourceRef="split" targetRef="codeless_error">
        <bpmn:conditionExpression>declined</bpmn:conditionExpression></bpmn:sequenceFlow>
      <bpmn:sequenceFlow id="s4" sourceRef="split" targetRef="coded_error">
        <bpmn:conditionExpression>out_of_stock</bpmn:conditionExpression></bpmn:sequenceFlow>
      <bpmn:endEvent id="unnamed_error"><bpmn:errorEventDefinition/></bpmn:endEvent>
      <bpmn:endEvent id="codeless_error"><bpmn:errorEventDefinition errorRef="no_code"/></bpmn:endEvent>
      <bpmn:endEvent id="coded_error"><bpmn:errorEventDefinition errorRef="coded"/></bpmn:endEvent>
    </bpmn:subProcess>
    <bpmn:boundaryEvent id="caught" attachedToRef="sub"><bpmn:errorEventDefinition/></bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="end"/>
    <bpmn:sequenceFlow id="f3" sourceRef="caught" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""

LISTENERS = HEAD + """
  <bpmn:process id="p" isExecutable="true">
    <bpmn:extensionElements>
      <camunda:executionListener class="com.acme.Audit" event="start"/>
    </bpmn:extensionElements>
    <bpmn:startEvent id="start">
      <bpmn:extensionElements>
        <camunda:executionListener event="end"><camunda:script scriptFormat="groovy">x = 1</camunda:script></camunda:executionListener>
      </bpmn:extensionElements>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve">
      <bpmn:extensionElements>
        <camunda:executionListener expression="${audit.log(execution)}" event="take"/>
      </bpmn:extensionElements>
    </bpmn:sequenceFlow>
    <bpmn:userTask id="approve">
      <bpmn:extensionElements>
        <camunda:taskListener delegateExpression="${notifier}" event="create"/>
        <camunda:executionListener event="start"/>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="end"/>
    <bpmn:endEvent id="end">
      <bpmn:extensionElements>
        <zeebe:executionListeners><zeebe:executionListener eventType="start" type="audit"/></zeebe:executionListeners>
      </bpmn:extensionElements>
    </bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""

FILE = "diagram.bpmn"


def line_of(xml, text):
    """The 1-based line of `xml` holding `text` first."""
    return next(number for number, line in enumerate(xml.splitlines(), 1) if text in line)


def refused(xml, force_executable=False):
    with pytest.raises(engine.DeployError) as raised:
        engine.load([(FILE, xml)], force_executable)
    return raised.value.problems


def located(problems):
    return [(p.file, p.line, p.element) for p in problems]


def test_a_compensation_activity_with_sequence_flows_is_refused():
    problem, = refused(UNDO_WITH_FLOWS)
    assert (problem.file, problem.line, problem.element) == (FILE, line_of(UNDO_WITH_FLOWS, 'id="refund"'), "refund")
    assert "incoming 'f2'" in problem.message and "outgoing 'f3'" in problem.message
    assert "remove its flows" in problem.message


def test_a_cancel_end_event_outside_a_transaction_is_refused_and_inside_one_runs():
    problem, = refused(CANCEL_OUTSIDE_TRANSACTION)
    assert located([problem]) == [(FILE, line_of(CANCEL_OUTSIDE_TRANSACTION, 'id="give_up"'), "give_up")]
    assert "outside a transaction" in problem.message and "move it into one" in problem.message
    in_transaction = CANCEL_OUTSIDE_TRANSACTION.replace("bpmn:subProcess", "bpmn:transaction")
    engine.load([(FILE, in_transaction)])
    assert engine.lint([FIXTURES / "compensation_transaction.bpmn"]) == []


def test_an_error_end_event_must_throw_an_error_code_catch_events_need_none():
    problems = refused(ERRORS)
    assert located(problems) == [(FILE, line_of(ERRORS, 'id="unnamed_error"'), "unnamed_error"),
                                 (FILE, line_of(ERRORS, 'id="codeless_error"'), "codeless_error")]
    assert "set its errorRef to an <error> with an errorCode" in problems[0].message
    assert "the error 'no_code' this end event throws has no errorCode" in problems[1].message


def test_error_end_events_of_documentation_models_are_checked_only_when_forced():
    sketch = ERRORS.replace('isExecutable="true"', 'isExecutable="false"')
    problem, = refused(sketch)
    assert 'isExecutable="false"' in problem.message
    forced = refused(sketch, force_executable=True)
    assert [p.element for p in forced] == ["unnamed_error", "codeless_error"]


def test_execution_and_task_listeners_are_refused_where_they_are_written():
    problems = refused(LISTENERS)
    assert located(problems) == [
        (FILE, line_of(LISTENERS, 'class="com.acme.Audit"'), "p"),
        (FILE, line_of(LISTENERS, 'scriptFormat="groovy"'), "start"),
        (FILE, line_of(LISTENERS, "audit.log"), "f1"),
        (FILE, line_of(LISTENERS, "camunda:taskListener"), "approve"),
        (FILE, line_of(LISTENERS, "zeebe:executionListener "), "end"),
    ]  # the listener that runs nothing is not refused
    assert [p.message.split(" would not run")[0] for p in problems] == [
        "camunda:executionListener (class 'com.acme.Audit')", "camunda:executionListener (groovy script)",
        "camunda:executionListener (expression '${audit.log(execution)}')",
        "camunda:taskListener (delegateExpression '${notifier}')", "zeebe:executionListener (type 'audit')"]
    assert all("Maestro does not run execution or task listeners; do that work in a service task" in p.message
               for p in problems)


@pytest.mark.parametrize("xml, element", [(UNDO_WITH_FLOWS, "refund"), (CANCEL_OUTSIDE_TRANSACTION, "give_up"),
                                          (ERRORS, "unnamed_error"), (LISTENERS, "p")])
def test_lint_deploy_and_the_api_refuse_them_alike(tmp_path, xml, element):
    path = tmp_path / FILE
    path.write_text(xml)
    line = engine.lint([path])[0].line
    assert [p.element for p in engine.lint([path])][0] == element
    linted = maestro_cli("lint", path)
    assert linted.returncode == 1 and f"{path}:{line}: {element}: " in linted.stdout
    maestro = Maestro(f"sqlite:///{tmp_path / 'maestro.db'}")
    with pytest.raises(engine.DeployError) as raised:
        maestro.deploy([(FILE, xml.encode())])
    assert located(raised.value.problems)[0] == (FILE, line, element)
    response = signed_in(create_app(maestro, secret_key="test").test_client()).post(
        "/api/definitions", data=xml.encode(), headers={"Content-Type": "application/xml"})
    assert response.status_code == 422
    assert (response.json["errors"][0]["line"], response.json["errors"][0]["element"]) == (line, element)
    assert maestro.definitions() == []


def test_a_version_deployed_before_a_check_refused_it_runs_on(tmp_path, recorder):
    """Checks grow stricter between releases; a stored version is built as it was accepted."""
    from durable_helpers import drain
    from sqlalchemy import update

    from engine.durable.store.models import Definition

    waits = HEAD + """
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve"/>
    <bpmn:userTask id="approve"/>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="ship"/>
    <bpmn:serviceTask id="ship" camunda:topic="ship"/>
    <bpmn:sequenceFlow id="f3" sourceRef="ship" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""
    handlers, calls = recorder("ship")
    url = f"sqlite:///{tmp_path / 'maestro.db'}"
    maestro = Maestro(url, handlers)
    maestro.deploy([("p.bpmn", waits.encode())])
    instance_id = maestro.start("p")["id"]
    drain(maestro)
    # As if a listener had been accepted when this version was deployed (it is refused today).
    with_listener = waits.replace('<bpmn:userTask id="approve"/>', '<bpmn:userTask id="approve"><bpmn:extensionElements>'
                                  '<camunda:taskListener class="org.example.Audit" event="create"/>'
                                  '</bpmn:extensionElements></bpmn:userTask>')
    with maestro.Session() as session:
        session.execute(update(Definition).values(xml=with_listener))
        session.commit()
    restarted = Maestro(url, handlers)  # a new release: nothing cached
    restarted.complete_task(instance_id, "approve")
    drain(restarted)
    assert calls == ["ship"]
    assert restarted.show(instance_id)["status"] == "completed"
