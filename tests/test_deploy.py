"""Loading (deploying) refuses what Maestro cannot run faithfully, naming the element."""
import pytest
from conftest import FIXTURES

import engine
from engine.run import messages
from engine.run.spiff.task_ids import issuing

PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    {work}
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def refusal(source):
    """The problems for which loading `source` is refused (it must be)."""
    with pytest.raises(engine.DeployError) as raised:
        engine.load(source)
    return raised.value.problems


@pytest.mark.parametrize("work, message", [
    ('<bpmn:scriptTask id="work" scriptFormat="groovy"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>',
     "script format 'groovy' is not supported"),
    ('<bpmn:scriptTask id="work"><bpmn:script>import os</bpmn:script></bpmn:scriptTask>',
     "script does not compile"),
    ('<bpmn:businessRuleTask id="work"/>', "business rule tasks (DMN) are not supported yet"),
    ('<bpmn:serviceTask id="work"><bpmn:extensionElements><spiffworkflow:preScript>x = 1</spiffworkflow:preScript>'
     '</bpmn:extensionElements></bpmn:serviceTask>', "preScripts are not supported yet"),
])
def test_deploy_refuses_constructs_maestro_cannot_run(work, message):
    problems = refusal(PROCESS.format(work=work))
    problem, = [p for p in problems if p.element == "work"]
    assert message in problem.message
    assert problem.line == 7


def test_deploy_refuses_a_condition_that_does_not_parse():
    gateway = PROCESS.replace('<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>',
                              '<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end">'
                              '<bpmn:conditionExpression>=amount &gt;</bpmn:conditionExpression></bpmn:sequenceFlow>')
    problems = refusal(gateway.format(work='<bpmn:exclusiveGateway id="work"/>'))
    assert any(p.element == "f2" and "does not parse" in p.message for p in problems)


def test_deploy_refuses_a_file_with_no_executable_process_unless_forced():
    script = '<bpmn:scriptTask id="work"><bpmn:script>done = True</bpmn:script></bpmn:scriptTask>'
    exported = PROCESS.replace('isExecutable="true"', 'isExecutable="false"').format(work=script)
    problem, = refusal(exported)
    assert 'isExecutable="false"' in problem.message and "--force-executable" in problem.message
    assert problem.element == "p" and problem.line == 4
    forced = engine.run(exported, engine.Handlers(), force_executable=True)
    assert forced.status == "completed" and forced.data["done"] is True


def test_each_file_needs_an_executable_process_even_beside_one_that_has(tmp_path):
    good = tmp_path / "good.bpmn"
    good.write_text(PROCESS.format(work='<bpmn:task id="work"/>'))
    exported = tmp_path / "exported.bpmn"
    exported.write_text(PROCESS.replace('id="p"', 'id="q"').replace('isExecutable="true"', 'isExecutable="false"')
                        .format(work='<bpmn:task id="work"/>'))
    problems = engine.lint([good, exported])
    assert [(p.file, p.element) for p in problems] == [(str(exported), "q")]


def test_a_process_that_is_only_a_start_event_starts_and_ends():
    lone_start = PROCESS.replace('<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>', "").replace(
        '<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>\n    <bpmn:endEvent id="end"/>', "")
    assert engine.run(lone_start.format(work=""), engine.Handlers()).status == "completed"


def test_a_plain_task_passes_through_as_bpmn_says_and_a_user_task_waits():
    plain = engine.run(PROCESS.format(work='<bpmn:task id="work" name="Check the papers"/>'), engine.Handlers())
    assert plain.status == "completed"
    assert [(t["bpmn_id"], t["state"]) for t in plain.tasks() if t["bpmn_id"] == "work"] == [("work", "COMPLETED")]
    person = engine.run(PROCESS.format(work='<bpmn:userTask id="work"/>'), engine.Handlers())
    assert person.status == "waiting" and [t["bpmn_id"] for t in person.waiting_tasks()] == ["work"]


def test_a_script_task_runs_sandboxed_and_updates_the_variables():
    script = '<bpmn:scriptTask id="work"><bpmn:script>total = sum(prices)\nlabel = "n=" + str(len(prices))</bpmn:script></bpmn:scriptTask>'
    instance = engine.run(PROCESS.format(work=script), engine.Handlers(), {"prices": [1, 2, 3]})
    assert instance.status == "completed"
    assert instance.data["total"] == 6 and instance.data["label"] == "n=3"


def test_a_script_that_tries_to_escape_fails_the_task_not_the_host():
    script = ('<bpmn:scriptTask id="work"><bpmn:script>x = [c for c in ().__class__.__base__.__subclasses__()]'
              '</bpmn:script></bpmn:scriptTask>')
    with pytest.raises(engine.DeployError):
        engine.load(PROCESS.format(work=script))


TIMER = PROCESS.format(work='<bpmn:intermediateCatchEvent id="work"><bpmn:timerEventDefinition>'
                            '<bpmn:timeDuration>{duration}</bpmn:timeDuration></bpmn:timerEventDefinition>'
                            '</bpmn:intermediateCatchEvent>')


@pytest.mark.parametrize("elapsed, pending", [("PT0S", "PT1H"), ("timedelta(seconds=0)", "timedelta(hours=1)")])
def test_bare_iso_and_spiff_arena_timer_durations_are_literals_not_variables(elapsed, pending):
    assert engine.run(TIMER.replace("{duration}", elapsed), engine.Handlers()).status == "completed"
    waiting = engine.run(TIMER.replace("{duration}", pending), engine.Handlers())
    assert waiting.status == "waiting"
    assert [t["bpmn_id"] for t in waiting.waiting_tasks()] == ["work"]


SPLIT = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="order"/>
    <bpmn:serviceTask id="order"/>
    <bpmn:sequenceFlow id="f2" sourceRef="order" targetRef="pack"/>
    <bpmn:sequenceFlow id="f3" sourceRef="order" targetRef="bill">{condition}</bpmn:sequenceFlow>
    <bpmn:serviceTask id="pack"/>
    <bpmn:serviceTask id="bill"/>
    <bpmn:sequenceFlow id="f4" sourceRef="pack" targetRef="join"/>
    <bpmn:sequenceFlow id="f5" sourceRef="bill" targetRef="join"/>
    <bpmn:parallelGateway id="join"/>
    <bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_several_flows_out_of_an_activity_are_an_implicit_parallel_split(recorder):
    handlers, calls = recorder("order", "pack", "bill")
    instance = engine.run(SPLIT.replace("{condition}", ""), handlers)
    assert instance.status == "completed"
    assert calls[0] == "order" and sorted(calls[1:]) == ["bill", "pack"]


def test_a_conditional_flow_out_of_an_activity_is_taken_only_when_its_condition_holds(recorder):
    conditional = SPLIT.replace("{condition}", "<bpmn:conditionExpression>amount &gt; 5</bpmn:conditionExpression>")
    handlers, calls = recorder("order", "pack", "bill")
    assert engine.run(conditional, handlers, {"amount": 9}).status == "completed"
    assert calls[0] == "order" and sorted(calls[1:]) == ["bill", "pack"]

    handlers, calls = recorder("order", "pack", "bill")
    skipped = engine.run(conditional, handlers, {"amount": 3})
    assert calls == ["order", "pack"]
    # the parallel join waits for the flow not taken, as BPMN says (an inclusive join would go on)
    assert [(t["bpmn_id"], t["state"]) for t in skipped.waiting_tasks()] == [("join", "WAITING")]


def test_a_dangling_error_reference_is_named():
    dangling = PROCESS.format(work='<bpmn:serviceTask id="work"/>').replace(
        '<bpmn:endEvent id="end"/>',
        '<bpmn:endEvent id="end"><bpmn:errorEventDefinition errorRef="Error_Missing"/></bpmn:endEvent>')
    problem, = refusal(dangling)
    assert problem.element == "end" and "errorRef 'Error_Missing' names no <error>" in problem.message


def test_a_gateway_flow_without_condition_says_what_to_change():
    gateway = PROCESS.format(work='<bpmn:exclusiveGateway id="work"/>').replace(
        '<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>',
        '<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="work" targetRef="end"/>')
    problems = refusal(gateway)
    problem = problems[0]
    assert problem.element in ("f2", "f3") and problem.line > 0
    assert "add a condition, or make it the default flow" in problem.message


def test_a_message_without_a_name_is_named_instead_of_crashing_the_parser():
    unnamed = PROCESS.format(work='<bpmn:serviceTask id="work"/>').replace(
        '<bpmn:startEvent id="start"/>',
        '<bpmn:startEvent id="start"><bpmn:messageEventDefinition messageRef="Msg_1"/></bpmn:startEvent>'
    ).replace('<bpmn:process id="p"', '<bpmn:message id="Msg_1"/>\n  <bpmn:process id="p"')
    problem, = refusal(unnamed)
    assert problem.element == "start" and "the message 'Msg_1' has no name" in problem.message


SIGNAL_AND_LINK = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:signal id="Signal_Go" name="go"/>
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split"/>
    <bpmn:parallelGateway id="split"/>
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="wait_for_go"/>
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="prepare"/>
    <bpmn:intermediateCatchEvent id="wait_for_go"><bpmn:signalEventDefinition signalRef="Signal_Go"/></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="wait_for_go" targetRef="jump"/>
    <bpmn:intermediateThrowEvent id="jump"><bpmn:linkEventDefinition name="to_shipping"/></bpmn:intermediateThrowEvent>
    <bpmn:intermediateCatchEvent id="landing"><bpmn:linkEventDefinition name="to_shipping"/></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f5" sourceRef="landing" targetRef="ship"/>
    <bpmn:serviceTask id="ship"/>
    <bpmn:sequenceFlow id="f6" sourceRef="ship" targetRef="shipped"/>
    <bpmn:endEvent id="shipped"/>
    <bpmn:serviceTask id="prepare"/>
    <bpmn:sequenceFlow id="f7" sourceRef="prepare" targetRef="say_go"/>
    <bpmn:endEvent id="say_go"><bpmn:signalEventDefinition signalRef="Signal_Go"/></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def test_signal_end_events_throw_their_signal_and_link_events_jump(recorder):
    handlers, calls = recorder("prepare", "ship")
    instance = engine.run(SIGNAL_AND_LINK, handlers)
    assert instance.status == "completed", instance.waiting_tasks()
    assert calls == ["prepare", "ship"]  # the signal end event released wait_for_go; the link led to ship


def test_a_link_throw_without_its_catch_is_refused():
    broken = SIGNAL_AND_LINK.replace('<bpmn:linkEventDefinition name="to_shipping"/></bpmn:intermediateCatchEvent>',
                                     '<bpmn:linkEventDefinition name="elsewhere"/></bpmn:intermediateCatchEvent>')
    problem, = refusal(broken)
    assert problem.element == "jump" and "no link catch event" in problem.message


def test_an_event_definition_declared_once_keeps_its_meaning_in_every_event_that_names_it(recorder):
    # Both signal events name one signalEventDefinition declared under <definitions>.
    shared = SIGNAL_AND_LINK.replace(
        '<bpmn:signal id="Signal_Go" name="go"/>',
        '<bpmn:signal id="Signal_Go" name="go"/>\n  <bpmn:signalEventDefinition id="Go_1" signalRef="Signal_Go"/>'
    ).replace('<bpmn:signalEventDefinition signalRef="Signal_Go"/>',
              '<bpmn:eventDefinitionRef>Go_1</bpmn:eventDefinitionRef>')
    assert shared.count("eventDefinitionRef>Go_1") == 2
    handlers, calls = recorder("prepare", "ship")
    instance = engine.run(shared, handlers)
    assert instance.status == "completed", instance.waiting_tasks()
    assert calls == ["prepare", "ship"]


@pytest.mark.parametrize("source, element, line, message", [
    (PROCESS.format(work='<bpmn:serviceTask id="work"/>').replace(
        '<bpmn:endEvent id="end"/>',
        '<bpmn:endEvent id="end"><bpmn:eventDefinitionRef>Def_1</bpmn:eventDefinitionRef></bpmn:endEvent>'),
     "end", 9, "eventDefinitionRef 'Def_1' names no event definition"),
    (PROCESS.format(work='<bpmn:serviceTask id="work"/><bpmn:boundaryEvent id="odd" attachedToRef="work"/>'),
     "odd", 7, "boundary event without a trigger"),
    (PROCESS.format(work='<bpmn:callActivity id="work" calledElement="billing"/>'),
     "work", 7, "calls a process that is neither in the deployed files nor deployed before"),
    (TIMER.replace("{duration}", "PT1H +"), "work", 7, "timer 'PT1H +' does not read as an expression"),
    (TIMER.replace("{duration}", "R/P1H").replace("timeDuration", "timeCycle"),
     "work", 7, "timer 'R/P1H' is not an ISO 8601 repeating interval"),
    (TIMER.replace("{duration}", "0/5 0/1 * 1/1 * ?").replace("timeDuration", "timeCycle"),
     "work", 7, "timer '0/5 0/1 * 1/1 * ?' is a cron expression"),
])
def test_refusals_name_the_element_and_line_even_where_spiffworkflow_names_none(source, element, line, message):
    problem, = refusal(source)
    assert (problem.element, problem.line) == (element, line) and message in problem.message


GATEWAY_WITH_TIMER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="first"/>
    <bpmn:eventBasedGateway id="first"/>
    <bpmn:sequenceFlow id="f2" sourceRef="first" targetRef="approved"/>
    <bpmn:sequenceFlow id="f3" sourceRef="first" targetRef="expired"/>
    <bpmn:intermediateCatchEvent id="approved" name="Offer
      Approved"><bpmn:messageEventDefinition/></bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="expired" name="24 Hours">{timer}</bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="approved" targetRef="book"/>
    <bpmn:sequenceFlow id="f5" sourceRef="expired" targetRef="book"/>
    <bpmn:serviceTask id="book"/>
    <bpmn:sequenceFlow id="f6" sourceRef="book" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.mark.parametrize("timer", ["<bpmn:timerEventDefinition/>",
                                   "<bpmn:timerEventDefinition><bpmn:timeDate/></bpmn:timerEventDefinition>",
                                   "<bpmn:timerEventDefinition><bpmn:timeDuration> </bpmn:timeDuration>"
                                   "</bpmn:timerEventDefinition>"])
def test_a_timer_without_a_time_is_refused_or_with_force_executable_never_fires(recorder, timer):
    source = GATEWAY_WITH_TIMER.format(timer=timer)
    problem, = refusal(source)
    assert (problem.element, problem.line) == ("expired", 11)
    assert "timer event without a time" in problem.message and "--force-executable" in problem.message

    handlers, calls = recorder("book")
    instance = engine.Instance.create(engine.load(source, force_executable=True), handlers).run()
    assert instance.status == "waiting" and calls == []
    instance.workflow.refresh_timers()
    assert [found.name for found in messages.subscriptions(instance.workflow)] == ["Offer Approved"]  # the label's line break reads as a space
    with issuing(instance.task_ids):
        assert messages.deliver(instance, "Offer Approved", {})
    assert instance.run().status == "completed" and calls == ["book"]


def test_a_timer_start_event_needs_a_time_even_with_force_executable():
    source = PROCESS.format(work='<bpmn:serviceTask id="work"/>').replace(
        '<bpmn:startEvent id="start"/>', '<bpmn:startEvent id="start"><bpmn:timerEventDefinition/></bpmn:startEvent>')
    with pytest.raises(engine.DeployError) as raised:
        engine.load(source, force_executable=True)
    problem, = raised.value.problems
    assert problem.element == "start" and "timer event without a time" in problem.message


IMPLICIT = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:serviceTask id="receive"/>
    <bpmn:sequenceFlow id="f1" sourceRef="receive" targetRef="work"/>
    <bpmn:subProcess id="work">
      <bpmn:startEvent id="s1"/>
      <bpmn:startEvent id="s2"/>
      <bpmn:sequenceFlow id="f2" sourceRef="s1" targetRef="pack"/>
      <bpmn:sequenceFlow id="f3" sourceRef="s2" targetRef="label"/>
      <bpmn:serviceTask id="pack"/>
      <bpmn:serviceTask id="label"/>
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f4" sourceRef="work" targetRef="archive"/>
    <bpmn:serviceTask id="archive"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_implicit_start_and_end_and_several_start_events_in_a_subprocess(recorder):
    # No start or end event in the process; a subprocess with two plain start events and no end event.
    handlers, calls = recorder("receive", "pack", "label", "archive")
    instance = engine.run(IMPLICIT, handlers)
    assert instance.status == "completed", instance.waiting_tasks()
    assert calls[0] == "receive" and sorted(calls[1:3]) == ["label", "pack"] and calls[3] == "archive"


def test_a_process_with_nothing_to_start_at_is_refused():
    looped = IMPLICIT.replace('<bpmn:serviceTask id="archive"/>',
                              '<bpmn:serviceTask id="archive"/><bpmn:sequenceFlow id="f5" sourceRef="archive" '
                              'targetRef="receive"/>')
    problems = refusal(looped)
    assert "add a start event" in problems[0].message


def test_an_empty_subprocess_is_refused_as_such():
    empty = IMPLICIT.replace("""<bpmn:subProcess id="work">
      <bpmn:startEvent id="s1"/>
      <bpmn:startEvent id="s2"/>
      <bpmn:sequenceFlow id="f2" sourceRef="s1" targetRef="pack"/>
      <bpmn:sequenceFlow id="f3" sourceRef="s2" targetRef="label"/>
      <bpmn:serviceTask id="pack"/>
      <bpmn:serviceTask id="label"/>
    </bpmn:subProcess>""", '<bpmn:subProcess id="work"/>')
    problem, = refusal(empty)
    assert problem.element == "work" and "has no activities or events" in problem.message


DATA_STORE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:dataStore id="crm" name="CRM"/>
  <bpmn:process id="p" isExecutable="true">
    <bpmn:ioSpecification>
      <bpmn:dataInput id="request" name="Request"/>
      <bpmn:inputSet><bpmn:dataInputRefs>request</bpmn:dataInputRefs></bpmn:inputSet>
      <bpmn:outputSet/>
    </bpmn:ioSpecification>
    <bpmn:dataStoreReference id="crm_ref" dataStoreRef="crm"/>
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:serviceTask id="work">
      <bpmn:ioSpecification>
        <bpmn:dataInput id="work_in" name="Request"/>
        <bpmn:inputSet><bpmn:dataInputRefs>work_in</bpmn:dataInputRefs></bpmn:inputSet>
        <bpmn:outputSet/>
      </bpmn:ioSpecification>
      <bpmn:dataInputAssociation id="reads_request"><bpmn:sourceRef>request</bpmn:sourceRef><bpmn:targetRef>work_in</bpmn:targetRef></bpmn:dataInputAssociation>
      <bpmn:dataOutputAssociation id="writes_crm"><bpmn:targetRef>crm_ref</bpmn:targetRef>{transformation}</bpmn:dataOutputAssociation>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_data_stores_and_plain_data_associations_are_documentation_the_handler_sees_every_variable():
    handlers, seen = engine.Handlers(), []

    @handlers.task("work")
    def work(ctx):
        seen.append(dict(ctx.data))
        return {"saved": True}

    instance = engine.run(DATA_STORE.format(transformation=""), handlers, {"customer": "ACME", "amount": 3})
    assert instance.status == "completed"
    assert seen == [{"customer": "ACME", "amount": 3}]  # not narrowed to the declared input
    assert instance.data["saved"] is True


def test_a_data_association_that_transforms_data_is_refused_with_its_line():
    transforming = DATA_STORE.format(
        transformation='<bpmn:transformation>customer.upper()</bpmn:transformation>')
    problem, = refusal(transforming)
    assert problem.element == "work" and problem.line == 13
    assert "data output association" in problem.message


def test_tool_quirks_with_one_possible_meaning_are_read_with_it(recorder):
    handlers, calls = recorder("A", "charge", "undoA", raise_on={"charge": engine.BpmnError("DECLINED")})
    source = FIXTURES / "tool_quirks_compensation.bpmn"
    assert engine.lint([source]) == []
    instance = engine.run(source, handlers)
    assert instance.status == "completed", instance.error
    assert calls == ["A", "charge", "undoA"]
    assert [t["bpmn_id"] for t in instance.tasks() if t["undo_of"]] == ["undoA", "undo_book"]


def test_an_associated_undo_that_also_has_flows_is_refused_not_guessed():
    source = (FIXTURES / "tool_quirks_compensation.bpmn").read_text().replace(
        '<bpmn:sequenceFlow id="f5" sourceRef="roll_back" targetRef="rolled_back"/>',
        '<bpmn:sequenceFlow id="f5" sourceRef="roll_back" targetRef="undoA"/>')
    problem, = refusal(source)
    assert problem.element == "A_comp" and "not marked isForCompensation" in problem.message

