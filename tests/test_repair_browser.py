"""Repairing instances in a real browser (Playwright, headless Chromium, `maestro serve`): fix the
variables of a failed instance and retry it, batch-retry 20 incidents from the incidents view,
suspend and resume. The page is signed in as olga, an operator (a real account); what only sets the
scene (starting instances) is done through the API with the first admin's token.
Screenshots go to artifacts/repair/."""
import json
import shutil
import time
import urllib.request

import pytest
from browser_helpers import browser_fixture, page_for, screenshot
from playwright.sync_api import expect
from serve_helpers import running_serve
from test_repair import REPAIR

SCREENSHOTS = "repair"
OPERATOR = ("olga", "password-of-olga-the-operator")


def add_account(serve, name, password, roles):
    """Adds an account to the running server through POST /api/people (as its first admin)."""
    request = urllib.request.Request(f"{serve['base']}/api/people", method="POST",
                                     data=json.dumps({"name": name, "roles": roles, "password": password}).encode(),
                                     headers={**serve["headers"], "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 201


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`maestro serve` with the charge process and its handlers; the gateway is up until a test takes it down."""
    folder = tmp_path_factory.mktemp("repair")
    processes = folder / "processes"
    shutil.copytree(REPAIR, processes)
    gateway_down = folder / "gateway-down"
    env = {"MAESTRO_TEST_GATEWAY_DOWN": str(gateway_down), "MAESTRO_RETRY_BASE_SECONDS": "0"}
    with running_serve(folder, env=env, processes=processes) as serve:
        add_account(serve, *OPERATOR, ["operator"])
        yield {**serve, "gateway_down": gateway_down}


browser = browser_fixture()


@pytest.fixture
def page(browser, server):
    with page_for(browser, server["base"], {"width": 1400, "height": 1000}, signed_in_as=OPERATOR) as page:
        yield page


def start(page, server, data, business_key=None):
    """Starts a charge instance through the API as the first admin (an operator does not start processes)."""
    answer = page.request.post("/api/definitions/charge/instances", headers=server["headers"],
                               data={"data": data, "business_key": business_key})
    assert answer.status == 201, answer.text()
    return answer.json()["id"]


def wait_for(page, instance_id, status, seconds=20):
    deadline = time.monotonic() + seconds
    while True:
        shown = page.request.get(f"/api/instances/{instance_id}").json()
        if shown["status"] == status:
            return shown
        assert time.monotonic() < deadline, f"{instance_id} is {shown['status']}, not {status}"
        time.sleep(0.1)


def test_fix_the_variables_of_a_failed_instance_and_retry_it(page, server):
    instance_id = start(page, server, {"amount": 0, "customer": "ACME"})
    wait_for(page, instance_id, "failed")
    page.goto(f"/instances/{instance_id}")
    expect(page.locator("#incident")).to_contain_text("amount must be above 0, not 0")
    page.click("#edit-variables summary")
    editor = page.locator("#variables-text")
    expect(editor).to_have_value('{\n  "amount": 0,\n  "customer": "ACME"\n}')

    editor.fill('{\n  "amount": 25,\n  "customer": "ACME",\n}')  # a trailing comma: the live check says where
    expect(page.locator("#variables-check")).to_contain_text("Not valid JSON at line 4, column 1")
    screenshot(page, SCREENSHOTS, "edit-variables-live-check")
    page.click("#retry-with-variables")  # the server says so too, and keeps the text
    expect(page.locator("#variables-check")).to_contain_text("not valid JSON at line 4, column 1")
    expect(page.locator("#variables-text")).to_have_value('{\n  "amount": 25,\n  "customer": "ACME",\n}')
    screenshot(page, SCREENSHOTS, "edit-variables-refused")

    page.locator("#variables-text").fill('{\n  "amount": 25,\n  "customer": "ACME"\n}')
    expect(page.locator("#variables-check")).to_have_text("Valid JSON.")
    page.click("#retry-with-variables")
    expect(page.locator(".flash.success")).to_contain_text("Variables changed; retry scheduled.")
    shown = wait_for(page, instance_id, "completed")
    assert shown["data"] == {"amount": 25, "customer": "ACME", "charged": 25, "recorded": 25}
    page.goto(f"/instances/{instance_id}")
    expect(page.locator("#history")).to_contain_text("Variables changed")
    expect(page.locator("#history tr", has_text="Variables changed")).to_contain_text("changed: amount")
    screenshot(page, SCREENSHOTS, "retried-with-edited-variables")


def test_batch_retry_twenty_incidents_from_the_incidents_view(page, server):
    server["gateway_down"].touch()
    ids = [start(page, server, {"amount": 10 + n}, f"order-{n}") for n in range(20)]
    for instance_id in ids:
        wait_for(page, instance_id, "failed")
    suspended = page.request.post(f"/api/instances/{ids[0]}/suspend", headers=server["headers"],
                                  data={"reason": "customer asked to wait"})
    assert suspended.status == 200, suspended.text()

    page.goto("/incidents")
    expect(page.locator("#nav-incidents .count")).to_have_text("20")
    row = page.locator("#incident-groups tbody tr", has_text="payment gateway unreachable")
    expect(row.locator("td.count")).to_have_text("20")
    expect(row).to_contain_text("Charge the card")
    screenshot(page, SCREENSHOTS, "incidents")

    row.locator("text=show instances").click()
    expect(page.locator("#instance-list tbody tr")).to_have_count(20)
    expect(page.locator("#batch-retry")).to_have_text("Retry 20 matching")
    screenshot(page, SCREENSHOTS, "instances-filtered")

    server["gateway_down"].unlink()  # the outage is over
    page.goto("/incidents")
    page.locator("#incident-groups tbody tr", has_text="payment gateway unreachable").locator(
        "text=Retry all 20").click()
    expect(page.locator("#confirm")).to_contain_text("Retry 20 instances")
    expect(page.locator("#criteria")).to_contain_text("charge_card")
    screenshot(page, SCREENSHOTS, "batch-confirm")
    page.click("#confirm-batch")
    expect(page.locator("#result")).to_contain_text("Retry: 19 done, 1 refused.")
    expect(page.locator("#refused")).to_contain_text("is suspended: resume it to retry it")
    screenshot(page, SCREENSHOTS, "batch-result")
    for instance_id in ids[1:]:
        wait_for(page, instance_id, "completed")
    assert page.request.get(f"/api/instances/{ids[0]}").json()["status"] == "failed"


def test_suspend_and_resume_an_instance(page, server):
    server["gateway_down"].touch()
    instance_id = start(page, server, {"amount": 3})
    wait_for(page, instance_id, "failed")
    server["gateway_down"].unlink()
    page.goto(f"/instances/{instance_id}")
    page.fill("#suspend-reason", "waiting for the bank's answer")
    page.click("#suspend")
    expect(page.locator(".flash.success")).to_contain_text("Instance suspended")
    expect(page.locator("#suspended")).to_have_text("suspended")
    expect(page.locator("#suspension")).to_contain_text("by olga: “waiting for the bank's answer”")
    expect(page.locator("#edit-variables")).to_have_count(0)
    expect(page.locator("#retry")).to_have_count(0)  # refused while suspended: not offered
    screenshot(page, SCREENSHOTS, "suspended")

    page.goto("/instances?suspended=true")
    expect(page.locator("#instance-list")).to_contain_text(instance_id[:8])
    expect(page.locator("#instance-list .badge.suspended").first).to_be_visible()
    screenshot(page, SCREENSHOTS, "instances-suspended")

    page.goto(f"/instances/{instance_id}")
    page.click("#resume")
    expect(page.locator(".flash.success")).to_contain_text("Instance resumed.")
    expect(page.locator("#suspended")).to_have_count(0)
    page.click("#retry")
    wait_for(page, instance_id, "completed")
    page.goto(f"/instances/{instance_id}")
    expect(page.locator("#history tr", has_text="Suspended")).to_contain_text("“waiting for the bank's answer”")
    expect(page.locator("#history")).to_contain_text("Resumed")
    screenshot(page, SCREENSHOTS, "resumed")
