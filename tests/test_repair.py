"""Repairing instances (durable, SQLite): edit variables then retry, batch retry and cancel, incidents
grouped, suspend and resume."""
import importlib.util
import time

import pytest
from conftest import FIXTURES
from durable_helpers import DURABLE, assert_read_model_agrees, delivered, drain, fresh_maestro

from engine.durable import Busy, Maestro, Stale, Suspended
from engine.run.instance import InstanceError
from engine.run.variable_limits import VariablesRefused

REPAIR = FIXTURES / "repair"


def repair_handlers():
    spec = importlib.util.spec_from_file_location("repair_handlers", REPAIR / "handlers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handlers


@pytest.fixture
def maestro(tmp_path):
    engine = fresh_maestro(tmp_path, repair_handlers())
    engine.deploy_paths([REPAIR / "charge.bpmn"])
    return engine


def failed_charge(maestro, amount=0, business_key=None, **data):
    instance_id = maestro.start("charge", {"amount": amount, **data}, business_key)["id"]
    drain(maestro)
    assert maestro.show(instance_id)["status"] == "failed"
    return instance_id


def actions(shown):
    return [(entry["state"], entry["actor"], entry["data_out"]) for entry in shown["history"]
            if entry["type"] == "action"]


# -- edit the variables, then retry ------------------------------------------------------

def test_edited_variables_reach_the_retried_task_and_the_steps_after_it(maestro):
    instance_id = failed_charge(maestro, amount=0, note="keep", stale="drop me")
    shown = maestro.show(instance_id)
    assert "amount must be above 0, not 0" in shown["incident"]["message"]

    edited = {"amount": 42, "note": "keep", "currency": "EUR"}  # amount changed, currency added, stale removed
    retried = maestro.retry(instance_id, edited, by="alice", expected_updated_at=shown["updated_at"])
    assert retried["status"] == "running"
    drain(maestro)

    shown = maestro.show(instance_id)
    assert shown["status"] == "completed" and shown["incident"] is None
    assert shown["data"] == {"amount": 42, "note": "keep", "currency": "EUR", "charged": 42, "recorded": 42}
    assert actions(shown) == [("VARIABLES", "alice",
                               {"added": ["currency"], "changed": ["amount"], "removed": ["stale"]})]
    # The change comes before the retried task's run, and names keys, never values.
    history = [(entry["bpmn_id"], entry["state"]) for entry in shown["history"]]
    changed_at = history.index((None, "VARIABLES"))
    assert history.index(("charge_card", "COMPLETED")) > changed_at
    assert ("charge_card", "ERROR") in history[:changed_at]
    assert_read_model_agrees(maestro, instance_id)


def test_a_stale_edit_is_refused_and_changes_nothing(maestro):
    instance_id = failed_charge(maestro)
    loaded = maestro.show(instance_id)["updated_at"]
    maestro.set_variables(instance_id, {"amount": -5}, by="bob")  # someone else edits meanwhile
    with pytest.raises(Stale):
        maestro.retry(instance_id, {"amount": 7}, by="alice", expected_updated_at=loaded)
    shown = maestro.show(instance_id)
    assert shown["status"] == "failed" and shown["data"] == {"amount": -5}
    assert actions(shown) == [("VARIABLES", "bob", {"added": [], "changed": ["amount"], "removed": []})]


def test_set_variables_keeps_the_instance_failed_until_retried(maestro):
    instance_id = failed_charge(maestro)
    shown = maestro.set_variables(instance_id, {"amount": 3})
    assert shown["status"] == "failed"
    drain(maestro)
    assert maestro.show(instance_id)["status"] == "failed"
    maestro.retry(instance_id)
    drain(maestro)
    assert maestro.show(instance_id)["data"]["recorded"] == 3


def test_variables_that_cannot_be_stored_are_refused_and_nothing_is_written(maestro, monkeypatch):
    instance_id = failed_charge(maestro)
    with pytest.raises(VariablesRefused):
        maestro.retry(instance_id, {"amount": float("nan")})
    with pytest.raises(VariablesRefused):
        maestro.retry(instance_id, ["not", "an", "object"])  # type: ignore[arg-type]
    monkeypatch.setenv("MAESTRO_MAX_VARIABLES_BYTES", "100")
    with pytest.raises(VariablesRefused) as refused:
        maestro.retry(instance_id, {"amount": 1, "blob": "x" * 200})
    assert refused.value.too_large
    shown = maestro.show(instance_id)
    assert shown["status"] == "failed" and shown["data"] == {"amount": 0} and actions(shown) == []


def test_retrying_what_has_not_failed_is_refused(maestro):
    instance_id = failed_charge(maestro)
    maestro.retry(instance_id, {"amount": 1})
    with pytest.raises(InstanceError, match="not failed"):
        maestro.retry(instance_id, {"amount": 2})


# -- batches ------------------------------------------------------------------------------

def test_batch_retry_by_failed_element_and_error_text_with_one_refused(maestro):
    failed = [failed_charge(maestro, amount=0, business_key=f"order-{n}") for n in range(20)]
    maestro.suspend(failed[7], by="carol", reason="customer on the phone")
    other = maestro.start("charge", {"amount": 5})["id"]
    drain(maestro)

    criteria = {"element": "charge_card", "error": "AMOUNT MUST BE ABOVE"}
    assert len(maestro.instances(**criteria, limit=100)) == 20
    result = maestro.retry_many(criteria, by="alice")
    assert sorted(result["done"]) == sorted(set(failed) - {failed[7]})
    assert result["refused"] == [{"id": failed[7], "reason": f"instance {failed[7]} is suspended: resume it to retry it"}]
    assert result["more"] is False
    drain(maestro)
    # Retried with the same data, they fail again: each one was retried once.
    assert all(maestro.show(i)["status"] == "failed" for i in failed)
    assert maestro.show(other)["status"] == "completed"


def test_an_empty_filter_is_refused(maestro):
    failed_charge(maestro)
    for empty in ({}, {"key": None, "error": ""}):
        with pytest.raises(InstanceError, match="empty filter"):
            maestro.cancel_many(empty)
    with pytest.raises(InstanceError):
        maestro.retry_many()


def test_cancel_many_by_ids_refuses_what_is_already_cancelled(maestro):
    first, second = failed_charge(maestro), failed_charge(maestro)
    maestro.cancel(second)
    result = maestro.cancel_many(ids=[first, second, "no-such-id"], by="dave")
    assert result["done"] == [first]
    assert [(r["id"], r["reason"]) for r in result["refused"]] == [
        (second, f"instance {second} is already cancelled"), ("no-such-id", "no instance 'no-such-id'")]
    shown = maestro.show(first)
    assert shown["status"] == "cancelled" and shown["history"][-1]["actor"] == "dave"


def test_a_batch_takes_at_most_its_limit_and_says_there_is_more(maestro, monkeypatch):
    from engine.durable import batches
    monkeypatch.setattr(batches, "BATCH_LIMIT", 3)
    made = [failed_charge(maestro) for _ in range(4)]
    result = maestro.cancel_many({"status": "failed"})
    assert result["done"] == made[:3] and result["more"] is True
    assert maestro.cancel_many({"status": "failed"}) == {"done": made[3:], "refused": [], "more": False}


# -- incidents ---------------------------------------------------------------------------

def test_incidents_are_grouped_by_process_element_and_message(maestro):
    for _ in range(3):
        failed_charge(maestro, amount=0)
    failed_charge(maestro, amount=-1)
    cancelled = failed_charge(maestro, amount=0)
    maestro.cancel(cancelled)  # no one needs to look at its failure any more
    found = maestro.incidents()
    assert found["open"] == 4
    assert [(g["key"], g["element"], g["element_name"], g["message"], g["count"]) for g in found["groups"]] == [
        ("charge", "charge_card", "Charge the card", "ValueError: amount must be above 0, not 0", 3),
        ("charge", "charge_card", "Charge the card", "ValueError: amount must be above 0, not -1", 1)]
    group = found["groups"][0]
    assert group["first_at"] <= group["last_at"]
    assert maestro.open_incident_count() == 4


# -- suspend and resume ------------------------------------------------------------------

def test_a_suspended_instance_is_not_run_and_its_due_timer_fires_after_resume(tmp_path, recorder):
    handlers, calls = recorder("A", "B")
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([DURABLE / "timer_intermediate.bpmn"])
    instance_id = maestro.start("timer_intermediate")["id"]
    drain(maestro, patience=0.2)  # runs A, then the timer waits a second
    assert calls == ["A"]
    shown = maestro.suspend(instance_id, by="erin", reason="checking the stock")
    assert shown["status"] == "waiting" and shown["suspended"] is True and shown["suspended_by"] == "erin"
    assert maestro.next_due() is None  # nothing for a worker to wait for
    time.sleep(1.1)  # the timer falls due while suspended
    assert maestro.work_batch() == 0 and calls == ["A"]
    assert maestro.instances(suspended=True)[0]["id"] == instance_id

    maestro.resume(instance_id, by="erin")
    drain(maestro)
    shown = maestro.show(instance_id)
    assert shown["status"] == "completed" and shown["suspended"] is False and calls == ["A", "B"]
    assert actions(shown) == [("SUSPENDED", "erin", {"reason": "checking the stock"}), ("RESUMED", "erin", None)]


def test_a_suspended_start_does_not_run_until_resumed(tmp_path, recorder):
    handlers, calls = recorder("A", "B")
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([DURABLE / "timer_intermediate.bpmn"])
    instance_id = maestro.start("timer_intermediate")["id"]
    maestro.suspend(instance_id)
    assert drain(maestro, patience=0.2) == 0 and calls == []
    maestro.resume(instance_id)
    drain(maestro, patience=0.2)
    assert calls == ["A"]


def test_a_message_for_a_suspended_instance_is_kept_and_delivered_after_resume(tmp_path, recorder):
    handlers, calls = recorder("reserve", "ship", "record")
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([DURABLE / "messages.bpmn"])
    instance_id = maestro.start("order", business_key="o-1")["id"]
    drain(maestro)
    assert maestro.show(instance_id)["status"] == "waiting"
    maestro.suspend(instance_id)
    outcome = delivered(maestro, "payment_received", "o-1")
    assert outcome["status"] == "buffered" and outcome["reached"] == []
    drain(maestro)
    assert maestro.show(instance_id)["status"] == "waiting" and "ship" not in calls

    maestro.resume(instance_id)
    drain(maestro)
    assert maestro.show(instance_id)["status"] == "completed" and calls[-1] == "ship"
    assert maestro.message(outcome["id"])["status"] == "delivered"


def test_retry_is_refused_while_suspended_and_cancel_is_allowed(maestro):
    failed = failed_charge(maestro)
    maestro.suspend(failed)
    with pytest.raises(Suspended):
        maestro.retry(failed, {"amount": 1})
    with pytest.raises(InstanceError, match="suspended already"):
        maestro.suspend(failed)
    shown = maestro.cancel(failed)
    assert shown["status"] == "cancelled" and shown["suspended"] is False
    with pytest.raises(InstanceError, match="nothing to suspend"):
        maestro.suspend(failed)
    with pytest.raises(InstanceError, match="not suspended"):
        maestro.resume(failed)


def test_completing_a_user_task_of_a_suspended_instance_is_refused(tmp_path, recorder):
    handlers, calls = recorder("ship", "reject")
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([DURABLE / "approval.bpmn"])
    instance_id = maestro.start("approval", {"amount": 10})["id"]
    drain(maestro)
    waiting = maestro.show(instance_id)["waiting"]
    assert maestro.show(instance_id)["status"] == "waiting" and waiting
    maestro.suspend(instance_id, reason="audit")
    with pytest.raises(Suspended, match="suspended"):
        maestro.complete_task(instance_id, waiting[0]["id"], {"approved": True})
    maestro.resume(instance_id)
    maestro.complete_task(instance_id, waiting[0]["id"], {"approved": True, "reason": "ok"})
    maestro.suspend(instance_id)  # its "continue" is due now: no worker takes it while suspended
    assert drain(maestro, patience=0.3) == 0 and calls == []
    maestro.resume(instance_id)
    drain(maestro)
    assert maestro.show(instance_id)["status"] == "completed" and calls == ["ship"]


def test_suspending_an_instance_a_worker_holds_is_refused_as_busy(maestro):
    instance_id = maestro.start("charge", {"amount": 1})["id"]
    with maestro.Session() as session:
        from engine.durable.store import jobs
        assert jobs.claim(session, "another-worker", 30)
    with pytest.raises(Busy):
        maestro.suspend(instance_id)
    assert maestro.show(instance_id)["suspended"] is False


# -- PostgreSQL: claims (FOR UPDATE SKIP LOCKED) skip suspended instances too ----------------

@pytest.fixture(scope="module")
def postgres():
    from postgres_server import PostgresServer
    server = PostgresServer().start()  # as the other PostgreSQL tests: .ci/run installs it, no skipping
    yield server
    server.stop()


def test_on_postgresql_a_suspended_instance_is_not_claimed_until_resumed(postgres, recorder):
    handlers, calls = recorder("A", "B", "reserve", "ship", "record")
    maestro = Maestro(postgres.url, handlers=handlers)
    maestro.deploy_paths([DURABLE / "timer_intermediate.bpmn", DURABLE / "messages.bpmn"])
    held = maestro.start("timer_intermediate", {"who": "held"})["id"]
    free = maestro.start("timer_intermediate", {"who": "free"})["id"]
    maestro.suspend(held, by="frank", reason="hold")
    order = maestro.start("order", business_key="pg-1")["id"]
    drain(maestro, patience=3)
    assert maestro.show(free)["status"] == "completed" and maestro.show(held)["history"][-1]["state"] == "SUSPENDED"
    assert calls.count("A") == 1
    maestro.suspend(order)
    assert delivered(maestro, "payment_received", "pg-1")["status"] == "buffered"

    maestro.resume(held, by="frank")
    maestro.resume(order)
    drain(maestro, patience=5)
    assert maestro.show(held)["status"] == "completed" and calls.count("A") == calls.count("B") == 2
    assert maestro.show(order)["status"] == "completed"
