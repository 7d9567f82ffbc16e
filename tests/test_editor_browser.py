"""The analyst's editor in a real browser (issue 13): Playwright drives Debian's Chromium against
`maestro serve`, as an analyst would: draw from the palette, bind a handler from the catalog,
watch the server's check mark and unmark the task, add its undo, save a draft, deploy, run it.
A screenshot of each step goes to artifacts/editor/ (CI keeps artifacts/)."""
import re
import shutil
from pathlib import Path

import pytest
from browser_helpers import browser_fixture, handlers_only, page_fixture, require_built, screenshot
from playwright.sync_api import expect
from serve_helpers import running_serve
from web_helpers import ROOT

SCREENSHOTS = "editor"  # artifacts/editor/
CAMUNDA8_SCREENSHOTS = "editor-camunda8"
EDITOR_HANDLERS = Path(__file__).parent / "fixtures" / "editor"
BUNDLE = ROOT / "webapp" / "static" / "dist" / "editor.js"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`maestro serve` with the saga's, the web fixtures' and the editor fixture's handlers, nothing deployed."""
    require_built(BUNDLE)
    folder = tmp_path_factory.mktemp("editor")
    processes = handlers_only(folder)
    shutil.copytree(EDITOR_HANDLERS, processes / "editor")
    with running_serve(folder, processes=processes) as serve:
        yield serve


browser = browser_fixture()
page = page_fixture({"width": 1400, "height": 1000})


def shape(page, element_id_prefix):
    return page.locator(f'#canvas .djs-shape[data-element-id^="{element_id_prefix}"]')


def drop_from_palette(page, action, target):
    """Drags the palette entry `action` onto the middle of the `target` locator, as a mouse does."""
    box = target.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.locator(f'.djs-palette [data-action="{action}"]').hover()
    page.mouse.down()
    page.mouse.move(x - 60, y + 60, steps=5)
    page.mouse.move(x, y, steps=5)
    page.mouse.up()


def test_an_analyst_draws_binds_saves_deploys_and_runs_a_new_process(page):
    page.goto("/processes")
    page.select_option("#template", "blank")
    page.click("#new-process button[type=submit]")
    expect(page.locator("#editor.ready")).to_be_visible(timeout=20_000)
    booking = page.locator('li.handler[data-topic="book_room"]')
    expect(booking).to_contain_text("Books a hotel room for the trip.")
    expect(booking).to_contain_text("has undo")
    expect(page.locator("#problem-list li.problem.error")).to_have_count(0)
    screenshot(page, SCREENSHOTS, "01-new-process")

    # A task dropped on the flow start -> end splits it; the analyst makes it a service task.
    task = service_task_on_the_flow(page)
    # The server's own check: nothing on this server runs the task, so it is marked and listed.
    expect(task).to_have_class(re.compile(r"\bproblem-error\b"), timeout=10_000)
    expect(page.locator("#problem-list li.problem.error")).not_to_have_count(0)
    expect(task.locator(".problem-badge.error")).to_have_count(0)  # the badge is an overlay beside it
    expect(page.locator(".djs-overlay .problem-badge.error")).not_to_have_count(0)
    screenshot(page, SCREENSHOTS, "02-service-task-without-handler")

    booking.locator("button.choose").click()
    expect(task).not_to_have_class(re.compile(r"\bproblem-error\b"), timeout=10_000)
    expect(page.locator("#problem-list li.problem.error")).to_have_count(0)
    expect(task).to_contain_text("Book room")
    expect(booking).to_have_class(re.compile(r"\bbound\b"))
    screenshot(page, SCREENSHOTS, "03-bound-to-a-handler")

    booking.locator("button.add-undo").click()
    expect(shape(page, "Event_")).to_have_count(1)  # the compensation boundary event
    expect(shape(page, "Activity_")).to_have_count(2)  # the task and its undo task
    expect(page.locator("#canvas")).to_contain_text("Undo Book room")
    expect(page.locator('#canvas .djs-connection[data-element-id^="Association_"]')).to_have_count(1)
    expect(page.locator("#problem-list li.problem.error")).to_have_count(0)
    screenshot(page, SCREENSHOTS, "04-undo-added")

    page.fill("#process-id", "room_booking")
    page.press("#process-id", "Enter")
    page.click("#save-draft")
    expect(page.locator("#editor-status")).to_contain_text("Draft of room_booking saved")
    expect(page.locator("#draft-info")).to_contain_text("Draft saved by admin")
    expect(page).to_have_url(re.compile(r"/processes/room_booking/edit$"))
    screenshot(page, SCREENSHOTS, "05-draft-saved")

    page.click("#deploy")
    expect(page).to_have_url(re.compile(r"/processes/room_booking$"), timeout=20_000)
    expect(page.locator("#versions")).to_contain_text("v1")
    expect(page.locator("#diagram.ready")).to_be_visible()
    screenshot(page, SCREENSHOTS, "06-deployed")

    start_and_see_the_room_booked(page, SCREENSHOTS, "07-instance-completed")

    # Deploying used the draft up: editing again opens version 1.
    edit_again(page, "room_booking")
    expect(page.locator("#draft-info")).to_have_text("Editing version 1.")
    expect(page.locator("#process-id")).to_have_value("room_booking")


def test_a_camunda_8_diagram_is_edited_with_the_zeebe_panel_and_binds_its_task_type(page):
    page.goto("/processes")
    page.select_option("#template", "blank_camunda8")
    page.click("#new-process button[type=submit]")
    expect(page.locator("#editor.ready")).to_be_visible(timeout=20_000)
    expect(page.locator("#editor")).to_have_attribute("data-platform", "camunda8")
    expect(page.locator("#problem-list li.problem.error")).to_have_count(0)

    task = service_task_on_the_flow(page)
    expect(task).to_have_class(re.compile(r"\bproblem-error\b"), timeout=10_000)
    # The Camunda 8 panel: a service task has a task definition (its type is the topic), no external topic.
    expect(page.locator('#properties [data-group-id="group-taskDefinition"]')).to_be_visible()
    expect(page.locator('#properties [data-group-id="group-CamundaPlatform__Implementation"]')).to_have_count(0)
    screenshot(page, CAMUNDA8_SCREENSHOTS, "01-service-task-without-handler")

    booking = page.locator('li.handler[data-topic="book_room"]')
    booking.locator("button.choose").click()
    expect(task).not_to_have_class(re.compile(r"\bproblem-error\b"), timeout=10_000)
    expect(page.locator("#problem-list li.problem.error")).to_have_count(0)
    expect(task).to_contain_text("Book room")
    expect(booking).to_have_class(re.compile(r"\bbound\b"))
    definition = page.locator('#properties [data-group-id="group-taskDefinition"]')
    if not definition.locator("#bio-properties-panel-taskDefinitionType").is_visible():
        definition.locator(".bio-properties-panel-group-header").click()
    expect(definition.locator("#bio-properties-panel-taskDefinitionType")).to_have_value("book_room")
    screenshot(page, CAMUNDA8_SCREENSHOTS, "02-bound-to-a-handler")

    # The binding is one command: undoing the label, then the binding, leaves the task unbound; redo binds it.
    task.click()
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+z")
    expect(task).to_have_class(re.compile(r"\bproblem-error\b"), timeout=10_000)
    expect(booking).not_to_have_class(re.compile(r"\bbound\b"))
    page.keyboard.press("Control+y")
    page.keyboard.press("Control+y")
    expect(task).not_to_have_class(re.compile(r"\bproblem-error\b"), timeout=10_000)
    expect(task).to_contain_text("Book room")

    page.fill("#process-id", "room_booking_c8")
    page.press("#process-id", "Enter")
    page.click("#save-draft")
    expect(page.locator("#editor-status")).to_contain_text("Draft of room_booking_c8 saved")
    draft = page.request.get("/api/drafts/room_booking_c8").json()["xml"]
    assert re.search(r'<zeebe:taskDefinition type="book_room"\s*/>', draft), draft
    assert "camunda:topic" not in draft and "camunda:type" not in draft
    screenshot(page, CAMUNDA8_SCREENSHOTS, "03-draft-saved")

    page.click("#deploy")
    expect(page).to_have_url(re.compile(r"/processes/room_booking_c8$"), timeout=20_000)
    expect(page.locator("#diagram.ready")).to_be_visible()
    start_and_see_the_room_booked(page, CAMUNDA8_SCREENSHOTS, "04-instance-completed")

    # Editing the deployed version opens it with the Camunda 8 panel again.
    edit_again(page, "room_booking_c8")
    expect(page.locator("#editor")).to_have_attribute("data-platform", "camunda8")


def start_and_see_the_room_booked(page, folder, shot):
    """On a process page: start an instance from its form and follow it to completed."""
    page.click("#start-form button[type=submit]")
    expect(page.locator("#status")).to_have_text("completed", timeout=20_000)
    expect(page.locator("#variables")).to_contain_text('"room": "booked"')
    screenshot(page, folder, shot)


def edit_again(page, key):
    """The process page's Edit, as an analyst opens a deployed process again."""
    page.goto(f"/processes/{key}")
    page.click("#edit-process")
    expect(page.locator("#editor.ready")).to_be_visible(timeout=20_000)


def service_task_on_the_flow(page):
    """A task dropped from the palette on the flow start -> end (it splits it), made a service task."""
    drop_from_palette(page, "create.task", page.locator('#canvas [data-element-id="to_end"]'))
    task = shape(page, "Activity_")
    expect(task).to_have_count(1)
    page.locator('.djs-context-pad [data-action="replace"]').click()
    page.locator('.djs-popup [data-id="replace-with-service-task"]').click()
    return task
