"""Acceptance tests: business errors (BpmnError -> BPMN error events) and technical failures.

Diagrams: tests/fixtures/errors_*.bpmn. Tasks bind by element id.
"""
import pytest
from conftest import FIXTURES, completed_count, once, tasks_of

import engine
from engine import BpmnError


def run(name, handlers, **kwargs):
    return engine.run(FIXTURES / name, handlers, **kwargs)


BOUNDARY_TOPICS = ("pay", "ship", "handle_declined", "handle_fraud")


# boundary events -------------------------------------------------------------
@pytest.mark.parametrize("code, handler, boundary", [
    ("DECLINED", "handle_declined", "on_declined"),
    ("FRAUD", "handle_fraud", "on_fraud"),
])
def test_error_boundary_with_matching_code_catches(recorder, code, handler, boundary):
    handlers, calls = recorder(*BOUNDARY_TOPICS, raise_on={"pay": BpmnError(code, f"{code} happened")})
    inst = run("errors_boundary.bpmn", handlers)

    assert calls == ["pay", handler]
    assert inst.status == "completed", inst.error
    assert inst.error is None
    assert completed_count(inst, boundary) == 1
    other = "on_fraud" if boundary == "on_declined" else "on_declined"
    assert completed_count(inst, other) == 0, "a boundary with another errorCode must not catch"


def test_error_boundaries_do_not_fire_without_an_error(recorder):
    handlers, calls = recorder(*BOUNDARY_TOPICS)
    inst = run("errors_boundary.bpmn", handlers)

    assert calls == ["pay", "ship"]
    assert inst.status == "completed", inst.error


def test_error_code_matching_no_boundary_is_uncaught(recorder):
    handlers, calls = recorder(*BOUNDARY_TOPICS, raise_on={"pay": BpmnError("OUT_OF_STOCK", "no stock left")})
    inst = run("errors_boundary.bpmn", handlers)

    assert calls == ["pay"]
    assert inst.status == "failed"
    assert "no stock left" in inst.error["message"]
    assert inst.error["bpmn_id"] == "pay"


def test_catch_all_error_boundary_catches_any_code(recorder):
    handlers, calls = recorder("pay", "ship", "handle_any",
                               raise_on={"pay": BpmnError("WHATEVER", "something went wrong")})
    inst = run("errors_catch_all.bpmn", handlers)

    assert calls == ["pay", "handle_any"]
    assert inst.status == "completed", inst.error
    assert completed_count(inst, "on_any_error") == 1


def test_catch_all_error_boundary_does_not_catch_technical_failures(recorder):
    handlers, calls = recorder("pay", "ship", "handle_any", raise_on={"pay": RuntimeError("socket closed")})
    inst = run("errors_catch_all.bpmn", handlers)

    assert calls == ["pay"]
    assert inst.status == "failed"
    assert "socket closed" in inst.error["message"]


# error event sub-process -----------------------------------------------------
def test_error_event_subprocess_catches(recorder):
    handlers, calls = recorder("pay", "ship", "notify",
                               raise_on={"pay": BpmnError("DECLINED", "card declined")})
    inst = run("errors_event_subprocess.bpmn", handlers)

    assert calls == ["pay", "notify"]
    assert inst.status == "completed", inst.error
    assert completed_count(inst, "ship") == 0


def test_error_event_subprocess_does_not_run_when_nothing_fails(recorder):
    # Regression: SpiffWorkflow 3.2 can start an error event sub-process at process start.
    handlers, calls = recorder("pay", "ship", "notify")
    inst = run("errors_event_subprocess.bpmn", handlers)

    assert calls == ["pay", "ship"]
    assert inst.status == "completed", inst.error
    assert completed_count(inst, "notify") == 0
    assert completed_count(inst, "on_declined_start") == 0


def test_error_event_subprocess_has_not_run_while_waiting(recorder):
    handlers, calls = recorder("pay", "notify")
    inst = run("errors_event_subprocess_wait.bpmn", handlers)

    assert inst.status == "waiting"
    assert calls == []
    assert completed_count(inst, "notify") == 0
    assert completed_count(inst, "on_declined_start") == 0

    inst.complete_task("review")
    assert calls == ["pay"]
    assert inst.status == "completed", inst.error


# errors from inside a sub-process -----------------------------------------------
def test_error_inside_subprocess_caught_by_boundary_on_subprocess(recorder):
    handlers, calls = recorder("inner", "after", "recover", "process_handler",
                               raise_on={"inner": BpmnError("INNER", "inner failed")})
    inst = run("errors_subprocess_boundary.bpmn", handlers)

    # the boundary on S is nearer than the process-level catch-all event sub-process
    assert calls == ["inner", "recover"]
    assert inst.status == "completed", inst.error
    assert completed_count(inst, "S_failed") == 1


def test_uncaught_error_inside_subprocess_reaches_process_event_subprocess(recorder):
    handlers, calls = recorder("inner", "after", "recover", "process_handler",
                               raise_on={"inner": BpmnError("OTHER", "something else")})
    inst = run("errors_subprocess_boundary.bpmn", handlers)

    assert calls == ["inner", "process_handler"]
    assert inst.status == "completed", inst.error


def test_error_end_event_inside_subprocess_caught_by_boundary(recorder):
    handlers, calls = recorder("check", "after", "recover")
    inst = run("errors_end_event.bpmn", handlers)

    assert calls == ["check", "recover"]
    assert inst.status == "completed", inst.error
    assert completed_count(inst, "S_failed") == 1
    assert completed_count(inst, "after") == 0


# uncaught errors and technical failures --------------------------------------
def test_uncaught_bpmn_error_fails_the_instance_with_its_message(recorder):
    handlers, calls = recorder("pay", "ship", raise_on={"pay": BpmnError("DECLINED", "card declined")})
    inst = run("errors_uncaught.bpmn", handlers)

    assert calls == ["pay"]
    assert inst.status == "failed"
    assert inst.error is not None
    assert "card declined" in inst.error["message"]
    assert inst.error["bpmn_id"] == "pay"


def test_exception_fails_the_instance_with_message_and_traceback(recorder):
    handlers, calls = recorder("pay", "ship", raise_on={"pay": RuntimeError("payment gateway timeout")})
    inst = run("errors_uncaught.bpmn", handlers)

    assert calls == ["pay"]
    assert inst.status == "failed"
    error = inst.error
    assert error is not None
    assert "payment gateway timeout" in error["message"]
    assert error["bpmn_id"] == "pay"
    assert error["task"]
    assert error["traceback"] and "RuntimeError" in error["traceback"]
    assert [t["state"] for t in tasks_of(inst, "pay")] == ["ERROR"]
    assert completed_count(inst, "ship") == 0


def test_retry_after_a_transient_failure_completes(recorder):
    handlers, calls = recorder("pay", "ship", raise_on={"pay": once(RuntimeError("payment gateway timeout"))})
    inst = run("errors_uncaught.bpmn", handlers)
    assert inst.status == "failed"
    assert calls == ["pay"]

    inst = inst.retry()

    assert calls == ["pay", "pay", "ship"]
    assert inst.status == "completed", inst.error
    assert inst.error is None
    assert completed_count(inst, "pay") == 1


def test_retry_that_fails_again_stays_failed(recorder):
    handlers, calls = recorder("pay", "ship", raise_on={"pay": RuntimeError("still down")})
    inst = run("errors_uncaught.bpmn", handlers)
    inst = inst.retry()

    assert calls == ["pay", "pay"]
    assert inst.status == "failed"
    assert "still down" in inst.error["message"]
