"""What an operator relies on after the fact: a cancelled instance keeps its variables, and the
history holds only what happened (no predicted FUTURE/LIKELY/MAYBE rows).

Each diagram runs in memory and through the durable worker (both_ways).
"""
from both_ways import both_ways
from web_helpers import signed_in

import engine
from engine import BpmnError, Handlers
from webapp import create_app

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">"""

# A saga that has charged the card and waits for an approval when the operator cancels it.
SAGA = HEAD + """
  <bpmn:process id="saga" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="pay"/>
    <bpmn:serviceTask id="pay" name="Pay"/>
    <bpmn:sequenceFlow id="f2" sourceRef="pay" targetRef="approve"/>
    <bpmn:userTask id="approve" name="Approve"/>
    <bpmn:sequenceFlow id="f3" sourceRef="approve" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""

# The same saga failing after the payment: an incident the operator gives up on.
FAILING_SAGA = HEAD + """
  <bpmn:process id="failing_saga" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="pay"/>
    <bpmn:serviceTask id="pay" name="Pay"/>
    <bpmn:sequenceFlow id="f2" sourceRef="pay" targetRef="ship"/>
    <bpmn:serviceTask id="ship" name="Ship"/>
    <bpmn:sequenceFlow id="f3" sourceRef="ship" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""

# Work inside a subprocess: its tasks are created FUTURE when the subprocess starts.
SUBPROCESS = HEAD + """
  <bpmn:process id="nested" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="S"/>
    <bpmn:subProcess id="S">
      <bpmn:startEvent id="s_start"/>
      <bpmn:sequenceFlow id="s1" sourceRef="s_start" targetRef="pay"/>
      <bpmn:serviceTask id="pay"/>
      <bpmn:sequenceFlow id="s2" sourceRef="pay" targetRef="review"/>
      <bpmn:userTask id="review"/>
      <bpmn:sequenceFlow id="s3" sourceRef="review" targetRef="s_end"/>
      <bpmn:endEvent id="s_end"/>
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f2" sourceRef="S" targetRef="ship"/>
    <bpmn:serviceTask id="ship"/>
    <bpmn:sequenceFlow id="f3" sourceRef="ship" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""

PREDICTED = {"FUTURE", "LIKELY", "MAYBE"}


def saga_handlers():
    """(handlers, calls): pay returns a payment id; ship finds no stock (a BPMN error nobody catches)."""
    handlers, calls = Handlers(), []

    @handlers.task("pay")
    def pay(ctx):
        calls.append("pay")
        return {"payment_id": "p-1"}

    @handlers.task("ship")
    def ship(ctx):
        calls.append("ship")
        raise BpmnError("NO_STOCK", "nothing left")

    return handlers, calls


def restored(outcome, source):
    """The in-memory instance saved and loaded again."""
    handlers, _ = saga_handlers()
    return engine.Instance.restore(outcome.memory.serialize(), [("diagram.bpmn", source.encode())], handlers)


def history_by_task(shown):
    """{bpmn_id: [state of each history row, in order]}."""
    states = {}
    for entry in shown["history"]:
        states.setdefault(entry["bpmn_id"], []).append(entry["state"])
    return states


# -- cancel keeps the variables ------------------------------------------------

def test_a_cancelled_saga_keeps_its_variables_in_memory_durably_and_after_restore(tmp_path):
    outcome = both_ways(tmp_path, SAGA, data={"order": 7}, steps=[("cancel",)], make_handlers=saga_handlers)
    expected = {"order": 7, "payment_id": "p-1"}
    assert outcome.calls == ["pay"]
    assert (outcome.memory.status, outcome.memory.data) == ("cancelled", expected)
    assert (outcome.durable["status"], outcome.durable["data"]) == ("cancelled", expected)
    again = restored(outcome, SAGA)
    assert (again.status, again.data) == ("cancelled", expected)


def test_a_failed_saga_cancelled_by_the_operator_keeps_its_variables(tmp_path):
    outcome = both_ways(tmp_path, FAILING_SAGA, data={"order": 7}, make_handlers=saga_handlers,
                        steps=[("cancel",)])
    expected = {"order": 7, "payment_id": "p-1"}
    assert outcome.calls == ["pay", "ship"]
    assert (outcome.memory.status, outcome.memory.data) == ("cancelled", expected)
    assert (outcome.durable["status"], outcome.durable["data"]) == ("cancelled", expected)
    assert restored(outcome, FAILING_SAGA).data == expected


def test_the_api_and_the_instance_page_show_a_cancelled_instances_variables(tmp_path):
    outcome = both_ways(tmp_path, SAGA, data={"order": 7}, steps=[("cancel",)], make_handlers=saga_handlers)
    client = signed_in(create_app(outcome.maestro, secret_key="test").test_client())
    shown = client.get(f"/api/instances/{outcome.durable_id}").json
    assert (shown["status"], shown["data"]) == ("cancelled", {"order": 7, "payment_id": "p-1"})
    page = client.get(f"/instances/{outcome.durable_id}").get_data(as_text=True)
    assert "&#34;payment_id&#34;: &#34;p-1&#34;" in page or '"payment_id": "p-1"' in page


# -- history: only what happened ---------------------------------------------------

def test_history_of_a_subprocess_has_no_predicted_rows(tmp_path):
    outcome = both_ways(tmp_path, SUBPROCESS, ["pay", "ship"], steps=[("complete", "review", {"ok": True})])
    assert outcome.calls == ["pay", "ship"]
    assert outcome.memory.status == outcome.durable["status"] == "completed"
    assert history_by_task(outcome.durable) == {
        "start": ["COMPLETED"],
        "S": ["STARTED", "COMPLETED"],
        "s_start": ["COMPLETED"],
        "pay": ["COMPLETED"],
        "review": ["READY", "COMPLETED"],
        "s_end": ["READY", "COMPLETED"],
        "ship": ["READY", "COMPLETED"],
        "end": ["READY", "COMPLETED"],
    }


def test_an_instance_cancelled_inside_a_subprocess_keeps_its_variables_and_only_real_history(tmp_path):
    outcome = both_ways(tmp_path, SUBPROCESS, data={"order": 7}, steps=[("cancel",)], make_handlers=saga_handlers)
    expected = {"order": 7, "payment_id": "p-1"}
    assert outcome.calls == ["pay"]
    assert outcome.memory.data == outcome.durable["data"] == restored(outcome, SUBPROCESS).data == expected
    history = history_by_task(outcome.durable)
    assert not PREDICTED & {state for states in history.values() for state in states}
    assert history == {"start": ["COMPLETED"], "S": ["STARTED", "CANCELLED"], "s_start": ["COMPLETED"],
                       "pay": ["COMPLETED"], "review": ["READY", "CANCELLED"]}
