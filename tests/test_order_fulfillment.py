"""The shipped seed saga, run the way the README's tour runs it."""
import pytest
from cli_helpers import SAGA, run_saga

import engine
from engine import load_handler_module

FORWARD = ["checkout", "payment", "stock", "distribution_center", "invoice", "shipping"]
UNDO_OF = {"payment": "refund_payment", "stock": "release_stock",
           "distribution_center": "release_distribution_center", "invoice": "cancel_invoice"}


def test_happy_path_completes_every_step_and_undoes_nothing():
    result, output = run_saga({"items": ["book"]})
    assert result.returncode == 0, result.stderr
    assert output["status"] == "completed"
    assert output["data"]["steps"] == FORWARD
    assert "undone" not in output["data"]
    assert not any(task["compensated"] for task in output["tasks"])


@pytest.mark.parametrize("failing", FORWARD)
def test_a_failing_step_undoes_the_completed_steps_newest_first(failing):
    result, output = run_saga({"items": ["book"], "fail_at": failing})
    assert result.returncode == 0, result.stderr
    assert output["status"] == "completed"  # the failure path ends in "Order cancelled"
    completed = FORWARD[:FORWARD.index(failing)]
    expected_undos = [UNDO_OF[step] for step in reversed(completed) if step in UNDO_OF]
    assert output["data"].get("undone", []) == expected_undos
    assert output["data"]["steps"] == completed + expected_undos + ["notify_customer"]
    # The undo tasks are tasks of the instance, listed in the order they ran.
    undo_tasks = [t["bpmn_id"] for t in output["tasks"] if t["undo_of"]]
    assert undo_tasks == expected_undos
    compensated = {t["bpmn_id"] for t in output["tasks"] if t["compensated"]}
    assert compensated == {step for step in completed if step in UNDO_OF}
    states = {t["bpmn_id"]: t["state"] for t in output["tasks"]}
    assert states[failing] == "CANCELLED"  # it did not complete, so it is not compensated
    assert states["order_cancelled"] == "COMPLETED"


def test_a_crashing_step_fails_the_instance_with_the_error_kept():
    result, output = run_saga({"items": ["book"], "crash_at": "invoice"})
    assert result.returncode == 1
    assert output["status"] == "failed"
    assert output["error"]["bpmn_id"] == "invoice"
    assert "invoice service unavailable" in output["error"]["message"]
    assert "Traceback" in output["error"]["traceback"]
    assert "undone" not in output["data"]


def test_a_crashing_undo_can_be_retried_without_repeating_the_undos_that_ran():
    handlers = load_handler_module(SAGA / "handlers.py")
    data = {"items": ["book"], "fail_at": "shipping", "crash_at": "release_stock"}
    instance = engine.run(SAGA / "order_fulfillment.bpmn", handlers, data)
    assert instance.status == "failed"
    assert instance.error["bpmn_id"] == "release_stock"
    assert instance.data["undone"] == ["cancel_invoice", "release_distribution_center"]

    # Save the instance in the middle of its saga and restore it, as a worker would.
    restored = engine.Instance.restore(instance.serialize(), SAGA / "order_fulfillment.bpmn", handlers)
    assert restored.status == "failed"
    # The operator fixes the stock service (here: clears the simulated outage), then retries.
    restored.retry({"crash_at": None})
    assert restored.status == "completed"
    assert restored.data["undone"] == ["cancel_invoice", "release_distribution_center",
                                       "release_stock", "refund_payment"]
    undo_runs = [t["bpmn_id"] for t in restored.tasks() if t["undo_of"]]
    assert undo_runs == ["cancel_invoice", "release_distribution_center", "release_stock", "refund_payment"]


def test_an_empty_cart_is_a_business_error_that_undoes_nothing():
    result, output = run_saga({"items": []})
    assert result.returncode == 0
    assert output["data"]["steps"] == ["notify_customer"]
    assert "undone" not in output["data"]


def test_the_seed_diagram_has_a_shape_for_every_element():
    from lxml import etree
    root = etree.parse(str(SAGA / "order_fulfillment.bpmn")).getroot()
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
          "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
    drawn = set(root.xpath("//bpmndi:BPMNShape/@bpmnElement | //bpmndi:BPMNEdge/@bpmnElement", namespaces=ns))
    elements = set(root.xpath("//bpmn:process//*[@id][not(self::bpmn:compensateEventDefinition)"
                              " and not(self::bpmn:errorEventDefinition) and not(self::bpmn:incoming)]/@id",
                              namespaces=ns))
    assert elements - drawn == set()
