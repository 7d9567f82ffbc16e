"""The cockpit in a real browser: Playwright drives Debian's headless Chromium against
`maestro serve` on a loopback port. Screenshots of the main pages go to artifacts/screenshots/."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from serve_helpers import free_port, wait_until_it_answers
from web_helpers import ROOT, SAGA, WEB, processes_folder

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
# Chromium as root, offline: what this machine's closed network needs (no background connections).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`maestro serve` with the handler modules of the saga and the web fixtures, no diagram deployed."""
    folder = tmp_path_factory.mktemp("serve")
    handlers_only = processes_folder(folder)
    for diagram in handlers_only.rglob("*.bpmn"):  # the tests upload them
        diagram.unlink()
    port, partner_down = free_port(), folder / "partner-down"
    env = {**os.environ, "MAESTRO_DATABASE_URL": f"sqlite:///{folder / 'maestro.db'}",
           "MAESTRO_TEST_PARTNER_DOWN": str(partner_down), "MAESTRO_RETRY_BASE_SECONDS": "0"}
    log = open(folder / "serve.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "engine.cli", "serve", "--processes", str(handlers_only),
                                "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    wait_until_it_answers(base, process, folder / "serve.log")
    yield {"base": base, "partner_down": partner_down}
    process.terminate()
    process.wait(timeout=15)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; .ci/run does)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(base_url=server["base"], viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def upload(page, *paths):
    page.goto("/processes")
    page.set_input_files("#files", [str(path) for path in paths])
    page.click("#upload button[type=submit]")


def element(page, element_id):
    return page.locator(f'#diagram [data-element-id="{element_id}"]')


def test_a_file_dropped_on_the_page_that_has_problems_is_refused_per_element_and_line(page):
    page.goto("/processes")
    groovy = ('<?xml version="1.0"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
              'id="d" targetNamespace="t">\n<bpmn:process id="scripted" isExecutable="true">\n'
              '<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="calc"/>\n'
              '<bpmn:scriptTask id="calc" scriptFormat="groovy"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>\n'
              '</bpmn:process>\n</bpmn:definitions>')
    # What a drop from the desktop delivers: a DataTransfer holding the file.
    page.evaluate("""(text) => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([text], "scripted.bpmn", {type: "application/xml"}));
        document.getElementById("dropzone").dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true}));
    }""", groovy)
    problems = page.locator("#problems")
    expect(problems).to_contain_text("Nothing was deployed")
    expect(problems).to_contain_text("scripted.bpmn")
    expect(problems.locator("td", has_text="calc")).to_be_visible()
    expect(problems.locator("tbody tr").first.locator("td").nth(1)).to_have_text("5")
    expect(problems).to_contain_text("groovy")
    screenshot(page, "upload-refused")


def test_upload_the_saga_start_it_failing_and_see_it_roll_back_on_the_diagram(page):
    upload(page, SAGA)
    expect(page.locator(".flash.success")).to_contain_text("Deployed order_fulfillment version 1")
    expect(page.locator("#process-list")).to_contain_text("Order fulfillment")
    screenshot(page, "processes")

    page.click("text=Order fulfillment")
    expect(page.locator("#diagram.ready")).to_be_visible()
    page.fill("#start-data", json.dumps({"items": ["book"], "fail_at": "shipping"}))
    page.fill("#business_key", "order-42")
    screenshot(page, "process")
    page.click("#start-form button[type=submit]")

    expect(page.locator("#status")).to_have_text("completed", timeout=20_000)  # the page follows the instance
    expect(page.locator("#diagram.ready")).to_be_visible()
    for undone in ("payment", "stock", "distribution_center", "invoice"):
        expect(element(page, undone)).to_have_class(_has("m-compensated"))
    for undo in ("refund_payment", "release_stock", "release_distribution_center", "cancel_invoice"):
        expect(element(page, undo)).to_have_class(_has("m-compensation"))
    expect(element(page, "shipping")).to_have_class(_has("m-failed"))
    expect(page.locator("#history")).to_contain_text("Refund payment")
    expect(page.locator("#variables")).to_contain_text('"undone"')
    screenshot(page, "instance-rolled-back")


def test_start_from_a_form_and_complete_a_user_task(page):
    upload(page, WEB / "approval.bpmn")
    page.goto("/processes/order_approval")
    page.click("#start-form button[type=submit]")  # the required customer is missing: the browser says so
    expect(page).to_have_url(_ends("/processes/order_approval"))
    page.fill("#start-customer", "ACME")
    page.fill("#start-amount", "120")
    page.click("#start-form button[type=submit]")

    expect(page.locator("#status")).to_have_text("waiting", timeout=20_000)
    expect(element(page, "approve")).to_have_class(_has("m-waiting"))
    expect(page.locator("#variables")).to_contain_text('"amount": 120')
    screenshot(page, "instance-waiting-for-a-user")
    page.check("#task-approve-approved")
    page.fill("#task-approve-reason", "known customer")
    page.click("#task-approve button[type=submit]")

    expect(page.locator("#status")).to_have_text("completed", timeout=20_000)
    expect(element(page, "ship")).to_have_class(_has("m-completed"))
    expect(element(page, "reject")).not_to_have_class(_has("m-completed"))


def test_an_incident_is_shown_and_retried(page, server):
    server["partner_down"].touch()
    upload(page, WEB / "flaky.bpmn")
    page.goto("/processes/partner_call")
    page.click("#start-form button[type=submit]")

    expect(page.locator("#status")).to_have_text("failed", timeout=20_000)
    expect(page.locator("#incident")).to_contain_text("partner unreachable")
    expect(element(page, "call_partner")).to_have_class(_has("m-failed"))
    screenshot(page, "instance-incident")

    server["partner_down"].unlink()
    page.click("#retry")
    expect(page.locator(".flash.success")).to_contain_text("Retry scheduled")
    expect(page.locator("#status")).to_have_text("completed", timeout=20_000)
    expect(element(page, "record")).to_have_class(_has("m-completed"))


def test_instances_list_filters_and_pages(page):
    page.goto("/instances")
    expect(page.locator("#instance-list tbody tr")).not_to_have_count(0)
    page.select_option("#filters select[name=status]", "completed")
    page.click("#filters button[type=submit]")
    expect(page.locator("#instance-list")).to_contain_text("completed")
    expect(page.locator("#instance-list")).not_to_contain_text("failed")
    screenshot(page, "instances")


def _has(css_class):
    import re
    return re.compile(rf"(^|\s){re.escape(css_class)}(\s|$)")


def _ends(suffix):
    import re
    return re.compile(re.escape(suffix) + "$")
