"""Forms through the web app: .form and .json files deploy by the API and the Processes page, the API
refuses data that does not fit a form with 422 invalid_form and each field's message, and pages draw
Camunda Forms and Spiff Arena forms with form-js, Camunda form fields in HTML with messages by field."""
import io
import json
import re
from pathlib import Path

import pytest
from durable_helpers import drain
from web_helpers import WEB, signed_in, web_app

FORMS = Path(__file__).parent / "fixtures" / "forms"


@pytest.fixture
def web(tmp_path):
    app, maestro = web_app(tmp_path)
    return signed_in(app.test_client()), maestro


def upload(client, *names):
    return client.post("/api/definitions", data={"file": [(open(FORMS / name, "rb"), name) for name in names]})


def csrf_token(client, path):
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_the_api_deploys_form_files_among_the_diagrams(web):
    client, _ = web
    answer = upload(client, "camunda7_review.bpmn", "review.form", "confirm.form")
    assert answer.status_code == 201
    assert answer.json["key"] == "c7_review"
    assert [item.get("form") for item in answer.json["deployed"]] == [None, "review", "confirm"]


def test_the_api_refuses_a_diagram_whose_form_is_missing_and_a_broken_form(web):
    client, maestro = web
    missing = upload(client, "camunda8_linked.bpmn")
    assert missing.status_code == 422 and missing.json["error"] == "invalid_diagram"
    assert missing.json["errors"][0]["element"] == "review" and missing.json["errors"][0]["line"] == 7
    broken = client.post("/api/definitions", data={"file": [(open(FORMS / "camunda8_linked.bpmn", "rb"), "c8.bpmn"),
                                                             (io.BytesIO(b"{nope"), "review.form")]})
    assert broken.status_code == 422
    assert [(error["file"], "not a valid JSON file" in error["message"]) for error in broken.json["errors"]][0] == (
        "review.form", True)
    assert maestro.definitions() == []


def test_completing_a_task_with_data_that_does_not_fit_its_form_is_422_by_field(web):
    client, maestro = web
    upload(client, "camunda7_review.bpmn", "review.form", "confirm.form")
    instance_id = client.post("/api/definitions/c7_review/instances", json={}).json["id"]
    drain(maestro)
    task = client.get(f"/api/instances/{instance_id}").json["waiting"][0]["id"]
    refused = client.post(f"/api/instances/{instance_id}/tasks/{task}/complete",
                          json={"data": {"customer": "", "amount": 5000, "email": "nope"}})
    assert refused.status_code == 422
    assert refused.json["error"] == "invalid_form" and "3 field(s)" in refused.json["message"]
    assert refused.json["errors"] == [{"field": "customer", "message": "Customer is required"},
                                      {"field": "email", "message": "Email must be an email address"},
                                      {"field": "amount", "message": "Amount must be at most 1000"}]
    assert client.get(f"/api/instances/{instance_id}").json["waiting"][0]["id"] == task  # nothing was written
    done = client.post(f"/api/instances/{instance_id}/tasks/{task}/complete",
                       json={"data": {"customer": "ACME", "amount": "7", "approved": True}})
    assert done.status_code == 200
    drain(maestro)
    assert client.get(f"/api/instances/{instance_id}").json["data"] == {"customer": "ACME", "amount": 7,
                                                                         "approved": True}


def test_a_start_through_the_api_is_checked_against_the_json_schema(web):
    client, maestro = web
    upload(client, "spiff_intake.bpmn", "intake-schema.json", "intake-uischema.json")
    refused = client.post("/api/definitions/spiff_intake/instances", json={"data": {"employees": "many"}})
    assert refused.status_code == 422 and refused.json["error"] == "invalid_form"
    assert {error["field"] for error in refused.json["errors"]} == {"name", "email", "employees"}
    assert maestro.instances() == []
    started = client.post("/api/definitions/spiff_intake/instances",
                          json={"data": {"name": "ACME", "email": "a@acme.io", "employees": 3}, "business_key": "c-1"})
    assert started.status_code == 201


def test_the_process_page_draws_a_json_schema_start_form_with_form_js(web):
    client, _ = web
    upload(client, "spiff_intake.bpmn", "intake-schema.json", "intake-uischema.json")
    page = client.get("/processes/spiff_intake").get_data(as_text=True)
    assert 'class="formjs-form"' in page and 'data-submit="/api/definitions/spiff_intake/instances"' in page
    assert 'data-done="/instances/__ID__"' in page and "dist/forms.js" in page
    assert "is drawn by JavaScript: turn it on" in page
    schema = re.search(r'<script type="application/json" class="formjs-schema">(.*?)</script>', page, re.S).group(1)
    assert json.loads(schema)["components"][1]["key"] == "name"
    assert 'id="start-form"' not in page  # not the JSON editor


def test_the_instance_page_draws_a_camunda_form_with_the_variables(web):
    client, maestro = web
    upload(client, "camunda8_embedded.bpmn")
    instance_id = maestro.start("c8_embedded", {"score": 4})["id"]
    drain(maestro)
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert 'id="task-approve-formjs"' in page and "/api/instances/" in page and "dist/forms.js" in page
    data = re.search(r'<script type="application/json" class="formjs-data">(.*?)</script>', page, re.S).group(1)
    assert json.loads(data) == {"score": 4}


def test_a_refused_task_form_shows_each_message_beside_its_field_and_keeps_what_was_typed(web):
    client, maestro = web
    maestro.deploy_paths([WEB / "approval.bpmn"])
    instance_id = maestro.start("order_approval", {"customer": "ACME"})["id"]
    drain(maestro)
    task = maestro.show(instance_id)["waiting"][0]["id"]
    token = csrf_token(client, f"/instances/{instance_id}")
    refused = client.post(f"/instances/{instance_id}/tasks/{task}/complete",
                          data={"csrf_token": token, "approved": "on", "reason": ""})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert re.search(r'id="task-approve-reason"[^>]*aria-invalid="true"', page, re.S)
    assert '<p class="field-error" id="task-approve-reason-error" role="alert">Reason is required</p>' in page
    assert re.search(r'id="task-approve-approved"[^>]*\bchecked', page, re.S)  # kept
    assert maestro.show(instance_id)["waiting"][0]["id"] == task


def test_the_processes_page_uploads_forms_with_diagrams(web):
    client, maestro = web
    token = csrf_token(client, "/processes")
    answer = client.post("/processes", data={"csrf_token": token, "files": [
        (open(FORMS / name, "rb"), name) for name in ("camunda7_review.bpmn", "review.form", "confirm.form")]},
        follow_redirects=True)
    assert answer.status_code == 200
    assert "Deployed the form review version 1." in answer.get_data(as_text=True)
    assert [item["key"] for item in maestro.definitions()] == ["c7_review"]
