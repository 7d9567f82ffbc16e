"""An instance's page, `GET /api/instances/ID` and `maestro show` read what the commits wrote
(engine/durable/views.py), never a rebuild: and what they read is what the rebuilt instance says."""
from pathlib import Path

from conftest import FIXTURES, make_recorder
from durable_helpers import DURABLE, assert_read_model_agrees, drain, fresh_maestro

from engine import Handlers
from engine.durable.context import Context
from engine.handlers import load_handler_module

SAGA = Path(__file__).resolve().parent.parent / "bpmn" / "order_fulfillment" / "order_fulfillment.bpmn"


def _deployed(tmp_path, path, handlers):
    maestro = fresh_maestro(tmp_path, handlers)
    key = maestro.deploy([(path.name, path.read_bytes())])[0]["key"]
    return maestro, key


def test_a_rolled_back_saga_reads_as_its_rebuilt_instance_with_the_undone_steps_marked(tmp_path):
    maestro, key = _deployed(tmp_path, SAGA, load_handler_module(SAGA.with_name("handlers.py")))
    instance_id = maestro.start(key, {"fail_at": "distribution_center"})["id"]
    drain(maestro)

    assert_read_model_agrees(maestro, instance_id)
    shown = maestro.show(instance_id)
    assert shown["data"]["undone"] == ["release_stock", "refund_payment"]
    assert {task["bpmn_id"] for task in shown["tasks"] if task["compensated"]} == {"payment", "stock"}
    assert [task["bpmn_id"] for task in shown["tasks"] if task["undo_of"] and task["state"] == "COMPLETED"] == \
        ["release_stock", "refund_payment"]


def test_the_subprocess_whose_inner_work_was_undone_is_marked_compensated(tmp_path):
    handlers, calls = make_recorder("A", "X", "Y", "undoA", "undoX", "undoY")
    maestro, key = _deployed(tmp_path, FIXTURES / "compensation_subprocess.bpmn", handlers)
    instance_id = maestro.start(key)["id"]
    drain(maestro)

    assert calls == ["A", "X", "Y", "undoY", "undoX", "undoA"]
    assert_read_model_agrees(maestro, instance_id)
    compensated = {task["bpmn_id"] for task in maestro.show(instance_id)["tasks"] if task["compensated"]}
    assert compensated == {"A", "S", "X", "Y"}


def test_a_waiting_user_task_shows_its_form_and_the_variables_it_was_given(tmp_path):
    handlers, calls = make_recorder("ship", "reject")
    maestro, key = _deployed(tmp_path, DURABLE / "approval.bpmn", handlers)
    instance_id = maestro.start(key, {"amount": 12})["id"]
    drain(maestro)

    shown = maestro.show(instance_id)
    assert [task["bpmn_id"] for task in shown["waiting"]] == ["approve"]
    assert [field["id"] for field in shown["waiting"][0]["form"]["fields"]] == ["approved", "reason"]
    assert_read_model_agrees(maestro, instance_id)

    maestro.complete_task(instance_id, "approve", {"approved": True, "reason": "fine"})
    drain(maestro)
    shown = maestro.show(instance_id)
    assert shown["status"] == "completed" and calls == ["ship"]
    assert shown["data"] == {"amount": 12, "approved": True, "reason": "fine"}
    assert_read_model_agrees(maestro, instance_id)


STRAIGHT = """<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="straight" isExecutable="true">
    <bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="a"/>
    <bpmn:serviceTask id="a"/><bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="b"/>
    <bpmn:serviceTask id="b"/><bpmn:sequenceFlow id="f2" sourceRef="b" targetRef="c"/>
    <bpmn:serviceTask id="c"/><bpmn:sequenceFlow id="f3" sourceRef="c" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_a_running_instance_reads_as_of_its_last_commit_and_is_never_rebuilt_to_be_read(tmp_path, monkeypatch):
    """While `b` runs, the page shows `a` done with its output, and `b` not yet done."""
    handlers, seen = Handlers(), {}
    maestro = fresh_maestro(tmp_path, handlers)

    @handlers.task("a")
    def a(ctx):
        return {"paid": 10}

    @handlers.task("b")
    def b(ctx):
        shown = maestro.show(ctx.instance_id)
        seen["data"] = shown["data"]
        seen["states"] = {task["bpmn_id"]: task["state"] for task in shown["tasks"]}
        return {"packed": True}

    @handlers.task("c")
    def c(ctx):
        return {}

    maestro.deploy([("straight.bpmn", STRAIGHT.encode())])
    instance_id = maestro.start("straight", {"order": 1})["id"]
    drain(maestro)

    assert seen["data"] == {"order": 1, "paid": 10}
    assert seen["states"]["a"] == "COMPLETED" and seen["states"].get("b") != "COMPLETED"
    assert "c" not in seen["states"] or seen["states"]["c"] != "COMPLETED"

    def no_rebuild(*args, **kwargs):
        raise AssertionError("reading an instance rebuilt it")

    monkeypatch.setattr(Context, "load", no_rebuild)
    shown = maestro.show(instance_id)
    assert shown["status"] == "completed" and shown["data"] == {"order": 1, "paid": 10, "packed": True}
    assert [task["bpmn_id"] for task in shown["tasks"] if task["state"] == "COMPLETED"] == \
        ["start", "a", "b", "c", "end"]


def test_an_instance_from_before_the_read_model_is_shown_rebuilt(tmp_path, monkeypatch):
    """Migration 0009 marks the instances already there: their commits wrote no read model."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from engine.durable import Maestro
    from engine.durable.store.db import alembic_config

    url = f"sqlite:///{tmp_path / 'maestro.db'}"
    handlers, calls = make_recorder("ship", "reject")
    maestro = Maestro(url, handlers=handlers)
    maestro.deploy([("approval.bpmn", (DURABLE / "approval.bpmn").read_bytes())])
    instance_id = maestro.start("approval", {"amount": 3})["id"]
    drain(maestro)
    maestro.engine.dispose()
    old = create_engine(url)
    command.downgrade(alembic_config(old), "0008")  # as if it had run before the read model
    command.upgrade(alembic_config(old), "head")
    with old.connect() as connection:
        marks = connection.execute(text("SELECT instance_id, task_id, mark FROM task_marks")).all()
    old.dispose()
    assert marks == [(instance_id, "", "rebuild")]

    maestro = Maestro(url, handlers=handlers)
    rebuilt = []
    monkeypatch.setattr(type(maestro._instances), "rebuilt",
                        lambda self, found: rebuilt.append(found) or {"waiting": [{"bpmn_id": "approve"}]})
    assert maestro.show(instance_id)["waiting"] == [{"bpmn_id": "approve"}] and rebuilt == [instance_id]
