"""Outcomes, failures and undos in a real browser, at a desktop's and a phone's width, and by keyboard.
Screenshots go to artifacts/outcomes/."""
import json
import time
import urllib.request

import pytest
from browser_helpers import browser_fixture, page_for, screenshot
from playwright.sync_api import expect
from serve_helpers import running_serve

SCREENSHOTS = "outcomes"
DESKTOP, PHONE = {"width": 1400, "height": 1000}, {"width": 375, "height": 812}

browser = browser_fixture()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`maestro serve` with the saga deployed, and three of its instances: happy, rolled back, failed."""
    folder = tmp_path_factory.mktemp("serve")
    with running_serve(folder, env={"MAESTRO_RETRY_BASE_SECONDS": "0"}) as serve:
        ids = {name: _start(serve, data, key) for name, data, key in (
            ("happy", {"items": ["book"]}, "order-1"),
            ("rolled_back", {"items": ["book"], "fail_at": "distribution_center"}, "order-2"),
            ("failed", {"items": ["book"], "crash_at": "invoice"}, "order-3"))}
        for instance_id in ids.values():
            _settled(serve, instance_id)
        # A message nobody waits for (kept for its time to live): its page is one of those checked.
        message = _post(serve, "/api/messages", {"name": "order_shipped", "correlation": "order-2"})["id"]
        yield {**serve, "ids": ids, "message": message}


def _start(serve, data, business_key):
    return _post(serve, "/api/definitions/order_fulfillment/instances", {"data": data, "business_key": business_key})["id"]


def _post(serve, path, body):
    request = urllib.request.Request(f"{serve['base']}{path}", method="POST", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", **serve["headers"]})
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def _settled(serve, instance_id, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        request = urllib.request.Request(f"{serve['base']}/api/instances/{instance_id}", headers=serve["headers"])
        with urllib.request.urlopen(request) as response:
            if json.load(response)["status"] in ("completed", "failed"):
                return
        time.sleep(0.2)
    raise AssertionError(f"instance {instance_id} did not settle")


@pytest.fixture(params=[DESKTOP, PHONE], ids=["desktop", "phone"])
def page(request, browser, server):
    with page_for(browser, server["base"], request.param) as page:
        page.width_name = "phone" if request.param is PHONE else "desktop"  # type: ignore[attr-defined]
        yield page


def fits_the_width(page):
    """Nothing but a table's own box scrolls sideways: the page itself is no wider than the window."""
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    wide = page.evaluate("""() => Array.from(document.querySelectorAll('main *, header *'))
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('table.list, .diagram'))
        .slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id)""")
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide in a {widths[1]} px window: {wide}"


def test_the_instances_list_says_how_each_ended_and_where_one_failed(page, server):
    page.goto("/instances")
    rows = page.locator("#instance-list tbody tr")
    expect(rows).to_have_count(3)
    rolled_back = page.locator("tr.outcome-rolled_back")
    expect(rolled_back.locator(".badge")).to_have_text("rolled back")
    expect(rolled_back).to_contain_text("ended at Order cancelled")
    failed = page.locator("tr.outcome-failed")
    expect(failed).to_contain_text("Create invoice")
    expect(failed.locator(".problem")).to_have_attribute("title", "RuntimeError: invoice service unavailable (crash_at)")
    expect(failed.locator(".ago")).to_contain_text("ago")  # relative, the exact time on hover
    fits_the_width(page)
    screenshot(page, SCREENSHOTS, f"instances-{page.width_name}")

    page.select_option("#filters select[name=status]", "rolled_back")
    page.click("#filters button[type=submit]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("order-2")


def test_a_rolled_back_instance_page_colours_the_caught_error_and_numbers_the_undos(page, server):
    page.goto(f"/instances/{server['ids']['rolled_back']}")
    expect(page).to_have_title("Order fulfillment order-2 · Maestro")
    expect(page.locator("#status")).to_have_text("rolled back")
    expect(page.locator("#diagram.ready")).to_be_visible()
    expect(page.locator('#diagram [data-element-id="distribution_center"]')).to_have_class(_has("m-handled"))
    badges = page.locator("#diagram .undo-number")
    expect(badges).to_have_count(2)  # release stock (1), refund payment (2)
    expect(page.locator("#history")).to_contain_text("Undo of Charge payment")
    expect(page.locator("#history tr.state-handled")).to_contain_text("business error (caught)")
    fits_the_width(page)
    screenshot(page, SCREENSHOTS, f"instance-rolled-back-{page.width_name}")
    fitted = page.evaluate("document.querySelector('#diagram .viewport').getAttribute('transform')")
    page.get_by_role("button", name="Zoom in").click()  # usable on a phone, and by keyboard
    expect(page.locator("#diagram .viewport")).not_to_have_attribute("transform", fitted)


def test_a_failed_instance_page_names_where_it_failed(page, server):
    page.goto(f"/instances/{server['ids']['failed']}")
    expect(page.locator("#status")).to_have_text("failed")
    expect(page.locator("#incident h2")).to_contain_text("Incident at Create invoice")
    expect(page.locator('#diagram [data-element-id="invoice"]')).to_have_class(_has("m-failed"))
    fits_the_width(page)
    screenshot(page, SCREENSHOTS, f"instance-failed-{page.width_name}")


@pytest.mark.parametrize("path", ["/processes", "/processes/order_fulfillment", "/events?key=order-2", "message"])
def test_the_other_pages_fit_the_width(page, server, path):
    page.goto(f"/messages/{server['message']}" if path == "message" else path)
    screenshot(page, SCREENSHOTS, f"{path.strip('/').split('?')[0].replace('/', '-')}-{page.width_name}")
    fits_the_width(page)


def test_the_editor_says_it_is_for_a_desktop_on_a_phone(browser, server):
    with page_for(browser, server["base"], PHONE) as phone:
        phone.goto("/processes/order_fulfillment/edit")
        expect(phone.locator("#desktop-only")).to_be_visible()
        screenshot(phone, SCREENSHOTS, "editor-phone")
    with page_for(browser, server["base"], DESKTOP) as desktop:
        desktop.goto("/processes/order_fulfillment/edit")
        expect(desktop.locator("#desktop-only")).to_be_hidden()


def test_tab_reaches_the_filters_the_rows_and_the_buttons_with_visible_focus(browser, server):
    with page_for(browser, server["base"], DESKTOP) as page:
        page.goto("/instances")
        reached = []
        for _ in range(40):
            page.keyboard.press("Tab")
            reached.append(page.evaluate("""() => {
                const e = document.activeElement;
                const style = getComputedStyle(e);
                return {tag: e.tagName, name: e.getAttribute("name"), text: e.textContent.trim().slice(0, 30),
                        href: e.getAttribute("href"), cls: e.className,
                        outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2};
            }"""))
        assert reached[0]["text"] == "Skip to content"
        names = [item["name"] for item in reached]
        assert names.index("key") < names.index("status") < names.index("business_key")
        assert any(item["tag"] == "BUTTON" and item["text"] == "Filter" for item in reached)
        assert any((item["href"] or "").startswith("/instances/") for item in reached)  # the rows' links
        assert all(item["outline"] for item in reached if item["tag"] != "BODY"), \
            [item for item in reached if not item["outline"]]
        assert reached[-1]["tag"] != "BODY" or len({item["href"] for item in reached}) > 5  # no trap
        page.goto("/instances")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")  # the skip link takes focus past the navigation
        assert page.evaluate("document.activeElement.id") == "content"
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        screenshot(page, SCREENSHOTS, "instances-keyboard-focus")


def test_tab_goes_through_an_instance_page_past_its_diagram(browser, server):
    """Retry, Cancel, the diagram's zoom buttons and the history's details are reached in page order, and
    the diagram keeps no focus to itself (no trap)."""
    with page_for(browser, server["base"], DESKTOP) as page:
        page.goto(f"/instances/{server['ids']['failed']}")
        expect(page.locator("#diagram.ready")).to_be_visible()
        reached = []
        for _ in range(60):
            page.keyboard.press("Tab")
            reached.append(page.evaluate("""() => {
                const e = document.activeElement;
                return (e.id || e.getAttribute("aria-label") || e.textContent.trim().slice(0, 20))
                       + (e.closest("#history") ? " (history)" : "");
            }"""))
        order = [reached.index(name) for name in ("retry", "cancel", "Zoom in", "Zoom out", "Fit the diagram")]
        assert order == sorted(order), reached
        assert any(item.endswith("(history)") for item in reached[order[-1]:]), reached


def _has(css_class):
    import re
    return re.compile(rf"(^|\s){re.escape(css_class)}(\s|$)")
