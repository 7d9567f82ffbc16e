"""Business errors that carry variables, Camunda's errorCodeVariable / errorMessageVariable,
and errors thrown from inside an error event subprocess (issue 10, items 7 and 18).

Every diagram runs in memory and through the durable worker (both_ways); tasks bind by element id.
"""
from both_ways import both_ways

from engine import BpmnError, Handlers

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="defs" targetNamespace="http://maestro.test/bpmn">
  <bpmn:error id="Error_Declined" name="Declined" errorCode="DECLINED"/>
  <bpmn:error id="Error_Failed" name="Order failed" errorCode="ORDER_FAILED"
              camunda:errorMessage="the order cannot be fulfilled"/>
"""
TAIL = "</bpmn:definitions>"
MAX_CALLS = 12  # a handler called more often than this is running in a loop


def handlers_for(*topics, raising=None, returning=None, seen=None):
    """make_handlers for both_ways: each handler records its topic; `raising[topic]` is raised,
    `returning[topic]` returned; `seen`, if given, gets (topic, variables) of every call.
    A run past MAX_CALLS calls fails instead of looping forever."""
    raising, returning = raising or {}, returning or {}

    def make():
        handlers, calls = Handlers(), []
        for topic in topics:
            def handler(ctx, topic=topic):
                calls.append(topic)
                if seen is not None:
                    seen.append((topic, ctx.data))
                if len(calls) > MAX_CALLS:
                    raise RuntimeError("loop: too many handler calls")
                if topic in raising:
                    raise raising[topic]
                return returning.get(topic)
            handlers.task(topic)(handler)
        return handlers, calls
    return make


def declined(variables=None):
    if variables is None:  # as before `variables` existed, so that the item 7 tests fail for their own reason
        return BpmnError("DECLINED", "card declined")
    return BpmnError("DECLINED", "card declined", variables=variables)


def status_of(outcome):
    return outcome.memory.status, outcome.durable["status"]


def error_message_of(outcome):
    return outcome.memory.error["message"], outcome.durable["error"]["message"]


def data_of(outcome):
    assert outcome.memory.data == outcome.durable["data"], "durable data differ from in-memory data"
    return outcome.memory.data


# -- item 7: an error thrown inside an error event subprocess leaves its scope ------------------

PROCESS_EVENT_SUBPROCESS_RETHROWS = HEAD + """
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="pay"/>
    <bpmn:serviceTask id="pay"/>
    <bpmn:sequenceFlow id="f2" sourceRef="pay" targetRef="end"/>
    <bpmn:endEvent id="end"/>
    <bpmn:subProcess id="on_declined" triggeredByEvent="true">
      <bpmn:startEvent id="on_declined_start"><bpmn:errorEventDefinition errorRef="Error_Declined"/></bpmn:startEvent>
      <bpmn:sequenceFlow id="e1" sourceRef="on_declined_start" targetRef="notify"/>
      <bpmn:serviceTask id="notify"/>
      <bpmn:sequenceFlow id="e2" sourceRef="notify" targetRef="rethrow"/>
      <bpmn:endEvent id="rethrow"><bpmn:errorEventDefinition errorRef="Error_Declined"/></bpmn:endEvent>
    </bpmn:subProcess>
  </bpmn:process>
""" + TAIL


def test_process_error_event_subprocess_rethrowing_is_uncaught_not_a_loop(tmp_path):
    outcome = both_ways(tmp_path, PROCESS_EVENT_SUBPROCESS_RETHROWS,
                        make_handlers=handlers_for("pay", "notify", raising={"pay": declined()}))

    assert outcome.calls == ["pay", "notify"]
    assert status_of(outcome) == ("failed", "failed")
    assert error_message_of(outcome) == ("uncaught BPMN error DECLINED: Declined",) * 2


def test_error_raised_by_a_task_of_the_error_event_subprocess_is_not_caught_by_it(tmp_path):
    outcome = both_ways(tmp_path, PROCESS_EVENT_SUBPROCESS_RETHROWS, make_handlers=handlers_for(
        "pay", "notify", raising={"pay": declined(), "notify": BpmnError("DECLINED", "notice bounced")}))

    assert outcome.calls == ["pay", "notify"]
    assert status_of(outcome) == ("failed", "failed")
    assert error_message_of(outcome) == ("uncaught BPMN error DECLINED: notice bounced",) * 2


def subprocess_with_event_subprocess(caught_error, rethrown_error, boundary_error=None, process_catches=False):
    """pay fails inside S; S's error event subprocess, catching `caught_error` (None: any error),
    notifies and rethrows `rethrown_error`; a boundary on S catching `boundary_error` (or none)
    leads to handle_failed; optionally a process-level error event subprocess (outer_notify)
    catches whatever is left."""
    boundary = "" if boundary_error is None else f"""
    <bpmn:boundaryEvent id="S_failed" attachedToRef="S">
      <bpmn:errorEventDefinition errorRef="{boundary_error}"/>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="b1" sourceRef="S_failed" targetRef="handle_failed"/>
    <bpmn:serviceTask id="handle_failed"/>
    <bpmn:sequenceFlow id="b2" sourceRef="handle_failed" targetRef="end_failed"/>
    <bpmn:endEvent id="end_failed"/>"""
    outer = "" if not process_catches else """
    <bpmn:subProcess id="outer" triggeredByEvent="true">
      <bpmn:startEvent id="outer_start"><bpmn:errorEventDefinition/></bpmn:startEvent>
      <bpmn:sequenceFlow id="o1" sourceRef="outer_start" targetRef="outer_notify"/>
      <bpmn:serviceTask id="outer_notify"/>
      <bpmn:sequenceFlow id="o2" sourceRef="outer_notify" targetRef="outer_end"/>
      <bpmn:endEvent id="outer_end"/>
    </bpmn:subProcess>"""
    caught = f' errorRef="{caught_error}"' if caught_error else ""
    return HEAD + f"""
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="S"/>
    <bpmn:subProcess id="S">
      <bpmn:startEvent id="S_start"/>
      <bpmn:sequenceFlow id="s1" sourceRef="S_start" targetRef="pay"/>
      <bpmn:serviceTask id="pay"/>
      <bpmn:sequenceFlow id="s2" sourceRef="pay" targetRef="S_end"/>
      <bpmn:endEvent id="S_end"/>
      <bpmn:subProcess id="on_declined" triggeredByEvent="true">
        <bpmn:startEvent id="on_declined_start"><bpmn:errorEventDefinition{caught}/></bpmn:startEvent>
        <bpmn:sequenceFlow id="e1" sourceRef="on_declined_start" targetRef="notify"/>
        <bpmn:serviceTask id="notify"/>
        <bpmn:sequenceFlow id="e2" sourceRef="notify" targetRef="rethrow"/>
        <bpmn:endEvent id="rethrow"><bpmn:errorEventDefinition errorRef="{rethrown_error}"/></bpmn:endEvent>
      </bpmn:subProcess>
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f2" sourceRef="S" targetRef="ship"/>
    <bpmn:serviceTask id="ship"/>
    <bpmn:sequenceFlow id="f3" sourceRef="ship" targetRef="end"/>
    <bpmn:endEvent id="end"/>{boundary}{outer}
  </bpmn:process>
""" + TAIL


TOPICS = ("pay", "notify", "ship", "handle_failed", "outer_notify")


def test_subprocess_event_subprocess_rethrowing_another_code_reaches_the_boundary_on_the_subprocess(tmp_path):
    # The event subprocess catches any error, so it would catch its own ORDER_FAILED again.
    outcome = both_ways(tmp_path, subprocess_with_event_subprocess(None, "Error_Failed", "Error_Failed"),
                        make_handlers=handlers_for(*TOPICS, raising={"pay": declined()}))

    assert outcome.calls == ["pay", "notify", "handle_failed"]
    assert status_of(outcome) == ("completed", "completed")


def test_subprocess_event_subprocess_rethrowing_the_same_code_reaches_the_boundary_on_the_subprocess(tmp_path):
    diagram = subprocess_with_event_subprocess("Error_Declined", "Error_Declined", "Error_Declined")
    outcome = both_ways(tmp_path, diagram, make_handlers=handlers_for(*TOPICS, raising={"pay": declined()}))

    assert outcome.calls == ["pay", "notify", "handle_failed"]
    assert status_of(outcome) == ("completed", "completed")


def test_subprocess_event_subprocess_rethrowing_reaches_the_process_event_subprocess(tmp_path):
    diagram = subprocess_with_event_subprocess("Error_Declined", "Error_Declined", process_catches=True)
    outcome = both_ways(tmp_path, diagram,
                        make_handlers=handlers_for(*TOPICS, raising={"pay": declined()}))

    assert outcome.calls == ["pay", "notify", "outer_notify"]
    assert status_of(outcome) == ("completed", "completed")


def test_subprocess_event_subprocess_rethrowing_uncaught_fails_the_instance(tmp_path):
    outcome = both_ways(tmp_path, subprocess_with_event_subprocess(None, "Error_Failed"),
                        make_handlers=handlers_for(*TOPICS, raising={"pay": declined()}))

    assert outcome.calls == ["pay", "notify"]
    assert status_of(outcome) == ("failed", "failed")
    assert error_message_of(outcome) == ("uncaught BPMN error ORDER_FAILED: the order cannot be fulfilled",) * 2


# -- item 18: variables with the error, and errorCodeVariable / errorMessageVariable -------------

BOUNDARY_WITH_ERROR_VARIABLES = HEAD + """
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="pay"/>
    <bpmn:serviceTask id="pay"/>
    <bpmn:sequenceFlow id="f2" sourceRef="pay" targetRef="ship"/>
    <bpmn:serviceTask id="ship"/>
    <bpmn:sequenceFlow id="f3" sourceRef="ship" targetRef="end"/>
    <bpmn:endEvent id="end"/>
    <bpmn:boundaryEvent id="pay_declined" attachedToRef="pay">
      <bpmn:errorEventDefinition errorRef="Error_Declined"
          camunda:errorCodeVariable="error_code" camunda:errorMessageVariable="error_message"/>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="b1" sourceRef="pay_declined" targetRef="handle_declined"/>
    <bpmn:serviceTask id="handle_declined"/>
    <bpmn:sequenceFlow id="b2" sourceRef="handle_declined" targetRef="end_declined"/>
    <bpmn:endEvent id="end_declined"/>
  </bpmn:process>
""" + TAIL


def test_error_variables_reach_the_boundary_path_with_code_and_message(tmp_path):
    seen = []
    outcome = both_ways(tmp_path, BOUNDARY_WITH_ERROR_VARIABLES, data={"order": 7}, make_handlers=handlers_for(
        "pay", "ship", "handle_declined", raising={"pay": declined({"reason": "limit", "limit": 500})},
        returning={"handle_declined": {"handled": True}}, seen=seen))

    assert outcome.calls == ["pay", "handle_declined"]
    assert status_of(outcome) == ("completed", "completed")
    handled_with = {"order": 7, "reason": "limit", "limit": 500,
                    "error_code": "DECLINED", "error_message": "card declined"}
    assert [data for topic, data in seen if topic == "handle_declined"] == [handled_with] * 2, \
        "the handler on the boundary path sees them, in memory and durably"
    assert data_of(outcome) == {**handled_with, "handled": True}


def test_error_variables_show_in_the_history_of_the_failing_task(tmp_path):
    outcome = both_ways(tmp_path, BOUNDARY_WITH_ERROR_VARIABLES, data={"order": 7}, make_handlers=handlers_for(
        "pay", "ship", "handle_declined", raising={"pay": declined({"reason": "limit"})}))

    pay = [entry for entry in outcome.durable["history"] if entry["bpmn_id"] == "pay"]
    assert [(entry["state"], entry["data_in"], entry["data_out"], entry["error"]) for entry in pay] == [
        ("CANCELLED", {"order": 7}, {"reason": "limit"},
         {"message": "DECLINED: card declined (caught)", "type": "BpmnError"})]


def test_error_variables_survive_a_replay_of_the_logged_steps(tmp_path):
    # The user task makes the durable instance save itself whole; the steps after it are logged,
    # and reading the completed instance back replays them with the recorded BpmnError.
    review_first = BOUNDARY_WITH_ERROR_VARIABLES.replace(
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="pay"/>', """
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review"/>
    <bpmn:sequenceFlow id="f1" sourceRef="review" targetRef="pay"/>""")
    outcome = both_ways(tmp_path, review_first, data={"order": 7}, steps=[("complete", "review", {"ok": True})],
                        make_handlers=handlers_for("pay", "ship", "handle_declined",
                                                   raising={"pay": declined({"reason": "limit"})}))

    assert outcome.calls == ["pay", "handle_declined"]
    assert status_of(outcome) == ("completed", "completed")
    assert data_of(outcome) == {"order": 7, "ok": True, "reason": "limit",
                                "error_code": "DECLINED", "error_message": "card declined"}


def test_error_without_variables_adds_only_the_named_code_and_message_variables(tmp_path):
    outcome = both_ways(tmp_path, BOUNDARY_WITH_ERROR_VARIABLES, data={"order": 7}, make_handlers=handlers_for(
        "pay", "ship", "handle_declined", raising={"pay": BpmnError("DECLINED")}))

    assert outcome.calls == ["pay", "handle_declined"]
    assert data_of(outcome) == {"order": 7, "error_code": "DECLINED", "error_message": "DECLINED"}


def test_error_variables_that_are_not_json_are_a_technical_failure(tmp_path):
    tried_once = BOUNDARY_WITH_ERROR_VARIABLES.replace('<bpmn:serviceTask id="pay"/>', """
    <bpmn:serviceTask id="pay"><bpmn:extensionElements>
      <camunda:failedJobRetryTimeCycle>R1/PT0S</camunda:failedJobRetryTimeCycle>
    </bpmn:extensionElements></bpmn:serviceTask>""")
    outcome = both_ways(tmp_path, tried_once, make_handlers=handlers_for(
        "pay", "ship", "handle_declined", raising={"pay": declined({"when": object()})}))

    assert outcome.calls == ["pay"]
    assert status_of(outcome) == ("failed", "failed")
    memory_message, durable_message = error_message_of(outcome)
    assert memory_message == durable_message
    assert memory_message.startswith(
        "the variables of the BpmnError raised by the handler for topic 'pay' (task 'pay'): "
        "variable 'when' is of type object, which is not a JSON value")


EVENT_SUBPROCESS_WITH_ERROR_VARIABLES = HEAD + """
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="pay"/>
    <bpmn:serviceTask id="pay"/>
    <bpmn:sequenceFlow id="f2" sourceRef="pay" targetRef="end"/>
    <bpmn:endEvent id="end"/>
    <bpmn:subProcess id="on_error" triggeredByEvent="true">
      <bpmn:startEvent id="on_error_start">
        <bpmn:errorEventDefinition camunda:errorCodeVariable="code" camunda:errorMessageVariable="why"/>
      </bpmn:startEvent>
      <bpmn:sequenceFlow id="e1" sourceRef="on_error_start" targetRef="notify"/>
      <bpmn:serviceTask id="notify"/>
      <bpmn:sequenceFlow id="e2" sourceRef="notify" targetRef="on_error_end"/>
      <bpmn:endEvent id="on_error_end"/>
    </bpmn:subProcess>
  </bpmn:process>
""" + TAIL


def test_error_variables_reach_the_error_event_subprocess_with_code_and_message(tmp_path):
    outcome = both_ways(tmp_path, EVENT_SUBPROCESS_WITH_ERROR_VARIABLES, data={"order": 7},
                        make_handlers=handlers_for("pay", "notify", raising={"pay": declined({"reason": "limit"})},
                                                   returning={"notify": {"notified": True}}))

    assert outcome.calls == ["pay", "notify"]
    assert status_of(outcome) == ("completed", "completed")
    assert data_of(outcome) == {"order": 7, "reason": "limit", "code": "DECLINED", "why": "card declined",
                                "notified": True}


ERROR_END_EVENT_CAUGHT_WITH_VARIABLES = HEAD + """
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="S"/>
    <bpmn:subProcess id="S">
      <bpmn:startEvent id="S_start"/>
      <bpmn:sequenceFlow id="s1" sourceRef="S_start" targetRef="check"/>
      <bpmn:serviceTask id="check"/>
      <bpmn:sequenceFlow id="s2" sourceRef="check" targetRef="S_fail"/>
      <bpmn:endEvent id="S_fail"><bpmn:errorEventDefinition errorRef="{error}"/></bpmn:endEvent>
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f2" sourceRef="S" targetRef="end"/>
    <bpmn:endEvent id="end"/>
    <bpmn:boundaryEvent id="S_failed" attachedToRef="S">
      <bpmn:errorEventDefinition camunda:errorCodeVariable="code" camunda:errorMessageVariable="why"/>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="b1" sourceRef="S_failed" targetRef="recover"/>
    <bpmn:serviceTask id="recover"/>
    <bpmn:sequenceFlow id="b2" sourceRef="recover" targetRef="end_failed"/>
    <bpmn:endEvent id="end_failed"/>
  </bpmn:process>
""" + TAIL


def test_error_end_event_fills_code_and_camunda_error_message_variables(tmp_path):
    outcome = both_ways(tmp_path, ERROR_END_EVENT_CAUGHT_WITH_VARIABLES.replace("{error}", "Error_Failed"),
                        data={"order": 7}, make_handlers=handlers_for("check", "recover"))

    assert outcome.calls == ["check", "recover"]
    assert status_of(outcome) == ("completed", "completed")
    assert data_of(outcome) == {"order": 7, "code": "ORDER_FAILED", "why": "the order cannot be fulfilled"}


def test_error_end_event_without_camunda_error_message_gives_the_error_name(tmp_path):
    outcome = both_ways(tmp_path, ERROR_END_EVENT_CAUGHT_WITH_VARIABLES.replace("{error}", "Error_Declined"),
                        data={"order": 7}, make_handlers=handlers_for("check", "recover"))

    assert outcome.calls == ["check", "recover"]
    assert data_of(outcome) == {"order": 7, "code": "DECLINED", "why": "Declined"}
