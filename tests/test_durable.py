"""The durable engine on SQLite: versions, workers, retries, incidents, user tasks, timers."""
import time
from datetime import datetime, timedelta, timezone

import pytest
from conftest import FIXTURES
from durable_helpers import DURABLE, drain, fresh_maestro

from engine.durable import NotFound
from engine.run.instance import InstanceError

APPROVAL = DURABLE / "approval.bpmn"


def states(shown, bpmn_id):
    return [entry["state"] for entry in shown["history"] if entry["bpmn_id"] == bpmn_id]


def test_identical_redeploy_makes_no_new_version_and_a_change_does(tmp_path, recorder):
    maestro = fresh_maestro(tmp_path)
    first = maestro.deploy_paths([APPROVAL])
    again = maestro.deploy_paths([APPROVAL])
    changed = APPROVAL.read_text().replace('name="Approve order"', 'name="Approve the order"')
    second = maestro.deploy([("approval.bpmn", changed.encode())])
    assert [(d["version"], d["new"]) for d in first + again + second] == [(1, True), (1, False), (2, True)]
    assert [v["version"] for v in maestro.definition_versions("approval")] == [1, 2]
    assert maestro.definitions()[0]["version"] == 2


def test_deploying_a_broken_file_deploys_nothing(tmp_path):
    maestro = fresh_maestro(tmp_path)
    broken = (FIXTURES / "invalid_compensation_no_handler.bpmn").read_bytes()
    with pytest.raises(Exception) as raised:
        maestro.deploy([("good.bpmn", APPROVAL.read_bytes()), ("broken.bpmn", broken)])
    assert "no associated compensation activity" in str(raised.value)
    assert maestro.definitions() == []


def test_an_instance_started_on_version_1_runs_on_version_1(tmp_path, recorder):
    handlers, calls = recorder("ship", "reject", "ship_v2")
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([APPROVAL])
    old = maestro.start("approval")["id"]
    drain(maestro)
    v2 = APPROVAL.read_text().replace('<bpmn:serviceTask id="ship"/>', '<bpmn:serviceTask id="ship_v2"/>') \
        .replace('targetRef="ship"', 'targetRef="ship_v2"').replace('sourceRef="ship"', 'sourceRef="ship_v2"')
    assert maestro.deploy([("approval.bpmn", v2.encode())])[0]["version"] == 2
    new = maestro.start("approval")["id"]
    drain(maestro)
    for instance_id in (old, new):
        maestro.complete_task(instance_id, "approve", {"approved": True, "reason": "ok"})
    drain(maestro)
    assert calls == ["ship", "ship_v2"]
    assert maestro.show(old)["version"] == 1 and maestro.show(new)["version"] == 2


def test_worker_runs_the_saga_and_records_the_undo_tasks_in_the_history(tmp_path):
    from engine import load_handler_module
    saga = FIXTURES.parent.parent / "bpmn" / "order_fulfillment"
    maestro = fresh_maestro(tmp_path, load_handler_module(saga / "handlers.py"))
    maestro.deploy_paths([saga / "order_fulfillment.bpmn"])
    started = maestro.start("order_fulfillment", {"fail_at": "invoice"}, business_key="order-7")
    assert started["status"] == "running"
    drain(maestro)
    shown = maestro.show(started["id"])
    assert shown["status"] == "completed" and shown["business_key"] == "order-7"
    assert shown["data"]["undone"] == ["release_distribution_center", "release_stock", "refund_payment"]
    undo_rows = [e for e in shown["history"] if e["undo_of"] and e["state"] == "COMPLETED"]
    assert [e["bpmn_id"] for e in undo_rows] == ["release_distribution_center", "release_stock", "refund_payment"]
    assert all(e["actor"].startswith("worker@") for e in undo_rows)
    payment = [e for e in shown["history"] if e["bpmn_id"] == "payment" and e["state"] == "COMPLETED"][0]
    assert payment["data_out"]["payment_id"].startswith("pay-") and "steps" in payment["data_in"]
    assert [i["id"] for i in maestro.instances(status="completed")] == [started["id"]]


def test_a_flaky_task_is_retried_and_succeeds(tmp_path, recorder, monkeypatch):
    monkeypatch.setenv("MAESTRO_RETRY_BASE_SECONDS", "0.05")
    handlers, calls = recorder("flaky_call", "steady", raise_on={"flaky_call": RuntimeError("timeout")})
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([DURABLE / "flaky.bpmn"])
    # R2/PT0S: two tries. The recorder raises on every call, so both fail: an incident.
    instance_id = maestro.start("flaky")["id"]
    drain(maestro)
    shown = maestro.show(instance_id)
    assert shown["status"] == "failed"
    assert calls == ["flaky_call", "flaky_call"]
    assert shown["incident"]["bpmn_id"] == "flaky_call" and "timeout" in shown["incident"]["message"]
    assert "Traceback" in shown["incident"]["traceback"]
    assert states(shown, "flaky_call").count("ERROR") == 2


def test_default_policy_tries_three_times_with_backoff_then_retry_resumes(tmp_path, recorder, monkeypatch):
    monkeypatch.setenv("MAESTRO_RETRY_BASE_SECONDS", "0.2")
    outage = [True]
    handlers, calls = recorder("flaky_call", "steady",
                               raise_on={"steady": lambda ctx, n: RuntimeError("down") if outage else None})
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([DURABLE / "flaky.bpmn"])
    instance_id = maestro.start("flaky")["id"]
    began = time.monotonic()
    drain(maestro)
    elapsed = time.monotonic() - began
    assert calls == ["flaky_call", "steady", "steady", "steady"]
    assert elapsed >= 0.2 + 0.4  # backoff 0.2 s, then 0.4 s
    shown = maestro.show(instance_id)
    assert shown["status"] == "failed" and shown["incident"]["bpmn_id"] == "steady"

    outage.clear()  # the service is back
    maestro.retry(instance_id)
    drain(maestro)
    shown = maestro.show(instance_id)
    assert shown["status"] == "completed" and shown["incident"] is None
    assert calls == ["flaky_call", "steady", "steady", "steady", "steady"]  # flaky_call is not run again
    with pytest.raises(InstanceError):
        maestro.retry(instance_id)


def test_a_business_error_is_not_retried(tmp_path, recorder):
    from engine import BpmnError
    handlers, calls = recorder("flaky_call", "steady", raise_on={"flaky_call": BpmnError("NOPE", "no")})
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([DURABLE / "flaky.bpmn"])
    instance_id = maestro.start("flaky")["id"]
    drain(maestro)
    assert calls == ["flaky_call"]
    assert maestro.show(instance_id)["status"] == "failed"


def test_user_task_waits_in_the_database_with_its_form(tmp_path, recorder):
    handlers, calls = recorder("ship", "reject")
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([APPROVAL])
    instance_id = maestro.start("approval")["id"]
    drain(maestro)
    shown = maestro.show(instance_id)
    assert shown["status"] == "waiting"
    waiting, = shown["waiting"]
    assert waiting["bpmn_id"] == "approve"
    fields = {f["id"]: f for f in waiting["form"]["fields"]}
    assert fields["approved"]["type"] == "boolean" and fields["approved"]["default"] == "false"
    assert fields["reason"]["required"] is True and fields["reason"]["label"] == "Reason"

    # Another process (a fresh Maestro on the same file) completes it: the state is in the database.
    other = fresh_maestro(tmp_path, handlers)
    other.complete_task(instance_id, "approve", {"approved": False, "reason": "too expensive"})
    drain(other)
    shown = other.show(instance_id)
    assert shown["status"] == "completed" and calls == ["reject"]
    assert shown["data"]["reason"] == "too expensive"
    assert any(e["bpmn_id"] == "approve" and e["actor"].startswith("user@") for e in shown["history"])
    with pytest.raises(InstanceError):
        other.complete_task(instance_id, "approve", {})


def test_cancel_stops_an_instance(tmp_path, recorder):
    handlers, _ = recorder("ship", "reject")
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([APPROVAL])
    instance_id = maestro.start("approval")["id"]
    drain(maestro)
    maestro.cancel(instance_id)
    assert maestro.show(instance_id)["status"] == "cancelled"
    assert maestro.next_due() is None
    with pytest.raises(NotFound):
        maestro.show("no-such-instance")


def test_intermediate_timer_is_woken_at_its_stored_due_time(tmp_path, recorder):
    handlers, calls = recorder("A", "B")
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([DURABLE / "timer_intermediate.bpmn"])
    instance_id = maestro.start("timer_intermediate")["id"]
    assert maestro.work_once()
    shown = maestro.show(instance_id)
    assert shown["status"] == "waiting" and calls == ["A"]
    due = maestro.next_due()
    assert timedelta(seconds=0.5) < due - datetime.now(timezone.utc) <= timedelta(seconds=1.1)
    assert not maestro.work_once()  # not due yet: nothing to do
    drain(maestro)
    assert calls == ["A", "B"] and maestro.show(instance_id)["status"] == "completed"


def test_timer_dates_in_the_past_fire_and_in_the_future_wait(tmp_path, recorder):
    handlers, calls = recorder("B")
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([DURABLE / "timer_date.bpmn"])
    past = maestro.start("timer_date", {"when": "2020-01-01T00:00:00+00:00"})["id"]
    future = maestro.start("timer_date", {"when": "2999-01-01T00:00:00+00:00"})["id"]
    drain(maestro, patience=1)
    assert maestro.show(past)["status"] == "completed"
    assert maestro.show(future)["status"] == "waiting"
    assert maestro.next_due().year == 2999


def test_a_timer_boundary_on_a_slow_step_rolls_the_saga_back(tmp_path, recorder):
    handlers, calls = recorder("A", "B", "undoA", "undoB", "remind")
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([DURABLE / "timer_boundary_saga.bpmn"])
    instance_id = maestro.start("timer_boundary_saga")["id"]
    drain(maestro)
    shown = maestro.show(instance_id)
    # The non-interrupting reminder fired after 1 s while Confirm still waited; the
    # interrupting timer after 2 s cancelled Confirm and compensated B then A.
    assert calls == ["A", "B", "remind", "undoB", "undoA"]
    assert shown["status"] == "completed"
    assert states(shown, "confirm")[-1] == "CANCELLED"
    assert states(shown, "timed_out")[-1] == "COMPLETED"


def test_timer_start_event_and_cycle_timer(tmp_path, recorder):
    handlers, calls = recorder("opened", "remind")
    maestro = fresh_maestro(tmp_path, handlers)
    began = time.monotonic()
    instance_id = maestro.deploy_paths([DURABLE / "timer_start_cycle.bpmn"])[0]["started"]  # by its start timer
    assert maestro.work_once() and calls == []  # the start event waits for its timer
    assert maestro.show(instance_id)["status"] == "waiting"
    drain(maestro, patience=6)
    assert calls == ["opened", "remind", "remind"]
    assert time.monotonic() - began >= 3.0  # 1 s to start, then two reminders 1 s apart
    shown = maestro.show(instance_id)
    assert shown["status"] == "waiting" and [t["bpmn_id"] for t in shown["waiting"]] == ["review"]
    assert maestro.next_due() is None  # the cycle is spent: nothing more to wake


def test_an_unreadable_instance_becomes_an_incident_and_the_worker_goes_on(tmp_path, recorder):
    from sqlalchemy import update as sql_update

    from engine.durable.store.models import Instance as InstanceRow
    handlers, calls = recorder("ship", "reject")
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([APPROVAL])
    broken, healthy = maestro.start("approval")["id"], maestro.start("approval")["id"]
    with maestro.engine.begin() as connection:  # a damaged row (say, edited by hand)
        connection.execute(sql_update(InstanceRow.__table__).where(InstanceRow.id == broken).values(state="{oops"))
    drain(maestro)
    assert maestro.show(healthy)["status"] == "waiting"
    with maestro.Session() as session:
        from engine.durable.store.models import Incident
        incident = session.query(Incident).filter_by(instance_id=broken).one()
    assert incident.error_type == "JSONDecodeError" and "Traceback" in incident.traceback


def test_user_actions_do_not_interleave_with_a_worker_or_each_other(tmp_path, recorder):
    from engine.durable import Busy
    from engine.durable.store import jobs
    handlers, calls = recorder("ship", "reject")
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([APPROVAL])
    instance_id = maestro.start("approval")["id"]
    drain(maestro)
    # A second Maestro (another process) holds the instance, as a worker or a user action would.
    other = fresh_maestro(tmp_path, handlers, actor="elsewhere")
    with other.Session() as session:
        assert jobs.take_for_user(session, instance_id, "elsewhere", 30)
        session.commit()
    with pytest.raises(Busy):
        maestro.complete_task(instance_id, "approve", {"approved": True, "reason": "x"})
    with pytest.raises(Busy):
        maestro.cancel(instance_id)
    assert maestro.show(instance_id)["status"] == "waiting" and calls == []


def test_deploying_a_process_with_a_timer_start_event_starts_it(tmp_path, recorder):
    handlers, calls = recorder("report")
    maestro = fresh_maestro(tmp_path, handlers)
    nightly = DURABLE / "nightly_report.bpmn"
    first, = maestro.deploy_paths([nightly])
    assert first["started"] and maestro.show(first["started"])["started_by"] == "timer"
    assert maestro.deploy_paths([nightly])[0].get("started") is None  # unchanged: nothing new

    # A new version before the first fired: its timer replaces the old one.
    changed = nightly.read_text().replace("<bpmn:serviceTask id=\"report\"/>",
                                          "<bpmn:serviceTask id=\"report\" name=\"Report\"/>")
    second, = maestro.deploy([("nightly_report.bpmn", changed.encode())])
    assert second["version"] == 2
    assert maestro.show(first["started"])["status"] == "cancelled"
    drain(maestro)
    assert calls == ["report"]
    shown = maestro.show(second["started"])
    assert shown["status"] == "completed" and shown["version"] == 2


def test_a_call_activity_calls_a_process_deployed_earlier_from_another_file(tmp_path, recorder):
    handlers, calls = recorder("charge", "confirm")
    maestro = fresh_maestro(tmp_path, handlers)
    with pytest.raises(Exception) as raised:  # the called process is not deployed yet
        maestro.deploy_paths([FIXTURES / "dialect_call_main.bpmn"])
    assert "shared_billing" in str(raised.value)
    maestro.deploy_paths([FIXTURES / "dialect_call_billing.bpmn"])
    maestro.deploy_paths([FIXTURES / "dialect_call_main.bpmn"])
    instance_id = maestro.start("shop_order")["id"]
    drain(maestro)
    assert calls == ["charge", "confirm"]
    assert maestro.show(instance_id)["status"] == "completed"


def test_the_durable_engine_is_part_of_the_public_api(tmp_path):
    import engine.durable.maestro
    from engine import Maestro
    assert Maestro is engine.durable.Maestro
    assert Maestro(f"sqlite:///{tmp_path / 'maestro.db'}").definitions() == []
