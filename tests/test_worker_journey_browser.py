"""A worker's day in a real browser on a real `maestro serve`: she signs in on the sign-in page, finds a
task offered to her group on the Tasks page, claims it, and completes its Camunda Form (form-js), which
first says in place what is missing. The history names her; an instance of another group's work stays
out of her lists. Screenshots go to artifacts/people/."""
import json
import shutil
import urllib.request
from pathlib import Path

import pytest
from browser_helpers import browser_fixture, page_for, screenshot, sign_in
from playwright.sync_api import expect
from serve_helpers import running_serve

SCREENSHOTS = "people"
PEOPLE = Path(__file__).parent / "fixtures" / "people"
WORKER_PASSWORD = "wanda-likes-long-passwords"
browser = browser_fixture()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("people")
    processes = folder / "processes"
    shutil.copytree(PEOPLE, processes)
    with running_serve(folder, processes=processes) as served:
        call(served, "POST", "/api/people", {"name": "wanda", "roles": ["worker"], "groups": ["finance"],
                                             "password": WORKER_PASSWORD})
        yield served


def call(server, method, path, body=None):
    """The JSON answer of an API call made with the first admin's token."""
    request = urllib.request.Request(f"{server['base']}{path}", method=method, headers={
        **server["headers"], "Content-Type": "application/json"}, data=json.dumps(body).encode() if body else None)
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def test_a_worker_signs_in_claims_a_form_task_of_her_group_and_completes_it(browser, server):
    started = call(server, "POST", "/api/definitions/expense_claim/instances", {"business_key": "EXP-7"})
    with page_for(browser, server["base"], {"width": 1280, "height": 860}, signed_in_as=None) as page:
        page.goto("/tasks")
        expect(page).to_have_url(f"{server['base']}/sign-in?next=/tasks")  # nobody signed in yet
        sign_in(page, server["base"], "wanda", WORKER_PASSWORD)
        expect(page.locator("#signed-in")).to_contain_text("wanda")

        page.goto("/tasks?view=groups")
        row = page.locator("#task-rows tr", has_text="Check the claim")
        expect(row).to_be_visible(timeout=15_000)  # the worker runs the start; the list redraws itself
        expect(row).to_contain_text("EXP-7")
        expect(row).to_contain_text("due in 24 h")
        screenshot(page, SCREENSHOTS, "1-offered-to-my-group")
        row.get_by_role("button", name="Claim").click()
        expect(page.locator(".flash.success")).to_have_text("Check the claim is yours now.")

        page.click("#tab-mine")
        page.locator("#task-rows tr", has_text="Check the claim").get_by_role("link", name="Check the claim").click()
        form = page.locator(".formjs-form")
        expect(form.locator(".fjs-form-field").first).to_be_visible()
        form.locator(".formjs-submit").click()  # empty: form-js says what is missing in place, sends nothing
        expect(form.locator(".fjs-form-field-error").first).to_be_visible()
        expect(form.locator(".formjs-alert")).to_have_text("Some fields need attention.")
        screenshot(page, SCREENSHOTS, "2-required-fields-said-in-place")

        form.get_by_label("Note for the claimant").fill("Paid in full")
        form.get_by_label("Amount approved").fill("120")
        form.get_by_label("Receipt checked").check()
        form.locator(".formjs-submit").click()
        expect(page).to_have_url(f"{server['base']}/tasks")
        expect(page.locator("#no-tasks")).to_be_visible()
        screenshot(page, SCREENSHOTS, "3-done-and-my-list-is-empty")

    shown = call(server, "GET", f"/api/instances/{started['id']}")
    assert shown["status"] == "completed"
    assert {name: shown["data"][name] for name in ("note", "approved_amount", "receipt_ok")} == \
        {"note": "Paid in full", "approved_amount": 120, "receipt_ok": True}
    assert [(entry["state"], entry["actor"]) for entry in shown["history"] if entry["bpmn_id"] == "check_claim"][1:] \
        == [("CLAIMED", "wanda"), ("COMPLETED", "wanda")]


def test_a_worker_of_another_group_is_not_offered_the_task(browser, server):
    call(server, "POST", "/api/people", {"name": "otto", "roles": ["worker"], "groups": ["warehouse"],
                                         "password": WORKER_PASSWORD})
    call(server, "POST", "/api/definitions/expense_claim/instances", {"business_key": "EXP-8"})
    with page_for(browser, server["base"], {"width": 390, "height": 800}, signed_in_as=("otto", WORKER_PASSWORD)) \
            as page:
        page.goto("/tasks?view=groups")
        expect(page.locator("#no-tasks")).to_be_visible()
        expect(page.locator("#tab-all")).to_have_count(0)  # "All" is for operators
        screenshot(page, SCREENSHOTS, "4-phone-other-group-sees-nothing")
