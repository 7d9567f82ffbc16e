"""Task types as BPMN and Camunda 7 run them: a receive task without a message waits to be
triggered, a manual task passes through (issue 10, item 11)."""
import json

from both_ways import both_ways
from cli_helpers import maestro

NS = 'xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" ' \
     'targetNamespace="t"'

RECEIVE_THEN_MANUAL = f"""<definitions {NS}>
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="before"/>
    <serviceTask id="before" camunda:topic="before"/>
    <sequenceFlow id="f2" sourceRef="before" targetRef="wait"/>
    <receiveTask id="wait" name="Wait for the goods"/>
    <sequenceFlow id="f3" sourceRef="wait" targetRef="by_hand"/>
    <manualTask id="by_hand" name="Unpack by hand"/>
    <sequenceFlow id="f4" sourceRef="by_hand" targetRef="after"/>
    <serviceTask id="after" camunda:topic="after"/>
    <sequenceFlow id="f5" sourceRef="after" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"""


def test_a_receive_task_without_a_message_waits_until_it_is_triggered(tmp_path):
    waiting = both_ways(tmp_path, RECEIVE_THEN_MANUAL, ["before", "after"])
    assert waiting.calls == ["before"]
    assert waiting.memory.status == waiting.durable["status"] == "waiting"
    assert [t["bpmn_id"] for t in waiting.memory.waiting_tasks()] == ["wait"]
    assert [(t["bpmn_id"], t["type"]) for t in waiting.durable["waiting"]] == [("wait", "receiveTask")]

    triggered = both_ways(tmp_path / "triggered", RECEIVE_THEN_MANUAL, ["before", "after"],
                          steps=[("complete", "wait", {"goods": "arrived"})])
    assert triggered.calls == ["before", "after"]
    assert triggered.memory.status == triggered.durable["status"] == "completed"
    assert triggered.memory.data == triggered.durable["data"] == {"goods": "arrived"}
    done = [t["bpmn_id"] for t in triggered.durable["tasks"] if t["state"] == "COMPLETED"]
    assert done == ["s", "before", "wait", "by_hand", "after", "e"]


def test_a_receive_task_with_a_message_still_waits_for_the_message(tmp_path):
    with_message = RECEIVE_THEN_MANUAL.replace('<receiveTask id="wait" name="Wait for the goods"/>',
                                               '<receiveTask id="wait" messageRef="goods"/>').replace(
        '<process id="p"', '<message id="goods" name="Goods arrived"/><process id="p"')
    outcome = both_ways(tmp_path, with_message, ["before", "after"],
                        steps=[("publish", "Goods arrived", None, {"count": 3})])
    assert outcome.calls == ["before", "after"]
    assert outcome.memory.data == outcome.durable["data"] == {"count": 3}


def test_run_on_the_command_line_waits_at_the_receive_task(tmp_path):
    diagram = tmp_path / "receive.bpmn"
    diagram.write_text(RECEIVE_THEN_MANUAL)
    handlers = tmp_path / "handlers.py"
    handlers.write_text("from engine import Handlers\nhandlers = Handlers()\n"
                        "handlers.task('before')(lambda ctx: None)\nhandlers.task('after')(lambda ctx: None)\n")
    result = maestro("run", diagram, "--handlers", handlers, "--json")
    assert result.returncode == 3, result.stderr
    shown = json.loads(result.stdout)
    assert [(t["bpmn_id"], t["state"]) for t in shown["tasks"] if t["state"] in ("READY", "COMPLETED")] == [
        ("s", "COMPLETED"), ("before", "COMPLETED"), ("wait", "READY")]
