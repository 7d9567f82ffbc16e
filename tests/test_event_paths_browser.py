"""The event path page in a real browser: `maestro serve` on a loopback port runs a choreography (shop,
payment, receipt) and a compensation across processes (booking undone when charging fails) under one
business key; the page shows them as one graph and timeline, at a desktop's and a phone's width.
Screenshots go to artifacts/event-paths/."""
import json
import shutil
import time
import urllib.request

import pytest
from browser_helpers import browser_fixture, page_for, screenshot
from durable_helpers import DURABLE
from playwright.sync_api import expect
from serve_helpers import running_serve

SCREENSHOTS = "event-paths"
BUSINESS_KEY = "order-7"
HANDLERS = '''"""Handlers of the event path fixtures: every task succeeds, except the card charge of "charging"."""
from engine import BpmnError, Handlers

handlers = Handlers()

for topic in ("place", "ship", "charge", "send_receipt", "reserve", "release"):
    handlers.task(topic)(lambda ctx: {})


@handlers.task("charge_card")
def charge_card(ctx):
    raise BpmnError("DECLINED", "card declined")
'''


def call(serve, method, path, body=None):
    request = urllib.request.Request(f"{serve['base']}{path}", method=method,
                                     data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json", **serve["headers"]})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`maestro serve` over the two fixtures; a shop order and a booking started under one business key,
    run to their ends, and a message published from outside that nobody waits for (buffered)."""
    folder = tmp_path_factory.mktemp("event-paths")
    processes = folder / "processes"
    processes.mkdir()
    for diagram in ("choreography.bpmn", "cross_process_undo.bpmn"):
        shutil.copy(DURABLE / diagram, processes / diagram)
    (processes / "handlers.py").write_text(HANDLERS)
    with running_serve(folder, processes=processes) as serve:
        for key in ("shop", "booking"):
            call(serve, "POST", f"/api/definitions/{key}/instances", {"business_key": BUSINESS_KEY})
        call(serve, "POST", "/api/messages", {"name": "order_cancelled", "correlation": BUSINESS_KEY})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            path = call(serve, "GET", f"/api/event-paths?key={BUSINESS_KEY}")
            if len(path["instances"]) == 5 and {i["status"] for i in path["instances"]} == {"completed"} \
                    and {m["status"] for m in path["messages"]} == {"delivered", "buffered"}:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"the choreography did not finish: {path}")
        yield serve


browser = browser_fixture()


def test_the_event_path_of_a_business_key_shows_every_instance_and_message(browser, server):
    with page_for(browser, server["base"], {"width": 1400, "height": 1000}) as page:
        page.goto("/events")
        page.get_by_label("Business key or correlation value").fill(BUSINESS_KEY)
        page.keyboard.press("Enter")  # the form works from the keyboard

        expect(page.locator("h1")).to_have_text(f"Event path of {BUSINESS_KEY}")
        expect(page.locator("#path-facts")).to_contain_text("5 instances")
        expect(page.locator("#path-facts")).to_contain_text("6 messages")
        expect(page.locator("#path-facts")).to_contain_text("order_cancelled buffered")
        instances = page.locator("#event-instances li")
        expect(instances).to_have_count(5)
        for key in ("shop", "payment", "receipt", "booking", "charging"):
            expect(instances.get_by_role("link", name=key, exact=True)).to_have_count(1)
        messages = page.locator("#event-messages tbody tr")
        expect(messages).to_have_count(6)
        expect(messages.filter(has_text="order_placed")).to_contain_text("payment (started)")
        expect(messages.filter(has_text="payment_failed")).to_contain_text("booking")
        expect(messages.filter(has_text="order_cancelled")).to_contain_text("buffered")

        graph = page.locator("#event-graph")
        expect(graph.locator(".lane")).to_have_count(6)  # five instances and the outside world
        expect(graph.locator(".arrow")).to_have_count(5)  # a delivery each, the buffered message none
        expect(graph.locator(".mark.undo")).to_have_count(1)
        expect(graph.locator(".mark.handled")).to_have_count(1)  # the declined card: a business error, caught
        expect(graph.locator(".mark.failed")).to_have_count(0)
        expect(graph.locator(".mark.buffered")).to_have_count(1)
        box = page.locator(".event-graph")
        assert box.evaluate("element => element.scrollWidth <= element.clientWidth"), \
            "on a wide screen the graph fits its box: nothing to scroll to"

        timeline = page.locator("#event-timeline")
        undo = timeline.locator("tr.undo")
        expect(undo).to_have_count(1)
        expect(undo).to_contain_text("Release room")
        expect(timeline.locator("tr.task-handled")).to_contain_text("card declined")  # a business error, caught
        rows = timeline.locator("tbody tr").all_inner_texts()
        failed_at = next(n for n, row in enumerate(rows) if "payment_failed" in row and "reached it" in row)
        assert failed_at < next(n for n, row in enumerate(rows) if "Release room" in row), \
            "the message that caused the undo comes before it"
        screenshot(page, SCREENSHOTS, "event-path")

        page.locator("#event-messages").get_by_role("link", name="payment_failed").click()
        expect(page.locator("h1")).to_contain_text("Message payment_failed")
        expect(page.locator("#message-status")).to_have_text("delivered")
        expect(page.locator("#message-source")).to_have_text("charging")
        expect(page.locator("#message-deliveries")).to_contain_text("caught at on_payment_failed")
        screenshot(page, SCREENSHOTS, "message")

        page.locator("#message-deliveries").get_by_role("link", name="booking").click()
        section = page.locator("#messages")
        expect(section).to_contain_text("payment_failed")  # continued by
        expect(section).to_contain_text("booking_made")  # sent
        screenshot(page, SCREENSHOTS, "instance-messages")
        section.get_by_role("link", name="this instance's").click()
        expect(page.locator("h1")).to_have_text(f"Event path of booking ({BUSINESS_KEY})")
        expect(page.locator("#event-instances li")).to_have_count(2)


def test_the_event_path_fits_a_phone(browser, server):
    with page_for(browser, server["base"], {"width": 390, "height": 844}) as page:
        page.goto(f"/events?key={BUSINESS_KEY}")
        expect(page.locator("#event-graph")).to_be_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, "the page scrolls sideways: only the graph and the tables should"
        graph = page.locator(".event-graph")
        graph.focus()
        for _ in range(8):
            page.keyboard.press("ArrowRight")  # the graph scrolls from the keyboard
        assert graph.evaluate("element => element.scrollLeft") > 0
        screenshot(page, SCREENSHOTS, "event-path-phone")
