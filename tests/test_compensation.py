"""Acceptance tests: BPMN 2.0.2 compensation (10.5.6, 13.5.5) as promised in DESIGN.md.

Every test asserts the exact order of handler calls. The diagrams are in
tests/fixtures/compensation_*.bpmn; each file's header comment states the
expected order. Tasks bind by element id (no topic attributes), so the
compensation activity "undoA" runs the handler bound to "undoA".
"""
from conftest import FIXTURES, completed_count, is_compensated, once, tasks_of, when

import engine
from engine import BpmnError

SEQUENCE = ["A", "B", "C", "undoA", "undoB", "undoC"]


def run(name, handlers, **kwargs):
    return engine.run(FIXTURES / name, handlers, **kwargs)


# 1 ---------------------------------------------------------------------------
def test_throw_without_activity_ref_undoes_everything_newest_first(recorder):
    handlers, calls = recorder(*SEQUENCE)
    inst = run("compensation_sequence.bpmn", handlers)

    assert calls == ["A", "B", "C", "undoC", "undoB", "undoA"]
    assert inst.status == "completed", inst.error
    for undo in ("undoA", "undoB", "undoC"):
        assert completed_count(inst, undo) == 1, f"{undo} should be one COMPLETED task"
    for activity in ("A", "B", "C"):
        assert is_compensated(inst, activity), f"{activity} should be marked compensated"


def test_undo_tasks_are_real_tasks_in_execution_order(recorder):
    handlers, calls = recorder(*SEQUENCE)
    inst = run("compensation_sequence.bpmn", handlers)

    order = [t["bpmn_id"] for t in inst.tasks()
             if t["bpmn_id"] in SEQUENCE and t["state"] == "COMPLETED"]
    assert order == ["A", "B", "C", "undoC", "undoB", "undoA"]
    for task in inst.tasks():
        if task["bpmn_id"] in ("undoA", "undoB", "undoC"):
            assert not task["compensated"], "an undo task is not itself compensated"


# 2 ---------------------------------------------------------------------------
def test_throw_with_activity_ref_undoes_only_that_activity(recorder):
    handlers, calls = recorder(*SEQUENCE)
    inst = run("compensation_activity_ref.bpmn", handlers)

    assert calls == ["A", "B", "C", "undoB"]
    assert inst.status == "completed", inst.error
    assert is_compensated(inst, "B")
    assert not is_compensated(inst, "A")
    assert not is_compensated(inst, "C")
    assert completed_count(inst, "undoA") == 0
    assert completed_count(inst, "undoC") == 0


# 3 ---------------------------------------------------------------------------
def test_only_activities_completed_before_the_throw_are_compensated(recorder):
    handlers, calls = recorder(*SEQUENCE)
    inst = run("compensation_partial.bpmn", handlers)

    assert calls == ["A", "undoA", "B", "C"]
    assert inst.status == "completed", inst.error
    assert is_compensated(inst, "A")
    assert not is_compensated(inst, "B")
    assert not is_compensated(inst, "C")
    assert completed_count(inst, "undoB") == 0
    assert completed_count(inst, "undoC") == 0


# 4 ---------------------------------------------------------------------------
def test_second_throw_does_not_compensate_again(recorder):
    handlers, calls = recorder("A", "B", "undoA", "undoB")
    inst = run("compensation_back_to_back.bpmn", handlers)

    assert calls == ["A", "B", "undoB", "undoA"]
    assert inst.status == "completed", inst.error
    assert completed_count(inst, "undoA") == 1
    assert completed_count(inst, "undoB") == 1


def test_second_throw_compensates_only_work_completed_since_the_first(recorder):
    handlers, calls = recorder(*SEQUENCE)
    inst = run("compensation_twice.bpmn", handlers)

    assert calls == ["A", "B", "undoB", "undoA", "C", "undoC"]
    assert inst.status == "completed", inst.error


# 5 ---------------------------------------------------------------------------
def test_compensation_end_event(recorder):
    handlers, calls = recorder(*SEQUENCE)
    inst = run("compensation_end_event.bpmn", handlers)

    assert calls == ["A", "B", "C", "undoC", "undoB", "undoA"]
    assert inst.status == "completed", inst.error
    assert completed_count(inst, "compensate_end") == 1


# 6 ---------------------------------------------------------------------------
def test_subprocess_default_compensation_undoes_inner_work_newest_first(recorder):
    handlers, calls = recorder("A", "X", "Y", "undoA", "undoX", "undoY")
    inst = run("compensation_subprocess.bpmn", handlers)

    assert calls == ["A", "X", "Y", "undoY", "undoX", "undoA"]
    assert inst.status == "completed", inst.error
    assert is_compensated(inst, "X")
    assert is_compensated(inst, "Y")
    assert is_compensated(inst, "A")


def test_throw_with_activity_ref_to_subprocess_undoes_its_inner_work(recorder):
    handlers, calls = recorder("A", "X", "Y", "undoA", "undoX", "undoY")
    inst = run("compensation_subprocess_ref.bpmn", handlers)

    assert calls == ["A", "X", "Y", "undoY", "undoX"]
    assert inst.status == "completed", inst.error
    assert not is_compensated(inst, "A")


# 7 ---------------------------------------------------------------------------
def test_subprocess_with_own_handler_runs_that_handler_not_the_inner_ones(recorder):
    handlers, calls = recorder("X", "Y", "undoX", "undoY", "undoS")
    inst = run("compensation_subprocess_handler.bpmn", handlers)

    assert calls == ["X", "Y", "undoS"]
    assert inst.status == "completed", inst.error
    assert is_compensated(inst, "S")
    assert completed_count(inst, "undoX") == 0
    assert completed_count(inst, "undoY") == 0


# 8 ---------------------------------------------------------------------------
def test_parallel_branches_are_undone_in_reverse_order_of_completion(recorder):
    handlers, calls = recorder("P", "Q", "undoP", "undoQ")
    inst = run("compensation_parallel.bpmn", handlers)

    assert inst.status == "completed", inst.error
    assert len(calls) == 4, calls
    ran = calls[:2]
    assert sorted(ran) == ["P", "Q"]
    first, second = ran
    assert calls[2:] == ["undo" + second, "undo" + first]


# 9 ---------------------------------------------------------------------------
def test_sequential_multi_instance_undoes_each_instance_in_reverse(recorder):
    handlers, calls = recorder("M", "undoM", item_key="item")
    inst = run("compensation_multi_instance.bpmn", handlers, data={"items": ["a", "b", "c"]})

    assert calls == ["M:a", "M:b", "M:c", "undoM:c", "undoM:b", "undoM:a"]
    assert inst.status == "completed", inst.error
    assert completed_count(inst, "undoM") == 3


# 10 --------------------------------------------------------------------------
def test_standard_loop_undoes_each_iteration(recorder):
    handlers, calls = recorder("L", "undoL")
    inst = run("compensation_loop.bpmn", handlers)

    assert calls == ["L", "L", "L", "undoL", "undoL", "undoL"]
    assert inst.status == "completed", inst.error
    assert completed_count(inst, "undoL") == 3


# 11 --------------------------------------------------------------------------
def test_compensation_event_subprocess_is_the_subprocess_handler(recorder):
    handlers, calls = recorder("X", "Y", "undoX", "undoY", "cleanup")
    inst = run("compensation_event_subprocess.bpmn", handlers)

    assert calls == ["X", "Y", "undoY", "undoX", "cleanup"]
    assert inst.status == "completed", inst.error
    assert completed_count(inst, "cleanup") == 1


# 12 --------------------------------------------------------------------------
def test_transaction_cancel_compensates_inner_work_then_leaves_by_cancel_boundary(recorder):
    handlers, calls = recorder("X", "Y", "undoX", "undoY", "after_cancel")
    inst = run("compensation_transaction.bpmn", handlers)

    assert calls == ["X", "Y", "undoY", "undoX", "after_cancel"]
    assert inst.status == "completed", inst.error
    assert is_compensated(inst, "X")
    assert is_compensated(inst, "Y")
    assert completed_count(inst, "end") == 0, "the normal outgoing flow of T must not be taken"
    assert completed_count(inst, "end_cancelled") == 1


# 13 --------------------------------------------------------------------------
def test_failing_undo_fails_the_instance_and_retry_continues_the_compensation(recorder):
    handlers, calls = recorder(*SEQUENCE, raise_on={"undoB": once(RuntimeError("refund service down"))})
    inst = run("compensation_sequence.bpmn", handlers)

    assert calls == ["A", "B", "C", "undoC", "undoB"]
    assert inst.status == "failed"
    assert inst.error is not None
    assert "refund service down" in inst.error["message"]
    assert inst.error["bpmn_id"] == "undoB"
    assert [t["state"] for t in tasks_of(inst, "undoB")].count("ERROR") == 1

    inst = inst.retry()

    assert calls == ["A", "B", "C", "undoC", "undoB", "undoB", "undoA"]
    assert calls.count("undoC") == 1
    assert inst.status == "completed", inst.error
    assert completed_count(inst, "undoB") == 1
    assert completed_count(inst, "undoC") == 1


# 14 --------------------------------------------------------------------------
def test_saga_survives_serialize_and_restore_before_compensation(recorder):
    rejected = when(lambda data: data.get("reject"), BpmnError("REJECTED", "order rejected"))
    topics = ("A", "B", "undoA", "undoB")
    path = FIXTURES / "compensation_saga_user_task.bpmn"

    handlers, calls = recorder(*topics, raise_on={"B": rejected})
    inst = engine.run(path, handlers)
    assert inst.status == "waiting"
    assert calls == ["A"]
    text = inst.serialize()
    assert isinstance(text, str)

    # a fresh set of handlers: nothing from the first run is kept in memory
    handlers2, calls2 = recorder(*topics, raise_on={"B": rejected})
    restored = engine.Instance.restore(text, path, handlers2)
    assert restored.status == "waiting"
    restored.complete_task("approve", {"reject": True})

    assert calls2 == ["B", "undoA"]
    assert restored.status == "completed", restored.error
    assert restored.data.get("reject") is True
    assert is_compensated(restored, "A")
    assert not is_compensated(restored, "B")
    assert completed_count(restored, "undoB") == 0


def test_saga_approved_after_restore_compensates_nothing(recorder):
    path = FIXTURES / "compensation_saga_user_task.bpmn"
    handlers, calls = recorder("A", "B", "undoA", "undoB")
    inst = engine.run(path, handlers)
    assert inst.status == "waiting"

    restored = engine.Instance.restore(inst.serialize(), path, handlers)
    restored.complete_task("approve", {"reject": False})

    assert calls == ["A", "B"]
    assert restored.status == "completed", restored.error


# 15 --------------------------------------------------------------------------
def test_activity_interrupted_by_an_error_is_not_compensated(recorder):
    handlers, calls = recorder("A", "B", "undoA", "undoB",
                               raise_on={"B": BpmnError("B_FAILED", "B failed")})
    inst = run("compensation_error_boundary.bpmn", handlers)

    assert calls == ["A", "B", "undoA"]
    assert inst.status == "completed", inst.error
    assert is_compensated(inst, "A")
    assert not is_compensated(inst, "B")
    assert completed_count(inst, "end_failed") == 1
    assert completed_count(inst, "end") == 0


# 16 --------------------------------------------------------------------------
def test_wait_for_completion_false_still_runs_every_undo(recorder):
    handlers, calls = recorder(*SEQUENCE)
    inst = run("compensation_no_wait.bpmn", handlers)

    assert calls == ["A", "B", "C", "undoC", "undoB", "undoA"]
    assert inst.status == "completed", inst.error
    for undo in ("undoA", "undoB", "undoC"):
        assert completed_count(inst, undo) == 1


def test_wait_for_completion_false_in_a_subprocess_completes_only_after_every_undo(recorder):
    handlers, calls = recorder("A", "B", "C", "undoA", "undoB")
    inst = run("compensation_no_wait_in_subprocess.bpmn", handlers)

    assert sorted(calls) == ["A", "B", "C", "undoA", "undoB"]
    assert calls.index("undoB") < calls.index("undoA")
    assert inst.status == "completed", inst.error
    assert not [t for t in inst.tasks() if t["state"] in ("READY", "WAITING")]


def test_instance_saved_while_an_undo_waits_resumes_the_compensation(recorder):
    handlers, calls = recorder("A", "B", "C", "undoA", "undoC")
    source = FIXTURES / "compensation_manual_undo.bpmn"
    inst = engine.run(source, handlers)
    assert inst.status == "waiting"
    assert calls == ["A", "B", "C", "undoC"]
    assert [t["bpmn_id"] for t in inst.waiting_tasks()] == ["undoB"]

    restored = engine.Instance.restore(inst.serialize(), source, handlers)
    restored.complete_task("undoB", {"customer_called": True})

    assert restored.status == "completed"
    assert calls == ["A", "B", "C", "undoC", "undoA"]
    assert restored.data["customer_called"] is True
    compensated = sorted(t["bpmn_id"] for t in restored.tasks() if t["compensated"])
    assert compensated == ["A", "B", "C"]


def test_parallel_multi_instance_undoes_each_completed_instance_newest_first(recorder):
    handlers, calls = recorder("M", "undoM", item_key="item")
    parallel = (FIXTURES / "compensation_multi_instance.bpmn").read_text().replace(
        'isSequential="true"', 'isSequential="false"')
    inst = engine.run(parallel, handlers, {"items": ["a", "b", "c"]})

    assert inst.status == "completed", inst.error
    forward = calls[:3]
    assert sorted(forward) == ["M:a", "M:b", "M:c"]
    assert calls[3:] == ["undo" + call for call in reversed(forward)]
