"""The HTML pages through Flask's test client: CSRF, form handling, what colours the diagram."""
import re

import pytest
from durable_helpers import drain
from web_helpers import SAGA, WEB, signed_in, web_app

from webapp.progress import element_states


@pytest.fixture
def web(tmp_path):
    app, maestro = web_app(tmp_path)
    maestro.deploy_paths([SAGA, WEB / "approval.bpmn"])
    return signed_in(app.test_client()), maestro


def csrf_token(client, path):
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_forms_without_their_csrf_token_are_refused(web):
    client, maestro = web
    refused = client.post("/processes/order_fulfillment/start", data={"data": "{}"})
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    assert maestro.instances() == []


def test_start_form_fields_are_typed_and_required_ones_enforced(web):
    client, maestro = web
    token = csrf_token(client, "/processes/order_approval")
    missing = client.post("/processes/order_approval/start", data={"csrf_token": token, "amount": "5"})
    assert missing.status_code == 400 and "Customer is required" in missing.get_data(as_text=True)
    not_a_number = client.post("/processes/order_approval/start",
                               data={"csrf_token": token, "customer": "ACME", "amount": "five"})
    assert not_a_number.status_code == 400 and "Amount must be a whole number" in not_a_number.get_data(as_text=True)
    started = client.post("/processes/order_approval/start",
                          data={"csrf_token": token, "customer": "ACME", "amount": "5", "business_key": "b-1"})
    assert started.status_code == 302
    (instance,) = maestro.instances()
    assert maestro.show(instance["id"])["data"] == {"customer": "ACME", "amount": 5}
    assert instance["business_key"] == "b-1"


def test_the_json_editor_says_what_is_wrong_with_the_json(web):
    client, maestro = web
    token = csrf_token(client, "/processes/order_fulfillment")
    bad = client.post("/processes/order_fulfillment/start", data={"csrf_token": token, "data": '{"a": }'})
    assert bad.status_code == 400 and "not valid JSON" in bad.get_data(as_text=True)
    assert maestro.instances() == []


def test_pages_render_for_every_status(web, monkeypatch):
    monkeypatch.setenv("MAESTRO_RETRY_BASE_SECONDS", "0")
    client, maestro = web
    ids = [maestro.start("order_fulfillment", data)["id"] for data in ({}, {"fail_at": "stock"}, {"crash_at": "invoice"})]
    ids.append(maestro.start("order_approval", {"customer": "ACME"})["id"])
    drain(maestro)
    for path in ["/processes", "/processes/order_fulfillment", "/processes/order_fulfillment?version=1",
                 "/instances", "/instances?status=failed", *(f"/instances/{i}" for i in ids)]:
        page = client.get(path)
        assert page.status_code == 200, path
    failed = client.get(f"/instances/{ids[2]}").get_data(as_text=True)
    assert 'id="incident"' in failed and 'id="retry"' in failed
    waiting = client.get(f"/instances/{ids[3]}").get_data(as_text=True)
    assert 'id="task-approve"' in waiting and 'name="reason"' in waiting
    assert client.get("/instances/nope").status_code == 404


def test_elements_that_ran_several_times_are_counted():
    def task(task_id, state, **extra):
        return {"id": task_id, "bpmn_id": extra.pop("bpmn_id", "loop"), "state": state, "type": "serviceTask",
                "compensated": False, "undo_of": None, "error": None, "form": None, **extra}

    shown = {"tasks": [task("1", "COMPLETED"), task("2", "COMPLETED"), task("3", "READY"),
                       task("4", "CANCELLED", bpmn_id="never"), task("5", "FUTURE", bpmn_id="later")],
             "history": [{"task_id": t, "state": s} for t, s in (("1", "COMPLETED"), ("2", "COMPLETED"), ("3", "READY"))]}
    assert element_states(shown) == {"loop": {"state": "active", "count": 3}}
