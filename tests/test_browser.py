"""The cockpit in a real browser: Playwright drives Debian's headless Chromium against
`maestro serve` on a loopback port. Screenshots of the main pages go to artifacts/screenshots/."""
import json

import pytest
from browser_helpers import browser_fixture, handlers_only, page_fixture, screenshot, upload
from playwright.sync_api import expect
from serve_helpers import running_serve
from web_helpers import SAGA, WEB

SCREENSHOTS = "screenshots"  # artifacts/screenshots/


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`maestro serve` with the handler modules of the saga and the web fixtures, no diagram deployed."""
    folder = tmp_path_factory.mktemp("serve")
    partner_down = folder / "partner-down"
    env = {"MAESTRO_TEST_PARTNER_DOWN": str(partner_down), "MAESTRO_RETRY_BASE_SECONDS": "0"}
    with running_serve(folder, env=env, processes=handlers_only(folder)) as serve:  # the tests upload the diagrams
        yield {**serve, "partner_down": partner_down}


browser = browser_fixture()
page = page_fixture({"width": 1400, "height": 1000})


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
    screenshot(page, SCREENSHOTS, "upload-refused")


def test_upload_the_saga_start_it_failing_and_see_it_roll_back_on_the_diagram(page):
    upload(page, SAGA)
    expect(page.locator(".flash.success")).to_contain_text("Deployed order_fulfillment version 1")
    expect(page.locator("#process-list")).to_contain_text("Order fulfillment")
    screenshot(page, SCREENSHOTS, "processes")

    page.click("text=Order fulfillment")
    expect(page.locator("#diagram.ready")).to_be_visible()
    page.fill("#start-data", json.dumps({"items": ["book"], "fail_at": "shipping"}))
    page.fill("#business_key", "order-42")
    screenshot(page, SCREENSHOTS, "process")
    page.click("#start-form button[type=submit]")

    # The page follows the instance: it completed, after its undo tasks ran (its outcome).
    expect(page.locator("#status")).to_have_text("rolled back", timeout=20_000)
    expect(page.locator("#diagram.ready")).to_be_visible()
    for undone in ("payment", "stock", "distribution_center", "invoice"):
        expect(element(page, undone)).to_have_class(_has("m-compensated"))
    for undo in ("refund_payment", "release_stock", "release_distribution_center", "cancel_invoice"):
        expect(element(page, undo)).to_have_class(_has("m-compensation"))
    expect(element(page, "shipping")).to_have_class(_has("m-handled"))  # a business error, caught
    expect(page.locator("#history")).to_contain_text("Refund payment")
    expect(page.locator("#variables")).to_contain_text('"undone"')
    screenshot(page, SCREENSHOTS, "instance-rolled-back")


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
    screenshot(page, SCREENSHOTS, "instance-waiting-for-a-user")
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
    screenshot(page, SCREENSHOTS, "instance-incident")

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
    screenshot(page, SCREENSHOTS, "instances")


def _has(css_class):
    import re
    return re.compile(rf"(^|\s){re.escape(css_class)}(\s|$)")


def _ends(suffix):
    import re
    return re.compile(re.escape(suffix) + "$")
