"""The Tasks page in a real browser: a worker's list shows a task that appears after the page loaded
(the page redraws itself from /api/tasks), the worker claims it, opens it and completes it.

The app runs in this process on a loopback port (werkzeug); the worker is a real account (waldorf,
role worker, group audit) who signs in through the sign-in page. Screenshots go to artifacts/tasks/."""
import threading
from pathlib import Path

import pytest
from browser_helpers import browser_fixture, page_for, screenshot
from durable_helpers import drain
from playwright.sync_api import expect
from serve_helpers import free_port
from web_helpers import TEST_PASSWORD, web_app
from werkzeug.serving import make_server

SCREENSHOTS = "tasks"
TASKS = Path(__file__).parent / "fixtures" / "tasks"
browser = browser_fixture()
WALDORF = ("waldorf", TEST_PASSWORD)


@pytest.fixture
def served(tmp_path):
    app, maestro = web_app(tmp_path)
    maestro.people.add("waldorf", ["worker"], ["audit"], password=TEST_PASSWORD)
    maestro.deploy_paths(sorted(TASKS.glob("*.bpmn")))
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"base": f"http://127.0.0.1:{port}", "maestro": maestro}
    server.shutdown()
    thread.join()


def test_a_worker_sees_a_new_task_appear_claims_it_and_completes_it(browser, served):
    maestro = served["maestro"]
    with page_for(browser, served["base"], {"width": 1280, "height": 800}, signed_in_as=WALDORF) as page:
        page.goto("/tasks?view=groups")
        expect(page.locator("#no-tasks")).to_be_visible()
        screenshot(page, SCREENSHOTS, "1-empty-list")

        instance_id = maestro.start("assigned_camunda7", {"extraGroup": "audit", "approver": "fozzie",
                                                          "urgency": 5}, business_key="INV-42")["id"]
        drain(maestro)
        row = page.locator("#task-rows tr", has_text="Review invoice")
        expect(row).to_be_visible(timeout=10_000)  # drawn by the page's own refresh, no reload
        expect(page.locator("#no-tasks")).to_be_hidden()
        expect(row).to_contain_text("INV-42")
        expect(row).to_contain_text("due in 2 d")
        expect(row.locator("td.priority")).to_have_text("80")
        screenshot(page, SCREENSHOTS, "2-task-appeared")

        row.get_by_role("button", name="Claim").click()
        expect(page.locator(".flash.success")).to_have_text("Review invoice is yours now.")
        page.click("#tab-mine")
        mine = page.locator("#task-rows tr", has_text="Review invoice")
        expect(mine).to_contain_text("waldorf")
        expect(mine.get_by_role("button", name="Unclaim")).to_be_visible()
        screenshot(page, SCREENSHOTS, "3-claimed-in-my-tasks")

        mine.get_by_role("link", name="Review invoice").click()
        expect(page.locator("h1")).to_contain_text("Review invoice")
        expect(page.locator("#instance-link")).to_have_attribute("href", f"/instances/{instance_id}")
        expect(page.locator("#variables")).to_contain_text('"approver": "fozzie"')
        page.fill("#task-review-data", '{"approved": true}')
        screenshot(page, SCREENSHOTS, "4-task-page")
        page.click("#complete")
        expect(page.locator(".flash.success")).to_have_text("Review invoice completed.")
        expect(page.locator("#no-tasks")).to_be_visible()  # waldorf's list is empty again
        screenshot(page, SCREENSHOTS, "5-completed")

    task = maestro.tasks(None, [], "all")["tasks"]
    assert [t["name"] for t in task] == ["Approve invoice"]  # the process went on
    shown = maestro.show(instance_id)
    assert shown["data"]["approved"] is True
    assert [(h["state"], h["actor"]) for h in shown["history"] if h["bpmn_id"] == "review"][1:] == \
        [("CLAIMED", "waldorf"), ("COMPLETED", "waldorf")]


def test_the_list_keeps_focus_when_it_redraws(browser, served):
    maestro = served["maestro"]
    maestro.start("assigned_camunda7", {"extraGroup": "audit", "approver": "fozzie", "urgency": 5})
    drain(maestro)
    with page_for(browser, served["base"], {"width": 390, "height": 800}, signed_in_as=WALDORF) as page:  # a phone's width
        page.goto("/tasks?view=groups")
        link = page.locator("#task-rows a.task-link").first
        link.focus()
        maestro.start("assigned_camunda7", {"extraGroup": "audit", "approver": "fozzie", "urgency": 5},
                      business_key="second")
        drain(maestro)
        expect(page.locator("#task-rows tr")).to_have_count(2, timeout=10_000)
        focused = page.evaluate("document.activeElement.className")
        assert focused == "task-link"
        screenshot(page, SCREENSHOTS, "6-phone-two-tasks")
