"""Forms in a real browser: a Camunda Form task and a Spiff Arena JSON-schema start form drawn by
form-js, checked in place before anything is sent, then completed through the API with typed values.
Screenshots go to artifacts/forms/."""
import json
import shutil
import urllib.request
from pathlib import Path

import pytest
from browser_helpers import browser_fixture, page_fixture, require_built, screenshot
from playwright.sync_api import expect
from serve_helpers import running_serve
from web_helpers import ROOT

FORMS = Path(__file__).parent / "fixtures" / "forms"
SHOTS = "forms"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`maestro serve` over a processes folder holding the form fixtures (diagrams, .form and .json files)."""
    require_built(ROOT / "webapp" / "static" / "dist" / "forms.js")
    folder = tmp_path_factory.mktemp("forms")
    shutil.copytree(FORMS, folder / "processes")
    with running_serve(folder, processes=folder / "processes") as serve:
        yield serve


browser = browser_fixture()
page = page_fixture({"width": 1300, "height": 1000})


def variables(server, instance_id):
    request = urllib.request.Request(f"{server['base']}/api/instances/{instance_id}", headers=server["headers"])
    with urllib.request.urlopen(request) as answer:
        return json.load(answer)


def wait_for_task(page, server, instance_id, element):
    for _ in range(50):
        if any(task["bpmn_id"] == element for task in variables(server, instance_id)["waiting"]):
            page.reload()
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"{element} never waited")


def test_a_camunda_form_task_is_checked_in_place_then_completes_with_typed_values(page, server):
    page.goto("/processes/c7_review")
    page.click("#start-form button[type=submit]")
    instance_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    wait_for_task(page, server, instance_id, "review")
    task = page.locator("#task-review-formjs")
    expect(task.get_by_label("Customer")).to_be_visible()
    task.locator(".formjs-submit").click()  # empty: form-js says what is missing, nothing is sent
    expect(task.locator(".fjs-form-field-error").first).to_be_visible()
    expect(task.locator(".formjs-alert")).to_have_text("Some fields need attention.")
    screenshot(page, SHOTS, "camunda-form-required")
    assert variables(server, instance_id)["waiting"][0]["bpmn_id"] == "review"

    task.get_by_label("Customer").fill("ACME")
    task.get_by_label("Amount").fill("250")
    task.get_by_label("Order code").fill("ABC-42")
    task.get_by_label("Approved").check()
    screenshot(page, SHOTS, "camunda-form-filled")
    task.locator(".formjs-submit").click()
    expect(page.locator("#task-confirm-formjs")).to_be_visible()  # followed to the instance: the next task's form
    data = variables(server, instance_id)["data"]
    assert {key: data[key] for key in ("customer", "amount", "code", "approved")} == {
        "customer": "ACME", "amount": 250, "code": "ABC-42", "approved": True}


def test_a_refusal_from_the_server_is_shown_beside_its_field(page, server):
    page.goto("/processes/c8_embedded")
    page.click("#start-form button[type=submit]")
    instance_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    wait_for_task(page, server, instance_id, "approve")
    # What the server says when it refuses what the browser let through (it checks on its own).
    page.route("**/complete", lambda route: route.fulfill(status=422, content_type="application/json", body=json.dumps(
        {"error": "invalid_form", "message": "1 field(s) do not fit the form: Score must be at most 10",
         "errors": [{"field": "score", "message": "Score must be at most 10"}]})))
    task = page.locator("#task-approve-formjs")
    task.get_by_label("Yes").check()
    task.locator(".formjs-submit").click()
    expect(task.locator(".fjs-form-field-error", has_text="Score must be at most 10")).to_be_visible()
    expect(task.locator(".formjs-alert")).to_contain_text("do not fit the form")
    screenshot(page, SHOTS, "server-refusal")


def test_a_spiff_json_schema_start_form_is_checked_in_place_then_starts_with_typed_values(page, server):
    page.goto("/processes/spiff_intake")
    form = page.locator("#start-formjs")
    expect(form.locator(".fjs-form-field").first).to_be_visible()
    form.locator(".formjs-submit").click()
    expect(form.get_by_text("Field is required.").first).to_be_visible()
    screenshot(page, SHOTS, "json-schema-required")
    assert "/processes/spiff_intake" in page.url

    form.get_by_label("Company name").fill("ACME")
    form.get_by_label("Contact email").fill("ops@acme.io")
    form.get_by_label("Number of employees").fill("40")
    form.get_by_label("VIP customer").check()
    form.get_by_label("Europe").check()
    form.get_by_label("City").fill("Oslo")
    form.locator(".formjs-business-key").fill("acme-1")
    screenshot(page, SHOTS, "json-schema-filled")
    form.locator(".formjs-submit").click()
    page.wait_for_url("**/instances/*")
    instance_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    shown = variables(server, instance_id)
    assert shown["business_key"] == "acme-1"
    assert {key: shown["data"].get(key) for key in ("name", "email", "employees", "vip", "region", "address")} == {
        "name": "ACME", "email": "ops@acme.io", "employees": 40, "vip": True, "region": "eu",
        "address": {"city": "Oslo"}}
    screenshot(page, SHOTS, "json-schema-started")


def test_camunda_form_fields_refused_by_the_server_say_why_beside_each_field(page, server):
    page.goto("/processes/c7_fields")
    expect(page.locator("#start-quantity")).to_have_attribute("max", "10")  # the browser checks limits too
    # A browser that checks nothing (or a forged request): the server refuses on its own.
    page.evaluate("""() => document.querySelectorAll('#start-form input').forEach((input) => {
        ['required', 'min', 'max', 'minlength'].forEach((name) => input.removeAttribute(name)); })""")
    page.fill("#start-name", "")
    page.fill("#start-quantity", "50")
    page.click("#start-form button[type=submit]")
    expect(page.locator("#start-name-error")).to_have_text("Name is required")
    expect(page.locator("#start-quantity-error")).to_have_text("Quantity must be at most 10")
    expect(page.locator("#start-quantity")).to_have_value("50")  # what was typed is kept
    screenshot(page, SHOTS, "camunda-fields-refused")
    page.fill("#start-name", "ACME")
    page.fill("#start-quantity", "3")
    page.click("#start-form button[type=submit]")
    page.wait_for_url("**/instances/*")
    instance_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    assert variables(server, instance_id)["data"] == {"name": "ACME", "quantity": 3}
