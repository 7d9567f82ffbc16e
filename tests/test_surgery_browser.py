"""Moving a token and migrating instances in a real browser (Playwright, Debian's headless Chromium,
`maestro serve`). The page is signed in as olga (a real account, worker and operator: she starts the
instances and repairs them); the history names her. Screenshots go to artifacts/surgery/."""
import shutil

import pytest
from browser_helpers import browser_fixture, page_for, screenshot
from playwright.sync_api import expect
from serve_helpers import running_serve
from test_repair_browser import add_account
from test_surgery import MOVES, SURGERY

SCREENSHOTS = "surgery"
OPERATOR = ("olga", "password-of-olga-the-operator")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`maestro serve` with the surgery handlers, "moves" and version 1 of "orders" deployed."""
    folder = tmp_path_factory.mktemp("serve")
    processes = folder / "processes"
    shutil.copytree(SURGERY / "handlers", processes)
    for diagram in (MOVES, SURGERY / "orders_v1.bpmn"):
        shutil.copy(diagram, processes)
    with running_serve(folder, processes=processes) as serve:
        add_account(serve, *OPERATOR, ["worker", "operator"])
        yield serve


browser = browser_fixture()


@pytest.fixture
def page(browser, server):
    with page_for(browser, server["base"], {"width": 1400, "height": 1000}, signed_in_as=OPERATOR) as page:
        yield page


def test_move_a_token_off_a_failed_task_from_the_instance_page(page):
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto("/processes/moves")
    page.fill("#business_key", "order-move")
    page.fill("#start-data", '{"card": "down"}')
    page.click("#start-form button[type=submit]")
    expect(page.locator("#status")).to_have_text("failed", timeout=20_000)
    form = page.locator("#move-token")
    expect(form).to_have_attribute("open", "")
    page.select_option("#move-to", "review")
    page.fill("#move-reason", "charged by phone")
    screenshot(page, SCREENSHOTS, "move-token-form")
    page.click("#move-submit")
    expect(page.locator(".flash.success")).to_contain_text(
        "Moved the token from charge to review (the incident is resolved): charged by phone")
    expect(page.locator("#status")).to_have_text("waiting", timeout=20_000)
    expect(page.locator("#task-review")).to_be_visible()
    expect(page.locator("#history")).to_contain_text("moved by olga: charged by phone")
    screenshot(page, SCREENSHOTS, "move-token-done")


def test_check_then_migrate_instances_from_the_process_page(page, server):
    page.on("dialog", lambda dialog: dialog.accept())
    for _ in range(2):
        page.goto("/processes/orders")
        page.click("#start-form button[type=submit]")
        expect(page.locator("#status")).to_have_text("waiting", timeout=20_000)
    deployed = page.request.post("/api/definitions", headers=server["headers"],  # a modeler's part: the admin
                                 multipart={"file": {"name": "orders_v2.bpmn", "mimeType": "application/xml",
                                                     "buffer": (SURGERY / "orders_v2.bpmn").read_bytes()}})
    assert deployed.status == 201, deployed.text()
    page.goto("/processes/orders")
    expect(page.locator("#migrate-from")).to_have_value("1")
    expect(page.locator("#migrate-to")).to_have_value("2")
    page.click("#migrate-check-button")
    result = page.locator("#migration-result")
    expect(result).to_contain_text("2 instance(s) can move from v1 to v2")
    screenshot(page, SCREENSHOTS, "migrate-check")
    page.click("#migrate-button")
    expect(page.locator(".flash.success[role=status]:not([hidden])")).to_contain_text("Migrated 2 instance(s) from version 1 to 2.")
    expect(result).to_contain_text("2 instance(s) migrated from v1 to v2")
    screenshot(page, SCREENSHOTS, "migrate-done")
    page.click("text=all instances")
    page.locator("#instance-list tbody tr td:first-child a").first.click()
    expect(page.locator("h1")).to_contain_text("v2")
    expect(page.locator("#history")).to_contain_text("migrated from version 1 to 2 by olga")
    screenshot(page, SCREENSHOTS, "migrated-instance")
