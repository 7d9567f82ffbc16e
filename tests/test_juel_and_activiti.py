"""JUEL compares with EL's coercion, Activiti-namespace diagrams bind like camunda: ones, and
multi-instance activities run over camunda:collection / camunda:elementVariable (issue 10, items 12, 13).

Diagrams run in memory and through the durable worker (both_ways); tasks bind by element id,
or by the topic their camunda:/activiti: attributes give.
"""
import pytest
from both_ways import both_ways
from conftest import make_recorder

import engine
from engine.sandbox.expressions import ExpressionError, evaluate

# --------------------------------------------------------------------------- EL coercion

@pytest.mark.parametrize("text, variables, expected", [
    # Boolean against String: the string is coerced to a Boolean (any case of "true" is true)
    ("${approved == 'true'}", {"approved": True}, True),
    ("${approved eq 'TRUE'}", {"approved": True}, True),
    ("${approved == 'false'}", {"approved": False}, True),
    ("${approved == 'yes'}", {"approved": False}, True),  # Boolean.valueOf("yes") is false
    ("${approved != 'true'}", {"approved": True}, False),
    ("${'true' == approved}", {"approved": True}, True),
    # numbers against numeric strings: the string is coerced to a number
    ("${1 == '1'}", {}, True),
    ("${count == '3'}", {"count": 3}, True),
    ("${count ne '3'}", {"count": 3}, False),
    ("${total == '2.5'}", {"total": 2.5}, True),
    ("${total == '2'}", {"total": 2.0}, True),
    ("${2 < '10'}", {}, True),
    ("${amount gt '100'}", {"amount": 150}, True),
    ("${amount >= '150'}", {"amount": 150}, True),
    ("${amount le ' 149.5 '}", {"amount": 149.5}, True),  # Double.valueOf trims
    ("${count == ''}", {"count": 0}, True),  # "" coerces to 0
    # a Boolean ordered against a String compares their text
    ("${approved < 'x'}", {"approved": True}, True),
    # null is neither less nor greater than anything, and <= / >= itself
    ("${none < 1}", {"none": None}, False),
    ("${none > 1}", {"none": None}, False),
    ("${none >= 1}", {"none": None}, False),
    ("${none <= null}", {"none": None}, True),
    ("${'a' > none}", {"none": None}, False),
    # not, and, or, ?: coerce their operands to Boolean
    ("${!'no'}", {}, True),
    ("${not flag}", {"flag": "false"}, True),
    ("${flag && approved}", {"flag": "false", "approved": True}, False),
    ("${flag and approved}", {"flag": "yes", "approved": True}, False),
    ("${none || flag}", {"none": None, "flag": "true"}, True),
    ("${flag || approved}", {"flag": "TRUE", "approved": False}, True),
    ("${flag ? 'on' : 'off'}", {"flag": "false"}, "off"),
])
def test_juel_comparisons_coerce_as_el(text, variables, expected):
    assert evaluate(text, variables) == expected


@pytest.mark.parametrize("text, variables, expected", [
    ("${'a' < 'b'}", {}, True),  # strings order lexically
    ("${'b' lt 'a'}", {}, False),
    ("${'2' < '10'}", {}, False),
    ("${name >= 'Bob'}", {"name": "Bobby"}, True),
    ("${none == null}", {"none": None}, True),  # null equals only null
    ("${none == 0}", {"none": None}, False),
    ("${none != ''}", {"none": None}, True),
    ("${!none}", {"none": None}, True),  # null and "" are false
    ("${!''}", {}, True),
    ("${empty none}", {"none": None}, True),  # empty: null, "" and empty collections
    ("${empty ''}", {}, True),
    ("${empty items}", {"items": []}, True),
    ("${empty order}", {"order": {}}, True),
    ("${empty name}", {"name": "x"}, False),
    ("${empty count}", {"count": 0}, False),
    ("${not empty items}", {"items": [1]}, True),
])
def test_juel_keeps_what_el_and_python_agree_on(text, variables, expected):
    """Guards: these held before EL coercion and must still hold through it."""
    assert evaluate(text, variables) == expected


@pytest.mark.parametrize("text, variables, message", [
    ("${1 == 'a'}", {}, "the string 'a' is not one"),
    ("${count < 'ten'}", {"count": 3}, "the string 'ten' is not one"),
    ("${total > 'x'}", {"total": 1.5}, "the string 'x' is not a number"),
    ("${count == '1.5'}", {"count": 1}, "as whole numbers"),  # Long.valueOf("1.5") fails in EL
    ("${approved == 1}", {"approved": True}, "the boolean true is not one"),
    ("${!count}", {"count": 0}, "cannot use the number 0 as a boolean"),
    ("${count && approved}", {"count": 1, "approved": True}, "as a boolean"),
    ("${count ? 1 : 2}", {"count": 1}, "as a boolean"),
    ("${items < items}", {"items": [1]}, "cannot order a list and a list"),
    ("${items == 'x'}", {"items": [1]}, "compare a property of it instead"),
])
def test_juel_coercions_el_refuses_are_evaluation_errors(text, variables, message):
    with pytest.raises(ExpressionError, match="EL ") as info:
        evaluate(text, variables)
    assert message in str(info.value)


def test_short_circuit_keeps_el_from_coercing_what_it_does_not_reach():
    assert evaluate("${false && count}", {"count": 3}) is False
    assert evaluate("${true || count}", {"count": 3}) is True


@pytest.mark.parametrize("text, expected", [
    ("approved == 'true'", False),  # Python
    ("=approved = \"true\"", False),  # FEEL
])
def test_other_dialects_keep_their_own_comparisons(text, expected):
    assert evaluate(text, {"approved": True}) is expected


def test_python_and_feel_do_not_coerce_numbers_against_strings():
    with pytest.raises(ExpressionError, match="type error"):
        evaluate("amount > '100'", {"amount": 150})
    assert evaluate("=amount = \"150\"", {"amount": 150}) is False


# --------------------------------------------------------------------------- diagrams

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  xmlns:activiti="http://activiti.org/bpmn"
                  id="defs" targetNamespace="http://maestro.test/bpmn">
"""
TAIL = "</bpmn:definitions>"


def line_of(diagram, text):
    return diagram[:diagram.index(text)].count("\n") + 1


def condition(text):
    return f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{text}</bpmn:conditionExpression>'


JUEL_GATEWAYS = HEAD + f"""
  <bpmn:process id="juel_gateways" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approval"/>
    <bpmn:exclusiveGateway id="approval" default="f_rejected"/>
    <bpmn:sequenceFlow id="f_approved" sourceRef="approval" targetRef="approved">
      {condition("${approved == 'true'}")}
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_rejected" sourceRef="approval" targetRef="rejected"/>
    <bpmn:serviceTask id="approved"/>
    <bpmn:serviceTask id="rejected"/>
    <bpmn:sequenceFlow id="f2" sourceRef="approved" targetRef="size"/>
    <bpmn:sequenceFlow id="f3" sourceRef="rejected" targetRef="size"/>
    <bpmn:exclusiveGateway id="size" default="f_small"/>
    <bpmn:sequenceFlow id="f_large" sourceRef="size" targetRef="large">
      {condition("${amount &gt; '100' &amp;&amp; count == '3'}")}
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_small" sourceRef="size" targetRef="small"/>
    <bpmn:serviceTask id="large"/>
    <bpmn:serviceTask id="small"/>
    <bpmn:sequenceFlow id="f4" sourceRef="large" targetRef="end"/>
    <bpmn:sequenceFlow id="f5" sourceRef="small" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
""" + TAIL


def test_juel_gateway_conditions_coerce_booleans_and_numbers(tmp_path):
    data = {"approved": True, "amount": 150, "count": 3}
    outcome = both_ways(tmp_path, JUEL_GATEWAYS, ["approved", "rejected", "large", "small"], data)

    assert outcome.calls == ["approved", "large"]
    assert outcome.memory.status == outcome.durable["status"] == "completed"
    assert outcome.memory.data == outcome.durable["data"] == data


ACTIVITI_ORDER = HEAD + f"""
  <bpmn:process id="activiti_order" isExecutable="true">
    <bpmn:startEvent id="start">
      <bpmn:extensionElements>
        <activiti:formProperty id="customer" name="Customer" type="string" required="true"/>
      </bpmn:extensionElements>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="charge"/>
    <bpmn:serviceTask id="charge" activiti:class="com.acme.payment.ChargeCard"/>
    <bpmn:sequenceFlow id="f2" sourceRef="charge" targetRef="notify"/>
    <bpmn:serviceTask id="notify" activiti:expression="${{mailer.send(execution)}}"/>
    <bpmn:sequenceFlow id="f3" sourceRef="notify" targetRef="review"/>
    <bpmn:userTask id="review" name="Review the order">
      <bpmn:extensionElements>
        <activiti:formProperty id="approved" name="Approve?" type="boolean" required="true"/>
        <activiti:formProperty id="channel" name="Channel" type="enum" default="mail">
          <activiti:value id="mail" name="By mail"/>
          <activiti:value id="phone" name="By phone"/>
        </activiti:formProperty>
        <activiti:formProperty id="shown" name="Shown only" writable="false"/>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f4" sourceRef="review" targetRef="decide"/>
    <bpmn:exclusiveGateway id="decide" default="f_cancel"/>
    <bpmn:sequenceFlow id="f_ship" sourceRef="decide" targetRef="ship">
      {condition("${approved == 'true'}")}
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_cancel" sourceRef="decide" targetRef="cancel"/>
    <bpmn:serviceTask id="ship" activiti:delegateExpression="${{shipper}}"/>
    <bpmn:serviceTask id="cancel" activiti:type="external" activiti:topic="cancel-order"/>
    <bpmn:sequenceFlow id="f5" sourceRef="ship" targetRef="end"/>
    <bpmn:sequenceFlow id="f6" sourceRef="cancel" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
""" + TAIL


def test_activiti_namespace_binds_like_camunda(tmp_path):
    outcome = both_ways(tmp_path, ACTIVITI_ORDER, ["ChargeCard", "mailer", "shipper", "cancel-order"],
                        {"customer": "ACME"}, steps=[("complete", "review", {"approved": True, "channel": "mail"})])

    assert outcome.calls == ["ChargeCard", "mailer", "shipper"]
    assert outcome.memory.status == outcome.durable["status"] == "completed"
    assert outcome.memory.data == outcome.durable["data"] == {"customer": "ACME", "approved": True, "channel": "mail"}


def test_activiti_external_task_topic_binds_like_camunda(tmp_path):
    outcome = both_ways(tmp_path, ACTIVITI_ORDER, ["ChargeCard", "mailer", "shipper", "cancel-order"],
                        {"customer": "ACME"}, steps=[("complete", "review", {"approved": False})])

    assert outcome.calls == ["ChargeCard", "mailer", "cancel-order"]


def test_activiti_form_properties_are_the_forms_of_the_task_and_start_event(tmp_path):
    outcome = both_ways(tmp_path, ACTIVITI_ORDER, ["ChargeCard", "mailer", "shipper", "cancel-order"],
                        {"customer": "ACME"})
    review = {"fields": [
        {"id": "approved", "label": "Approve?", "type": "boolean", "default": None, "required": True},
        {"id": "channel", "label": "Channel", "type": "enum", "default": "mail", "required": False,
         "values": [{"id": "mail", "name": "By mail"}, {"id": "phone", "name": "By phone"}]},
    ]}
    for waiting in (outcome.memory.waiting_tasks(), outcome.durable["waiting"]):
        assert [(task["bpmn_id"], task["form"]) for task in waiting] == [("review", review)]
    start = {"fields": [{"id": "customer", "label": "Customer", "type": "string", "default": None,
                         "required": True}]}
    assert outcome.maestro.start_form("activiti_order") == start


def test_activiti_retry_cycle_is_checked_like_camunda():
    diagram = ACTIVITI_ORDER.replace(
        '<bpmn:serviceTask id="charge" activiti:class="com.acme.payment.ChargeCard"/>',
        '<bpmn:serviceTask id="charge" activiti:class="com.acme.payment.ChargeCard"><bpmn:extensionElements>'
        '<activiti:failedJobRetryTimeCycle>three times</activiti:failedJobRetryTimeCycle>'
        '</bpmn:extensionElements></bpmn:serviceTask>')
    with pytest.raises(engine.DeployError) as info:
        engine.load([("order.bpmn", diagram)])
    problem, = info.value.problems
    assert (problem.element, problem.line) == ("charge", line_of(diagram, 'id="charge"'))
    assert "failedJobRetryTimeCycle 'three times'" in problem.message


def test_a_camunda_attribute_wins_over_the_activiti_one():
    diagram = ACTIVITI_ORDER.replace('activiti:class="com.acme.payment.ChargeCard"',
                                     'activiti:class="com.acme.payment.ChargeCard" camunda:topic="pay"')
    handlers, calls = make_recorder("pay", "mailer")
    engine.run([("order.bpmn", diagram)], handlers, {"customer": "ACME"})
    assert calls == ["pay", "mailer"]


# --------------------------------------------------------------------------- multi-instance

def multi_instance(loop, ns="camunda", sequential=True):
    """A process: `pack` once per element of `items` (the element in `item`), then `ship`."""
    flag = "true" if sequential else "false"
    return HEAD + f"""
  <bpmn:process id="mi" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="pack"/>
    <bpmn:serviceTask id="pack">
      <bpmn:multiInstanceLoopCharacteristics isSequential="{flag}" {loop.replace("camunda:", ns + ":")}
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="pack" targetRef="ship"/>
    <bpmn:serviceTask id="ship"/>
    <bpmn:sequenceFlow id="f3" sourceRef="ship" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
""" + TAIL


COLLECTION = 'camunda:collection="${items}" camunda:elementVariable="item"/>'
PLAIN_COLLECTION = 'camunda:collection="items" camunda:elementVariable="item"/>'
ITEMS = {"items": ["a", "b", "c"]}


@pytest.mark.parametrize("ns", ["camunda", "activiti"])
@pytest.mark.parametrize("sequential", [True, False], ids=["sequential", "parallel"])
@pytest.mark.parametrize("loop", [COLLECTION, PLAIN_COLLECTION], ids=["expression", "variable"])
def test_multi_instance_over_a_camunda_collection(tmp_path, loop, ns, sequential):
    outcome = both_ways(tmp_path, multi_instance(loop, ns, sequential), ["pack", "ship"], ITEMS, item_key="item")

    assert outcome.calls == ["pack:a", "pack:b", "pack:c", "ship"]
    assert outcome.memory.status == outcome.durable["status"] == "completed"
    assert outcome.memory.data == outcome.durable["data"] == ITEMS  # the element variable is per instance


def test_multi_instance_handlers_results_reach_the_process(tmp_path):
    def make_handlers():
        handlers, calls = make_recorder("ship", item_key="item")

        @handlers.task("pack")
        def pack(ctx):
            calls.append(f"pack:{ctx.data['item']}")
            return {"packed": ctx.data.get("packed", 0) + 1}
        return handlers, calls

    outcome = both_ways(tmp_path, multi_instance(COLLECTION), data=ITEMS, make_handlers=make_handlers)

    assert outcome.calls == ["pack:a", "pack:b", "pack:c", "ship"]
    assert outcome.memory.data == outcome.durable["data"] == {**ITEMS, "packed": 3}


def packing_records_the_last_item():
    handlers, calls = make_recorder("ship")

    @handlers.task("pack")
    def pack(ctx):
        calls.append(f"pack:{ctx.data['item']}")
        return {"last": ctx.data["item"]}
    return handlers, calls


@pytest.mark.parametrize("sequential", [True, False], ids=["sequential", "parallel"])
@pytest.mark.parametrize("condition", ["${last == 'b'}", "${item == 'b'}"], ids=["result", "element variable"])
def test_multi_instance_completion_condition_ends_the_remaining_instances(tmp_path, sequential, condition):
    """The condition sees what the iteration set and the iteration's element variable."""
    loop = COLLECTION[:-2] + f""">
        <bpmn:completionCondition xsi:type="bpmn:tFormalExpression">{condition}</bpmn:completionCondition>
      </bpmn:multiInstanceLoopCharacteristics>"""
    outcome = both_ways(tmp_path, multi_instance(loop, sequential=sequential), data=ITEMS,
                        make_handlers=packing_records_the_last_item)

    assert outcome.calls == ["pack:a", "pack:b", "ship"]
    assert outcome.memory.status == outcome.durable["status"] == "completed"
    assert outcome.memory.data == outcome.durable["data"] == {**ITEMS, "last": "b"}


def test_bpmn_loop_data_wins_over_the_camunda_attributes(tmp_path):
    loop = """camunda:collection="others" camunda:elementVariable="other">
        <bpmn:loopDataInputRef>${items}</bpmn:loopDataInputRef>
        <bpmn:inputDataItem id="item" name="item"/>
      </bpmn:multiInstanceLoopCharacteristics>"""
    outcome = both_ways(tmp_path, multi_instance(loop), ["pack", "ship"], {**ITEMS, "others": ["x"]},
                        item_key="item")

    assert outcome.calls == ["pack:a", "pack:b", "pack:c", "ship"]


def test_two_multi_instance_activities_may_share_an_element_variable(tmp_path):
    diagram = multi_instance(COLLECTION).replace(
        '<bpmn:serviceTask id="ship"/>',
        f'<bpmn:serviceTask id="ship"><bpmn:multiInstanceLoopCharacteristics {COLLECTION}</bpmn:serviceTask>')
    outcome = both_ways(tmp_path, diagram, ["pack", "ship"], ITEMS, item_key="item")

    assert outcome.calls == ["pack:a", "pack:b", "pack:c", "ship:a", "ship:b", "ship:c"]


@pytest.mark.parametrize("loop, message", [
    ('camunda:collection="${order.items}" camunda:elementVariable="item"/>',
     "collection '${order.items}' names no process variable"),
    ('camunda:collection="${items}"><bpmn:loopCardinality>3</bpmn:loopCardinality>'
     '</bpmn:multiInstanceLoopCharacteristics>', "both a collection and a loopCardinality"),
    ('camunda:elementVariable="item"><bpmn:loopCardinality>3</bpmn:loopCardinality>'
     '</bpmn:multiInstanceLoopCharacteristics>', "elementVariable 'item' without a collection"),
    ('camunda:collection="items" camunda:elementVariable="ship"/>',
     "elementVariable 'ship' is also the id of an element"),
    (COLLECTION[:-2] + '><bpmn:completionCondition>${nrOfCompletedInstances &gt;= 2}</bpmn:completionCondition>'
     '</bpmn:multiInstanceLoopCharacteristics>', "reads 'nrOfCompletedInstances'"),
])
@pytest.mark.parametrize("ns", ["camunda", "activiti"])
def test_camunda_multi_instance_maestro_cannot_run_is_refused_with_its_line(loop, message, ns):
    diagram = multi_instance(loop, ns)
    with pytest.raises(engine.DeployError) as info:
        engine.load([("mi.bpmn", diagram)])
    problem, = info.value.problems
    assert (problem.file, problem.line, problem.element) == ("mi.bpmn", line_of(diagram, 'id="pack"'), "pack")
    assert message in problem.message


def test_a_collection_variable_nobody_set_fails_naming_the_activity_and_the_variable():
    instance = engine.run(multi_instance(COLLECTION), make_recorder("pack", "ship")[0], {})
    assert instance.status == "failed"
    assert "takes its items from the variable 'items', which is not set" in instance.error["message"]
