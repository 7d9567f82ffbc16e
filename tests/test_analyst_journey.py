"""The analyst's whole loop in one browser run (issue 13, item 7): Playwright drives Debian's Chromium
against a real `maestro serve` whose processes folder holds handlers only. The analyst draws a new
process from the palette, binds handlers from the catalog, fixes the conditions the server's check
asks for, tries the process (once as it runs, once with a BPMN error to watch the compensation),
saves a draft, deploys, starts and follows an instance, deploys a second version and sees what
changed, and finds it still the newest after the server restarts with version 1 in its processes
folder. A screenshot of each step goes to artifacts/journey/."""
import re
import shutil
from pathlib import Path

import pytest
from browser_helpers import browser_fixture, page_for, require_built, screenshot
from playwright.sync_api import expect
from serve_helpers import running_serve
from web_helpers import ROOT

SCREENSHOTS = "journey"  # artifacts/journey/
VIEWPORT = {"width": 1500, "height": 1100}
FIXTURES = Path(__file__).parent / "fixtures"
BUNDLE = ROOT / "webapp" / "static" / "dist" / "editor.js"
READY = 20_000  # ms: the editor loads a large bundle and asks the server for its handlers


@pytest.fixture
def folder(tmp_path):
    """A processes folder with the handlers the analyst binds (book_room with its undo, charge_card) and
    no diagram: the process is drawn in the browser."""
    require_built(BUNDLE)
    processes = tmp_path / "processes"
    shutil.copytree(FIXTURES / "editor", processes / "booking")
    shutil.copytree(FIXTURES / "journey", processes / "payment")
    return tmp_path


browser = browser_fixture(scope="function")


class Analyst:
    """A browser page on one server, with the gestures an analyst makes in the editor."""

    def __init__(self, page):
        self.page = page

    def screenshot(self, name):
        screenshot(self.page, SCREENSHOTS, name)

    def shape(self, label):
        """The shape on the canvas whose label is exactly `label`."""
        return self.page.locator("#canvas .djs-shape").filter(has=self.page.locator(
            "text.djs-label", has_text=re.compile(f"^{re.escape(label)}$")))

    def element_id(self, locator):
        return locator.get_attribute("data-element-id")

    def drop_from_palette(self, action, x, y):
        self.page.locator(f'.djs-palette [data-action="{action}"]').hover()
        self.page.mouse.down()
        self.page.mouse.move(x - 60, y + 60, steps=5)
        self.page.mouse.move(x, y, steps=5)
        self.page.mouse.up()

    def context_pad(self, element_id, action):
        """Selects the element and clicks its context pad entry `action` (e.g. "append.gateway")."""
        self.select(element_id)
        self.page.locator(f'.djs-context-pad [data-action="{action}"]').click()

    def replace(self, element_id, entry):
        self.context_pad(element_id, "replace")
        self.page.locator(f'.djs-popup [data-id="{entry}"]').click()

    def select(self, element_id):
        """Clicks the middle of a shape, as a mouse does (the label in it belongs to the shape)."""
        shape = self.page.locator(f'#canvas .djs-shape[data-element-id="{element_id}"]')
        if "selected" in shape.get_attribute("class").split():
            return  # a click on a selected shape edits its label
        x, y, width, height = box(shape.locator(".djs-visual"))
        self.page.mouse.click(x + width / 2, y + height / 2)
        expect(shape).to_have_class(re.compile(r"\bselected\b"))

    def new_ids(self, before, prefix):
        matching = f'[data-element-id^="{prefix}"]' if prefix else "[data-element-id]"
        now = self.page.locator(f"#canvas .djs-element{matching}").evaluate_all(
            "nodes => nodes.map(node => node.dataset.elementId)")
        return list(dict.fromkeys(each for each in now if each not in before and not each.endswith("_label")))

    def ids(self, prefix=""):
        return self.new_ids([], prefix)

    def bind(self, topic):
        self.page.locator(f'li.handler[data-topic="{topic}"] button.choose').click()

    def open_properties(self, group):
        """Opens a group of the properties panel ("general", "CamundaPlatform__Condition", ...) if it is closed."""
        found = self.page.locator(f'#properties [data-group-id="group-{group}"]')
        if not found.locator(".bio-properties-panel-group-entries.open").count():
            found.locator(".bio-properties-panel-group-header").click()

    def rename(self, element_id, name):
        self.select(element_id)
        expect(self.page.locator("#bio-properties-panel-id")).to_have_value(element_id)
        self.open_properties("general")
        self.page.fill("#bio-properties-panel-name", name)

    def edit_condition(self, flow_id, condition):
        self.page.locator(f'#problem-list li.problem[data-element="{flow_id}"]').first.click()
        # The panel shows the flow once its id is in it (it re-renders after the selection).
        expect(self.page.locator("#bio-properties-panel-id")).to_have_value(flow_id)
        self.open_properties("CamundaPlatform__Condition")
        self.page.select_option("#bio-properties-panel-conditionType", "expression")
        self.page.fill("#bio-properties-panel-conditionExpression", condition)

    def try_it(self):
        self.page.click("#try-run")
        expect(self.page.locator("#try-status")).to_be_visible(timeout=10_000)


def box(locator):
    found = locator.bounding_box()
    return found["x"], found["y"], found["width"], found["height"]


def touches(connection, shape, slack=6):
    """Whether a connection's drawn path ends on a shape (their boxes meet)."""
    cx, cy, cw, ch = box(connection)
    sx, sy, sw, sh = box(shape)
    return cx <= sx + sw + slack and sx <= cx + cw + slack and cy <= sy + sh + slack and sy <= cy + ch + slack


def test_an_analyst_draws_checks_tries_deploys_runs_and_versions_a_process(browser, folder):
    processes = folder / "processes"
    with running_serve(folder, processes=processes) as server, page_for(browser, server["base"], VIEWPORT) as page:
        analyst = Analyst(page)
        try:
            ids = draw_bind_and_check(analyst)
            try_it_twice(analyst, ids)
            deploy_start_and_follow(analyst)
            deploy_a_second_version(analyst, ids)
            version_1 = analyst.page.request.get("/api/definitions/trip_booking/xml?version=1").body()
        except Exception:
            analyst.screenshot("failed-here")
            raise

    # The folder now holds version 1 as a file (as if it had been committed to bpmn/ before the analyst
    # edited it): a restart must not deploy it again over version 2.
    (processes / "trip_booking.bpmn").write_bytes(version_1)
    with running_serve(folder, processes=processes) as restarted, page_for(browser, restarted["base"], VIEWPORT) as page:
        page.goto("/processes/trip_booking")
        expect(page.locator("#versions")).to_contain_text("v2")
        expect(page.locator("#diagram.ready")).to_be_visible(timeout=READY)
        expect(page.locator("#diagram")).to_contain_text("Charge deposit")
        newest = next(each for each in page.request.get("/api/definitions").json() if each["key"] == "trip_booking")
        assert newest["version"] == 2
        versions = page.request.get("/api/definitions/trip_booking").json()["versions"]
        assert sorted(each["version"] for each in versions) == [1, 2]
        screenshot(page, SCREENSHOTS, "13-after-restart-v2-is-newest")


def draw_bind_and_check(analyst):
    page = analyst.page
    page.goto("/processes")
    page.select_option("#template", "blank")
    page.click("#new-process button[type=submit]")
    expect(page.locator("#editor.ready")).to_be_visible(timeout=READY)
    expect(page.locator('li.handler[data-topic="charge_card"]')).to_contain_text("Charges the trip")
    analyst.screenshot("01-new-process")

    # start -> service task -> end: a task dropped from the palette on the flow splits it.
    flow = page.locator('#canvas [data-element-id="to_end"]')
    x, y, width, height = box(flow)
    analyst.drop_from_palette("create.task", x + width / 2, y + height / 2)
    (booking,) = analyst.ids("Activity_")
    analyst.replace(booking, "replace-with-service-task")
    booking_shape = page.locator(f'#canvas .djs-shape[data-element-id="{booking}"]')
    expect(booking_shape).to_have_class(re.compile(r"\bproblem-error\b"), timeout=10_000)
    analyst.bind("book_room")
    expect(booking_shape).to_contain_text("Book room")
    expect(booking_shape).not_to_have_class(re.compile(r"\bproblem-error\b"), timeout=10_000)
    page.locator('li.handler[data-topic="book_room"] button.add-undo').click()
    expect(page.locator("#canvas")).to_contain_text("Undo Book room")
    analyst.screenshot("02-service-task-bound-with-its-undo")

    # An exclusive gateway dropped on the flow after the booking, and a second way out of it.
    end = page.locator('#canvas .djs-shape[data-element-id="end"]')
    after_booking = next(page.locator(f'#canvas .djs-connection[data-element-id="{each}"]')
                         for each in analyst.ids("Flow_") if touches(
                             page.locator(f'#canvas .djs-connection[data-element-id="{each}"]'), end))
    x, y, width, height = box(after_booking)
    before = analyst.ids()
    analyst.drop_from_palette("create.exclusive-gateway", x + width / 2, y + height / 2)
    (gateway,) = analyst.new_ids(before, "Gateway_")
    before = analyst.ids()
    analyst.context_pad(gateway, "append.append-task")
    (charge,) = analyst.new_ids(before, "Activity_")
    analyst.replace(charge, "replace-with-service-task")
    analyst.bind("charge_card")
    charge_shape = page.locator(f'#canvas .djs-shape[data-element-id="{charge}"]')
    expect(charge_shape).to_contain_text("Charge card")
    analyst.context_pad(charge, "append.end-event")

    # Neither flow out of the gateway has a condition: the server's check marks one, the analyst
    # opens it from the list, writes its condition in the properties panel, and the other is marked.
    flows = [each for each in analyst.ids("Flow_") if touches(
        page.locator(f'#canvas .djs-connection[data-element-id="{each}"]'),
        page.locator(f'#canvas .djs-shape[data-element-id="{gateway}"]'), slack=2)]
    to_charge = next(each for each in flows if touches(
        page.locator(f'#canvas .djs-connection[data-element-id="{each}"]'), charge_shape, slack=2))
    problems = page.locator("#problem-list li.problem.error")
    fixed = []
    for _ in flows[1:]:
        expect(problems).to_have_count(1, timeout=10_000)
        expect(problems).to_contain_text("this flow leaves a gateway without a condition")
        flow_id = problems.get_attribute("data-element")
        assert flow_id in flows and flow_id not in fixed, (flow_id, flows, fixed)
        flow = page.locator(f'#canvas .djs-connection[data-element-id="{flow_id}"]')
        expect(flow).to_have_class(re.compile(r"\bproblem-error\b"))
        if not fixed:
            analyst.screenshot("03-gateway-flow-without-a-condition")
        analyst.edit_condition(flow_id, "${nights > 2}" if flow_id == to_charge else "${nights <= 2}")
        expect(flow).not_to_have_class(re.compile(r"\bproblem-error\b"), timeout=10_000)
        fixed.append(flow_id)
    assert sorted(fixed) == sorted(flows[1:]) and len(flows) == 3  # the flow in, and the two out
    expect(problems).to_have_count(0, timeout=10_000)
    expect(page.locator("#problem-list li.problem.warning").first).to_contain_text("the condition reads 'nights'")
    analyst.screenshot("04-conditions-written")

    # The payment's failure should undo the booking: an error boundary leading to a compensation end.
    x, y, width, height = box(charge_shape)
    before = analyst.ids()
    analyst.drop_from_palette("create.intermediate-event", x + width / 2, y + height)
    (boundary,) = analyst.new_ids(before, "Event_")
    analyst.replace(boundary, "replace-with-error-boundary")
    before = analyst.ids()
    analyst.context_pad(boundary, "append.end-event")
    (compensation_end,) = analyst.new_ids(before, "Event_")
    analyst.replace(compensation_end, "replace-with-compensation-end")
    expect(page.locator("#problem-list li.problem.error")).to_have_count(0, timeout=10_000)
    page.fill("#process-id", "trip_booking")
    page.press("#process-id", "Enter")
    page.keyboard.press("Escape")
    x, y, width, height = box(page.locator("#canvas"))
    page.mouse.click(x + width - 40, y + height - 80)  # the empty canvas: the process itself
    expect(page.locator("#bio-properties-panel-id")).to_have_value("trip_booking")
    analyst.open_properties("general")
    page.fill("#bio-properties-panel-name", "Trip booking")
    analyst.screenshot("05-compensation-drawn")
    return {"booking": booking, "gateway": gateway, "charge": charge, "to_charge": to_charge}


def try_it_twice(analyst, ids):
    page = analyst.page
    page.click("#try-toggle")
    expect(page.locator("#try")).to_be_visible()
    expect(page.locator(f'#try-tasks li[data-element="{ids["charge"]}"]')).to_contain_text("Charge card")

    # Variables are checked before anything is sent.
    page.fill("#try-variables", '{"nights": 3')
    page.click("#try-run")
    expect(page.locator("#try-variables-error")).to_contain_text("The variables are not JSON")
    page.fill("#try-variables", '{"nights": 3}')
    analyst.try_it()
    expect(page.locator("#try-status")).to_have_text("completed")
    steps = page.locator("#try-steps li.try-step")
    expect(steps.filter(has_text="Book room")).to_have_count(1)
    expect(steps.filter(has_text="Charge card")).to_have_count(1)
    expect(steps.filter(has_text="undo")).to_have_count(0)
    for element in (ids["booking"], ids["gateway"], ids["charge"]):
        expect(page.locator(f'#canvas .djs-element[data-element-id="{element}"]')).to_have_class(
            re.compile(r"\bm-completed\b"))
    expect(page.locator("#try-final-variables")).to_contain_text('"charged": 270')
    expect(page.locator("#try-final-variables")).to_contain_text('"room": "booked"')
    steps.filter(has_text="Charge card").click()
    expect(page.locator(f'#canvas .djs-shape[data-element-id="{ids["charge"]}"]')).to_have_class(
        re.compile(r"\bselected\b"))
    expect(page.locator("#properties")).to_contain_text("Charge card")
    analyst.screenshot("06-try-path")

    # Again, with the payment throwing a BPMN error: the booking is undone, and the undo numbered.
    page.select_option(f'#try-choice-{ids["charge"]}', "error:*")
    page.fill(f'#try-tasks li[data-element="{ids["charge"]}"] input.try-code', "CARD_DECLINED")
    analyst.try_it()
    expect(page.locator("#try-status")).to_have_text("completed")
    expect(page.locator(f'#canvas .djs-element[data-element-id="{ids["charge"]}"]')).to_have_class(
        re.compile(r"\bm-handled\b"))  # a BPMN error the diagram caught: not a crash
    expect(page.locator(f'#canvas .djs-element[data-element-id="{ids["booking"]}"]')).to_have_class(
        re.compile(r"\bm-compensated\b"))
    expect(page.locator(".djs-overlay .undo-order")).to_have_text(["undo 1"])
    undo_step = steps.filter(has_text="Undo Book room")
    expect(undo_step).to_contain_text("undo 1")
    expect(undo_step).to_contain_text("undoes Book room")
    expect(steps.filter(has_text="Charge card")).to_contain_text("CARD_DECLINED")
    expect(page.locator("#try-final-variables")).to_contain_text('"room": "cancelled"')
    analyst.screenshot("07-try-with-a-bpmn-error-compensates")

    # A change to the diagram clears the result: it belongs to the diagram that ran.
    analyst.rename(ids["charge"], "Charge the card")
    expect(page.locator("#try-outcome")).to_contain_text("The diagram changed", timeout=10_000)
    expect(page.locator("#canvas .m-completed, #canvas .m-failed, #canvas .m-handled")).to_have_count(0)
    expect(page.locator(".djs-overlay .undo-order")).to_have_count(0)
    analyst.rename(ids["charge"], "Charge card")


def deploy_start_and_follow(analyst):
    page = analyst.page
    page.click("#save-draft")
    expect(page.locator("#editor-status")).to_contain_text("Draft of trip_booking saved")
    expect(page.locator("#draft-info")).to_contain_text("Draft saved by admin")
    expect(page).to_have_url(re.compile(r"/processes/trip_booking/edit$"))
    analyst.screenshot("08-draft-saved")

    page.click("#deploy")
    expect(page).to_have_url(re.compile(r"/processes/trip_booking$"), timeout=READY)
    expect(page.locator("#versions")).to_contain_text("v1")
    expect(page.locator("h1")).to_contain_text("Trip booking")
    expect(page.locator("#diagram.ready")).to_be_visible(timeout=READY)
    page.fill("#start-data", '{"nights": 4}')
    page.click("#start-form button[type=submit]")
    expect(page.locator("#status")).to_have_text("completed", timeout=READY)
    expect(page.locator("#variables")).to_contain_text('"charged": 360')
    analyst.screenshot("09-instance-completed")


def deploy_a_second_version(analyst, ids):
    page = analyst.page
    page.goto("/processes/trip_booking")
    page.click("#edit-process")
    expect(page.locator("#editor.ready")).to_be_visible(timeout=READY)
    expect(page.locator("#draft-info")).to_have_text("Editing version 1.")
    analyst.rename(ids["charge"], "Charge deposit")
    expect(analyst.shape("Charge deposit")).to_have_count(1)
    analyst.screenshot("10-editing-version-1")
    page.click("#deploy")
    expect(page).to_have_url(re.compile(r"/processes/trip_booking$"), timeout=READY)
    expect(page.locator("#versions")).to_contain_text("v2")
    expect(page.locator("#diagram.ready")).to_be_visible(timeout=READY)
    analyst.screenshot("11-version-2-deployed")
    # What changed: the process page offers the comparison once, right after the editor deployed.
    page.locator("#just-deployed a").click()
    expect(page.locator("#compare.ready")).to_be_visible(timeout=READY)
    expect(page.locator("#change-summary")).to_have_text("1 element differs between version 1 and version 2.")
    renamed = page.locator(f'#change-list li.change[data-element-id="{ids["charge"]}"]')
    expect(renamed).to_contain_text("changed")
    expect(renamed).to_contain_text("Charge card")
    expect(renamed).to_contain_text("Charge deposit")
    expect(page.locator(f'#newer-diagram .djs-element[data-element-id="{ids["charge"]}"]')).to_have_class(
        re.compile(r"\bdiff-changed\b"))
    analyst.screenshot("12-what-changed-in-version-2")
