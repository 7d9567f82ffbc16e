"""An operator's surgery on stored instances (SQLite): moving a token to another element, and migrating
instances to another version of their process."""
from pathlib import Path

import pytest
from durable_helpers import assert_read_model_agrees, delivered, drain, fresh_maestro

from engine.run.instance_errors import InstanceError
from engine.run.token_moves import MoveRefused

SURGERY = Path(__file__).parent / "fixtures" / "surgery"
MOVES = SURGERY / "moves.bpmn"
TOPICS = ("prepare", "charge", "escalate", "pick", "seal", "ship", "check", "notify", "archive", "book", "receipt")


def card_down_once(ctx, n):
    return RuntimeError("card reader down") if n == 1 else None


def entries(shown, bpmn_id):
    return [(entry["state"], entry["actor"]) for entry in shown["history"] if entry["bpmn_id"] == bpmn_id]


def notes(shown, state):
    return [entry for entry in shown["history"] if entry["state"] == state]


def failed_at_charge(tmp_path, recorder):
    handlers, calls = recorder(*TOPICS, raise_on={"charge": card_down_once})
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([MOVES])
    instance_id = maestro.start("moves", {"order": 7})["id"]
    drain(maestro)
    shown = maestro.show(instance_id)
    assert shown["status"] == "failed" and shown["incident"]["bpmn_id"] == "charge"
    return maestro, calls, instance_id


# -- moving a token ---------------------------------------------------------------------------------

def test_moving_off_a_failed_service_task_resolves_its_incident_and_runs_the_target(tmp_path, recorder):
    maestro, calls, instance_id = failed_at_charge(tmp_path, recorder)
    moved = maestro.move_token(instance_id, "charge", "pack", "paid by bank transfer instead", by="ada")
    assert moved["status"] == "running" and moved["incident_resolved"] is True
    assert moved["moved"] == {"from": "charge", "to": "pack", "task_id": moved["moved"]["task_id"],
                              "reason": "paid by bank transfer instead", "by": "ada"}
    drain(maestro)
    shown = maestro.show(instance_id)
    assert shown["status"] == "completed" and shown["incident"] is None
    assert calls == ["prepare", "charge", "pick", "seal", "ship"]  # the review it skipped never waited
    assert shown["data"]["order"] == 7
    assert entries(shown, "charge")[-1] == ("CANCELLED", "ada")
    assert "review" not in [task["bpmn_id"] for task in shown["tasks"]]
    [moved_note] = notes(shown, "MOVED")
    assert moved_note["name"] == "moved by ada: paid by bank transfer instead" and moved_note["actor"] == "ada"
    assert moved_note["data_in"]["from"] == "charge" and moved_note["data_in"]["to"] == "pack"
    assert_read_model_agrees(maestro, instance_id)


def test_moving_to_a_user_task_waits_there_with_its_boundary_timer(tmp_path, recorder):
    maestro, calls, instance_id = failed_at_charge(tmp_path, recorder)
    maestro.move_token(instance_id, "charge", "review", "charged by phone")
    drain(maestro)
    shown = maestro.show(instance_id)
    assert shown["status"] == "waiting"
    assert sorted((task["bpmn_id"], task["state"]) for task in shown["waiting"]) == \
        [("review", "READY"), ("review_overdue", "WAITING")]
    assert notes(shown, "MOVED")[0]["actor"].startswith("user@")  # nobody named: the engine's own actor
    assert_read_model_agrees(maestro, instance_id)
    maestro.complete_task(instance_id, "review")
    drain(maestro)
    assert maestro.show(instance_id)["status"] == "completed"
    assert calls == ["prepare", "charge", "pick", "seal", "ship"]


def test_moving_back_to_a_completed_task_runs_it_again_with_the_current_variables(tmp_path, recorder):
    maestro, calls, instance_id = failed_at_charge(tmp_path, recorder)
    maestro.move_token(instance_id, "charge", "review", "try the review first")
    drain(maestro)
    maestro.move_token(instance_id, "review", "prepare", "the order changed: prepare it again", by="bo")
    drain(maestro)
    shown = maestro.show(instance_id)
    assert calls == ["prepare", "charge", "prepare", "charge"]  # prepared again; the card works now
    assert [state for state, _ in entries(shown, "prepare")].count("COMPLETED") == 2
    assert ("CANCELLED", "bo") in entries(shown, "review") and ("CANCELLED", "bo") in entries(shown, "review_overdue")
    assert [task["bpmn_id"] for task in shown["waiting"] if task["state"] == "READY"] == ["review"]
    assert len(notes(shown, "MOVED")) == 2
    assert_read_model_agrees(maestro, instance_id)


@pytest.mark.parametrize("source, target, reason, expected", [
    ("charge", "nowhere", "why not", "the process has no element 'nowhere'"),
    ("charge", "pick", "why not", "'pick' is in another scope"),
    ("charge", "review_overdue", "why not", "Review overdue (review_overdue) is a boundary event"),
    ("charge", "start", "why not", "start is a start event"),
    ("charge", "review", "  ", "a reason is required"),
    ("charge", "review", "x" * 501, "the reason is 501 characters long"),
    ("review", "ship", "why not", "no active activity 'review' (active: Charge card (charge))"),
])
def test_a_refused_move_changes_nothing(tmp_path, recorder, source, target, reason, expected):
    maestro, calls, instance_id = failed_at_charge(tmp_path, recorder)
    before = maestro.show(instance_id)
    with pytest.raises(MoveRefused) as refused:
        maestro.move_token(instance_id, source, target, reason)
    assert expected in str(refused.value) and refused.value.reasons
    assert maestro.show(instance_id) == before


def test_a_completed_instance_has_no_token_to_move(tmp_path, recorder):
    handlers, _ = recorder(*TOPICS)
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([SURGERY / "orders_v1.bpmn"])
    instance_id = maestro.start("orders")["id"]
    drain(maestro)
    maestro.complete_task(instance_id, "approve")
    drain(maestro)
    with pytest.raises(MoveRefused, match="is completed: no token to move"):
        maestro.move_token(instance_id, "ship", "approve", "again")


# -- migrating instances ----------------------------------------------------------------------------

def orders_on_version_1(tmp_path, recorder, count=2):
    handlers, calls = recorder(*TOPICS)
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([SURGERY / "orders_v1.bpmn"])
    ids = [maestro.start("orders", {"n": n})["id"] for n in range(count)]
    drain(maestro)
    maestro.deploy_paths([SURGERY / "orders_v2.bpmn"])
    maestro.deploy_paths([SURGERY / "orders_v3.bpmn"])
    return maestro, calls, ids


def test_a_waiting_instance_migrates_and_goes_on_with_the_new_versions_steps(tmp_path, recorder):
    maestro, calls, ids = orders_on_version_1(tmp_path, recorder)
    result = maestro.migrate("orders", 1, 2, instance_ids=[ids[0]], by="cy")
    assert result == {"migrated": [ids[0]], "refused": [], "dry_run": False}
    shown = maestro.show(ids[0])
    assert shown["version"] == 2 and shown["status"] == "waiting"
    assert [task["bpmn_id"] for task in shown["waiting"]] == ["approve"]
    [migrated] = notes(shown, "MIGRATED")
    assert migrated["name"] == "migrated from version 1 to 2 by cy" and migrated["actor"] == "cy"
    assert_read_model_agrees(maestro, ids[0])
    for instance_id in ids:
        maestro.complete_task(instance_id, "approve")
        drain(maestro)
    assert calls == ["check", "ship", "ship"]  # the migrated one checks stock (version 2), the other does not
    assert [maestro.show(i)["version"] for i in ids] == [2, 1]
    assert maestro.show(ids[0])["status"] == "completed"
    assert_read_model_agrees(maestro, ids[0])


def test_a_suspended_instance_neither_moves_nor_migrates_until_resumed(tmp_path, recorder):
    maestro, calls, instance_id = failed_at_charge(tmp_path, recorder)
    maestro.suspend(instance_id, by="ada", reason="waiting for the bank")
    with pytest.raises(MoveRefused, match="is suspended: resume it to move a token"):
        maestro.move_token(instance_id, "charge", "pack", "paid by bank transfer instead", by="ada")
    shown = maestro.show(instance_id)
    assert shown["status"] == "failed" and shown["incident"]["bpmn_id"] == "charge" and not notes(shown, "MOVED")

    (tmp_path / "orders").mkdir()
    maestro, calls, ids = orders_on_version_1(tmp_path / "orders", recorder, count=1)
    maestro.suspend(ids[0], by="cy")
    assert maestro.migrate("orders", 1, 2, by="cy")["refused"] == [
        {"id": ids[0], "reasons": ["it is suspended: resume it to migrate it"]}]
    assert maestro.show(ids[0])["version"] == 1
    maestro.resume(ids[0], by="cy")
    assert maestro.migrate("orders", 1, 2, by="cy")["migrated"] == ids
    assert maestro.tasks(None, [], "all")["tasks"][0]["version"] == 2  # the task lists follow the migration


def test_an_instance_whose_waiting_task_was_removed_is_refused_by_name(tmp_path, recorder):
    maestro, calls, ids = orders_on_version_1(tmp_path, recorder)
    result = maestro.migrate("orders", 1, 3)
    assert result["migrated"] == []
    assert result["refused"] == [{"id": i, "reasons": ["Approve order (approve) is not in version 3"]} for i in ids]
    assert all(maestro.show(i)["version"] == 1 for i in ids)


def test_a_dry_run_reports_and_changes_nothing(tmp_path, recorder):
    maestro, calls, ids = orders_on_version_1(tmp_path, recorder)
    before = [maestro.show(i) for i in ids]
    assert maestro.migrate("orders", 1, 2, dry_run=True) == {"migrated": ids, "refused": [], "dry_run": True}
    assert [maestro.show(i) for i in ids] == before
    maestro.complete_task(ids[0], "approve")
    drain(maestro)
    assert calls == ["ship"]


def test_migration_refuses_bad_requests(tmp_path, recorder):
    maestro, calls, ids = orders_on_version_1(tmp_path, recorder)
    with pytest.raises(InstanceError, match="on version 1 already"):
        maestro.migrate("orders", 1, 1)
    with pytest.raises(InstanceError, match="'to' must be a version number"):
        maestro.migrate("orders", 1, "2")
    from engine.durable import NotFound
    with pytest.raises(NotFound, match="has no version 9"):
        maestro.migrate("orders", 1, 9)
    result = maestro.migrate("orders", 2, 1, instance_ids=[ids[0], "nope"])
    assert result["refused"] == [{"id": ids[0], "reasons": ["it runs on version 1 of 'orders', not version 2 of 'orders'"]},
                                 {"id": "nope", "reasons": ["no instance 'nope'"]}]


def test_a_waiting_timer_keeps_its_due_time_across_a_migration_and_fires(tmp_path, recorder):
    handlers, calls = recorder(*TOPICS)
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([SURGERY / "waits_v1.bpmn"])
    instance_id = maestro.start("cooling", {"cool_down": "PT1S"})["id"]
    drain(maestro, patience=0.1)
    assert maestro.show(instance_id)["status"] == "waiting"
    due_before = _due(maestro, instance_id)
    maestro.deploy_paths([SURGERY / "waits_v2.bpmn"])
    assert maestro.migrate("cooling", 1, 2)["migrated"] == [instance_id]
    assert _due(maestro, instance_id) == due_before
    assert [task["bpmn_id"] for task in maestro.show(instance_id)["waiting"]] == ["cool_down"]
    drain(maestro, patience=5)
    assert calls == ["notify", "archive"]
    assert maestro.show(instance_id)["status"] == "completed"
    assert_read_model_agrees(maestro, instance_id)


def test_a_waiting_message_catch_migrates_and_still_takes_its_message(tmp_path, recorder):
    handlers, calls = recorder(*TOPICS)
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([SURGERY / "waits_v1.bpmn"])
    instance_id = maestro.start("payment", business_key="order-9")["id"]
    drain(maestro)
    maestro.deploy_paths([SURGERY / "waits_v2.bpmn"])
    assert maestro.migrate("payment", 1, 2)["migrated"] == [instance_id]
    assert delivered(maestro, "payment_received", "order-9", {"amount": 5})["reached"] == [instance_id]
    drain(maestro)
    shown = maestro.show(instance_id)
    assert shown["status"] == "completed" and shown["data"]["amount"] == 5
    assert calls == ["book", "receipt"]
    assert_read_model_agrees(maestro, instance_id)


def _due(maestro, instance_id):
    from engine.durable.store.models import Job
    with maestro.Session() as session:
        job = session.get(Job, instance_id)
        return job.due_at if job else None



def test_a_token_moves_within_an_embedded_subprocess(tmp_path, recorder, monkeypatch):
    monkeypatch.setenv("MAESTRO_RETRY_BASE_SECONDS", "0.01")
    handlers, calls = recorder(*TOPICS, raise_on={"pick": RuntimeError("no stock")})
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([MOVES])
    instance_id = maestro.start("moves")["id"]
    drain(maestro)
    maestro.move_token(instance_id, "review", "pack", "reviewed by phone")
    drain(maestro)
    assert maestro.show(instance_id)["status"] == "failed" and calls[-1] == "pick"
    moved = maestro.move_token(instance_id, "pick", "seal", "picked by hand")
    assert moved["incident_resolved"] is True
    drain(maestro)
    assert maestro.show(instance_id)["status"] == "completed"
    assert calls == ["prepare", "charge", "pick", "pick", "pick", "seal", "ship"]
    assert_read_model_agrees(maestro, instance_id)


def test_moving_off_the_subprocess_holding_the_failed_task_cancels_both(tmp_path, recorder, monkeypatch):
    monkeypatch.setenv("MAESTRO_RETRY_BASE_SECONDS", "0.01")
    handlers, calls = recorder(*TOPICS, raise_on={"pick": RuntimeError("no stock")})
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([MOVES])
    instance_id = maestro.start("moves")["id"]
    drain(maestro)
    maestro.move_token(instance_id, "review", "pack", "reviewed by phone")
    drain(maestro)
    with pytest.raises(MoveRefused, match="'ship' is in another scope"):
        maestro.move_token(instance_id, "pick", "ship", "skip packing")
    moved = maestro.move_token(instance_id, "pack", "ship", "packed elsewhere")
    assert moved["incident_resolved"] is True and moved["status"] == "running"
    drain(maestro)
    shown = maestro.show(instance_id)
    assert shown["status"] == "completed" and calls[-1] == "ship"
    assert entries(shown, "pack")[-1][0] == "CANCELLED"
    assert_read_model_agrees(maestro, instance_id)


def test_leaving_a_parallel_join_waiting_is_a_warning(tmp_path, recorder):
    handlers, calls = recorder(*TOPICS)
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([SURGERY / "parallel.bpmn"])
    instance_id = maestro.start("parallel")["id"]
    drain(maestro)
    moved = maestro.move_token(instance_id, "bill", "ship", "billed by phone")
    assert moved["warnings"] == ["the parallel join Both done (join) waits for the branch of Approve bill (bill): "
                                 "it may wait forever"]
    with pytest.raises(MoveRefused, match="is a parallel join"):
        maestro.move_token(instance_id, "ship", "join", "wait there")
    drain(maestro)
    assert calls == ["pick", "ship"]
    assert_read_model_agrees(maestro, instance_id)


def test_a_failed_instance_migrates_and_is_retried_on_the_new_version(tmp_path, recorder, monkeypatch):
    monkeypatch.setenv("MAESTRO_RETRY_BASE_SECONDS", "0.01")
    outage = [True]
    handlers, calls = recorder(*TOPICS, raise_on={"ship": lambda ctx, n: RuntimeError("carrier down") if outage
                                                  else None})
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([SURGERY / "orders_v1.bpmn"])
    instance_id = maestro.start("orders")["id"]
    drain(maestro)
    maestro.complete_task(instance_id, "approve")
    drain(maestro)
    assert maestro.show(instance_id)["status"] == "failed"
    maestro.deploy_paths([SURGERY / "orders_v3.bpmn"])
    assert maestro.migrate("orders", 1, 2)["refused"] == [
        {"id": instance_id, "reasons": ["Approve order (approve), which the instance ran, is not in version 2"]}]
    maestro.deploy_paths([SURGERY / "orders_v2.bpmn"])
    assert maestro.migrate("orders", 1, 3)["migrated"] == [instance_id]
    shown = maestro.show(instance_id)
    assert shown["status"] == "failed" and shown["version"] == 3 and shown["incident"]["bpmn_id"] == "ship"
    outage.clear()
    maestro.retry(instance_id)
    drain(maestro)
    assert maestro.show(instance_id)["status"] == "completed"
    assert_read_model_agrees(maestro, instance_id)


def test_an_instance_inside_an_embedded_subprocess_migrates(tmp_path, recorder):
    handlers, calls = recorder(*TOPICS)
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([MOVES])
    instance_id = maestro.start("moves")["id"]
    drain(maestro)
    maestro.move_token(instance_id, "review", "pack", "reviewed by phone")  # runs pick and seal, then ship
    v2 = MOVES.read_text().replace('<bpmn:sequenceFlow id="p2" sourceRef="pick" targetRef="seal"/>',
                                   '<bpmn:sequenceFlow id="p2" sourceRef="pick" targetRef="check"/>'
                                   '<bpmn:serviceTask id="check" name="Check" camunda:type="external" '
                                   'camunda:topic="check"/><bpmn:sequenceFlow id="p2b" sourceRef="check" '
                                   'targetRef="seal"/>')
    maestro.deploy([("moves.bpmn", v2.encode())])
    assert maestro.migrate("moves", 1, 2, dry_run=True)["migrated"] == [instance_id]
    assert maestro.migrate("moves", 1, 2)["migrated"] == [instance_id]
    drain(maestro)
    assert maestro.show(instance_id)["status"] == "completed"
    assert calls == ["prepare", "charge", "pick", "check", "seal", "ship"]
    assert_read_model_agrees(maestro, instance_id)


def test_a_waiting_catch_whose_message_was_renamed_waits_for_the_new_name(tmp_path, recorder):
    handlers, calls = recorder(*TOPICS)
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([SURGERY / "waits_v1.bpmn"])
    instance_id = maestro.start("payment", business_key="order-3")["id"]
    drain(maestro)
    renamed = (SURGERY / "waits_v2.bpmn").read_text().replace('name="payment_received"', 'name="payment_booked"')
    maestro.deploy([("waits.bpmn", renamed.encode())])
    assert maestro.migrate("payment", 1, 2)["migrated"] == [instance_id]
    assert delivered(maestro, "payment_received", "order-3", ttl=0)["reached"] == []
    assert delivered(maestro, "payment_booked", "order-3")["reached"] == [instance_id]
    drain(maestro)
    assert maestro.show(instance_id)["status"] == "completed" and calls == ["book", "receipt"]


def test_a_parallel_join_with_a_branch_arrived_migrates_and_still_joins(tmp_path, recorder):
    handlers, calls = recorder(*TOPICS)
    maestro = fresh_maestro(tmp_path, handlers)
    parallel = (SURGERY / "parallel.bpmn").read_text()
    maestro.deploy([("parallel.bpmn", parallel.encode())])
    instance_id = maestro.start("parallel")["id"]
    drain(maestro)  # "Pick items" ran and waits at the join; "Approve bill" waits for a person
    with_check = parallel.replace('<bpmn:sequenceFlow id="f7" sourceRef="ship" targetRef="end"/>',
                                  '<bpmn:sequenceFlow id="f7" sourceRef="ship" targetRef="check"/>'
                                  '<bpmn:serviceTask id="check" camunda:type="external" camunda:topic="check"/>'
                                  '<bpmn:sequenceFlow id="f8" sourceRef="check" targetRef="end"/>')
    renamed_join = with_check.replace('"join"', '"joined"')
    maestro.deploy([("parallel.bpmn", renamed_join.encode())])
    maestro.deploy([("parallel.bpmn", with_check.encode())])
    assert maestro.migrate("parallel", 1, 2)["refused"] == [
        {"id": instance_id, "reasons": ["Both done (join) is not in version 2"]}]
    assert maestro.migrate("parallel", 1, 3)["migrated"] == [instance_id]
    maestro.complete_task(instance_id, "bill")
    drain(maestro)
    assert maestro.show(instance_id)["status"] == "completed"
    assert calls == ["pick", "ship", "check"]
    assert_read_model_agrees(maestro, instance_id)
