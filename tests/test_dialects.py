"""Acceptance tests: diagrams from different modelers, binding rules, expression styles,
process selection, call activities, undo binding, and refusal of an invalid diagram.

Diagrams: tests/fixtures/dialect_*.bpmn and invalid_*.bpmn.
"""
import pytest
from conftest import FIXTURES, completed_count
from lxml import etree

import engine

BRANCHES = pytest.mark.parametrize("amount, branch", [(500, "manual-review"), (50, "auto-approve")])


# Camunda 7 ---------------------------------------------------------------------
@BRANCHES
def test_camunda7_bindings_and_juel_conditions(recorder, amount, branch):
    handlers, calls = recorder("charge-card", "ReserveStock", "payment", "notifyCustomer",
                               "manual-review", "auto-approve")
    inst = engine.run(FIXTURES / "dialect_camunda7.bpmn", handlers, data={"amount": amount})

    assert calls == ["charge-card", "ReserveStock", "payment", "notifyCustomer", branch]
    assert inst.status == "completed", inst.error
    assert inst.data["amount"] == amount


# Camunda 8 ---------------------------------------------------------------------
@BRANCHES
def test_camunda8_task_definition_and_feel_conditions(recorder, amount, branch):
    handlers, calls = recorder("charge-card", "manual-review", "auto-approve")
    inst = engine.run(FIXTURES / "dialect_camunda8.bpmn", handlers, data={"amount": amount})

    assert calls == ["charge-card", branch]
    assert inst.status == "completed", inst.error


# Spiff Arena -------------------------------------------------------------------
@BRANCHES
def test_spiff_operator_and_python_conditions(recorder, amount, branch):
    handlers, calls = recorder("charge-card", "manual-review", "auto-approve")
    inst = engine.run(FIXTURES / "dialect_spiff.bpmn", handlers, data={"amount": amount})

    assert calls == ["charge-card", branch]
    assert inst.status == "completed", inst.error


# plain bpmn.io -----------------------------------------------------------------
def test_plain_bpmn_io_binds_by_id_and_by_snake_case_name(recorder):
    handlers, calls = recorder("reserve_stock", "send_confirmation_email")
    inst = engine.run(FIXTURES / "dialect_bpmnio.bpmn", handlers)

    assert calls == ["reserve_stock", "send_confirmation_email"]
    assert inst.status == "completed", inst.error


def test_source_may_be_a_str_path_or_an_xml_string(recorder):
    path = FIXTURES / "dialect_bpmnio.bpmn"
    for source in (str(path), path.read_text(encoding="utf-8")):
        handlers, calls = recorder("reserve_stock", "send_confirmation_email")
        inst = engine.run(source, handlers)
        assert calls == ["reserve_stock", "send_confirmation_email"]
        assert inst.status == "completed", inst.error


def test_handler_return_value_is_merged_into_variables():
    handlers = engine.Handlers()
    handlers.task("reserve_stock")(lambda ctx: {"reservation": "r-1"})
    handlers.task("send_confirmation_email")(lambda ctx: {"mailed_for": ctx.data["reservation"]})
    inst = engine.run(FIXTURES / "dialect_bpmnio.bpmn", handlers, data={"order": 7})

    assert inst.status == "completed", inst.error
    assert inst.data["order"] == 7
    assert inst.data["reservation"] == "r-1"
    assert inst.data["mailed_for"] == "r-1"


# choosing the process ----------------------------------------------------------
@pytest.mark.parametrize("process_id, expected", [("proc_one", ["one_task"]), ("proc_two", ["two_task"])])
def test_process_id_selects_the_process_of_a_file(recorder, process_id, expected):
    handlers, calls = recorder("one_task", "two_task")
    inst = engine.run(FIXTURES / "dialect_two_processes.bpmn", handlers, process_id=process_id)

    assert calls == expected
    assert inst.status == "completed", inst.error


def test_collaboration_runs_the_executable_process_by_id(recorder):
    handlers, calls = recorder("pack_order", "browse")
    inst = engine.run(FIXTURES / "dialect_collaboration.bpmn", handlers, process_id="shop_process")

    assert calls == ["pack_order"]
    assert inst.status == "completed", inst.error
    assert completed_count(inst, "browse") == 0


# call activities ---------------------------------------------------------------
def test_call_activity_to_a_process_in_the_same_file(recorder):
    handlers, calls = recorder("bill", "notify")
    inst = engine.run(FIXTURES / "dialect_call_activity.bpmn", handlers, process_id="order")

    assert calls == ["bill", "notify"]
    assert inst.status == "completed", inst.error


def test_call_activity_to_a_process_in_another_file(recorder):
    handlers, calls = recorder("charge", "confirm")
    source = [FIXTURES / "dialect_call_main.bpmn", FIXTURES / "dialect_call_billing.bpmn"]
    inst = engine.run(source, handlers, process_id="shop_order")

    assert calls == ["charge", "confirm"]
    assert inst.status == "completed", inst.error


# undo binding ------------------------------------------------------------------
def test_undo_handler_binds_a_compensation_activity_without_a_topic(recorder):
    # release_stock names no topic: @handlers.undo("stock") wins over its id binding.
    # refund_payment names topic "refund": that handler runs, not @handlers.undo("payment").
    handlers, calls = recorder("stock", "payment", "refund", "release_stock",
                               undo=("stock", "payment"))
    inst = engine.run(FIXTURES / "dialect_undo_binding.bpmn", handlers)

    assert calls == ["stock", "payment", "refund", "undo:stock"]
    assert inst.status == "completed", inst.error
    assert completed_count(inst, "release_stock") == 1
    assert completed_count(inst, "refund_payment") == 1


# refusing what cannot run faithfully -------------------------------------------
def _element_lines(path, element_id):
    """The lines an element spans in its file (start tag .. last descendant)."""
    element = etree.parse(str(path)).xpath("//*[@id=$id]", id=element_id)[0]
    last = max(e.sourceline for e in element.iter())
    return range(element.sourceline, last + 2)  # + closing tag


def test_compensation_boundary_without_handler_is_refused_at_deploy(recorder):
    path = FIXTURES / "invalid_compensation_no_handler.bpmn"
    handlers, calls = recorder("A")

    with pytest.raises(engine.DeployError) as raised:
        engine.run(path, handlers)

    assert calls == [], "nothing may run from a diagram that was refused"
    problems = [p for p in raised.value.problems if p.element == "A_comp"]
    assert problems, [(p.element, p.message) for p in raised.value.problems]
    problem = problems[0]
    assert isinstance(problem.line, int) and problem.line > 0
    assert problem.line in _element_lines(path, "A_comp"), "the line should point at the boundary event"
    assert str(problem.file).endswith("invalid_compensation_no_handler.bpmn")
    assert problem.message


def test_lint_reports_the_compensation_boundary_without_handler():
    path = FIXTURES / "invalid_compensation_no_handler.bpmn"
    problems = engine.lint([path])

    named = [p for p in problems if p.element == "A_comp"]
    assert named, [(p.element, p.message) for p in problems]
    assert named[0].line > 0


def test_lint_accepts_a_valid_compensation_diagram():
    problems = engine.lint([FIXTURES / "compensation_sequence.bpmn"])
    assert [(p.element, p.message) for p in problems] == []
