"""The analyst's editor in a real browser (issue 13): Playwright drives Debian's Chromium against
`maestro serve`, as an analyst would: draw from the palette, bind a handler from the catalog,
watch the server's check mark and unmark the task, add its undo, save a draft, deploy, run it.
A screenshot of each step goes to artifacts/editor/ (CI keeps artifacts/)."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from serve_helpers import free_port, wait_until_it_answers
from test_browser import CHROMIUM, CHROMIUM_ARGS
from web_helpers import ROOT, processes_folder

SCREENSHOTS = ROOT / "artifacts" / "editor"
CAMUNDA8_SCREENSHOTS = ROOT / "artifacts" / "editor-camunda8"
EDITOR_HANDLERS = Path(__file__).parent / "fixtures" / "editor"
BUNDLE = ROOT / "webapp" / "static" / "dist" / "editor.js"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`maestro serve` with the saga's, the web fixtures' and the editor fixture's handlers, nothing deployed."""
    if not BUNDLE.exists():
        pytest.fail(f"{BUNDLE} is missing: run `npm ci && npm run build` (test.sh does)")
    folder = tmp_path_factory.mktemp("editor")
    handlers_only = processes_folder(folder)
    shutil.copytree(EDITOR_HANDLERS, handlers_only / "editor")
    for diagram in handlers_only.rglob("*.bpmn"):
        diagram.unlink()
    port = free_port()
    env = {**os.environ, "MAESTRO_DATABASE_URL": f"sqlite:///{folder / 'maestro.db'}"}
    log = open(folder / "serve.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "engine.cli", "serve", "--processes", str(handlers_only),
                                "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    wait_until_it_answers(base, process, folder / "serve.log")
    yield base
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
    context = browser.new_context(base_url=server, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"


def screenshot(page, name, folder=SCREENSHOTS):
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


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
    screenshot(page, "01-new-process")

    # A task dropped on the flow start -> end splits it; the analyst makes it a service task.
    drop_from_palette(page, "create.task", page.locator('#canvas [data-element-id="to_end"]'))
    task = shape(page, "Activity_")
    expect(task).to_have_count(1)
    page.locator('.djs-context-pad [data-action="replace"]').click()
    page.locator('.djs-popup [data-id="replace-with-service-task"]').click()
    # The server's own check: nothing on this server runs the task, so it is marked and listed.
    expect(task).to_have_class(re.compile(r"\bproblem-error\b"), timeout=10_000)
    expect(page.locator("#problem-list li.problem.error")).not_to_have_count(0)
    expect(task.locator(".problem-badge.error")).to_have_count(0)  # the badge is an overlay beside it
    expect(page.locator(".djs-overlay .problem-badge.error")).not_to_have_count(0)
    screenshot(page, "02-service-task-without-handler")

    booking.locator("button.choose").click()
    expect(task).not_to_have_class(re.compile(r"\bproblem-error\b"), timeout=10_000)
    expect(page.locator("#problem-list li.problem.error")).to_have_count(0)
    expect(task).to_contain_text("Book room")
    expect(booking).to_have_class(re.compile(r"\bbound\b"))
    screenshot(page, "03-bound-to-a-handler")

    booking.locator("button.add-undo").click()
    expect(shape(page, "Event_")).to_have_count(1)  # the compensation boundary event
    expect(shape(page, "Activity_")).to_have_count(2)  # the task and its undo task
    expect(page.locator("#canvas")).to_contain_text("Undo Book room")
    expect(page.locator('#canvas .djs-connection[data-element-id^="Association_"]')).to_have_count(1)
    expect(page.locator("#problem-list li.problem.error")).to_have_count(0)
    screenshot(page, "04-undo-added")

    page.fill("#process-id", "room_booking")
    page.press("#process-id", "Enter")
    page.click("#save-draft")
    expect(page.locator("#editor-status")).to_contain_text("Draft of room_booking saved")
    expect(page.locator("#draft-info")).to_contain_text("Draft saved by web")
    expect(page).to_have_url(re.compile(r"/processes/room_booking/edit$"))
    screenshot(page, "05-draft-saved")

    page.click("#deploy")
    expect(page).to_have_url(re.compile(r"/processes/room_booking$"), timeout=20_000)
    expect(page.locator("#versions")).to_contain_text("v1")
    expect(page.locator("#diagram.ready")).to_be_visible()
    screenshot(page, "06-deployed")

    page.click("#start-form button[type=submit]")
    expect(page.locator("#status")).to_have_text("completed", timeout=20_000)
    expect(page.locator("#variables")).to_contain_text('"room": "booked"')
    screenshot(page, "07-instance-completed")

    # Deploying used the draft up: editing again opens version 1.
    page.goto("/processes/room_booking")
    page.click("#edit-process")
    expect(page.locator("#editor.ready")).to_be_visible(timeout=20_000)
    expect(page.locator("#draft-info")).to_have_text("Editing version 1.")
    expect(page.locator("#process-id")).to_have_value("room_booking")


def test_a_camunda_8_diagram_is_edited_with_the_zeebe_panel_and_binds_its_task_type(page):
    page.goto("/processes")
    page.select_option("#template", "blank_camunda8")
    page.click("#new-process button[type=submit]")
    expect(page.locator("#editor.ready")).to_be_visible(timeout=20_000)
    expect(page.locator("#editor")).to_have_attribute("data-platform", "camunda8")
    expect(page.locator("#problem-list li.problem.error")).to_have_count(0)

    drop_from_palette(page, "create.task", page.locator('#canvas [data-element-id="to_end"]'))
    task = shape(page, "Activity_")
    expect(task).to_have_count(1)
    page.locator('.djs-context-pad [data-action="replace"]').click()
    page.locator('.djs-popup [data-id="replace-with-service-task"]').click()
    expect(task).to_have_class(re.compile(r"\bproblem-error\b"), timeout=10_000)
    # The Camunda 8 panel: a service task has a task definition (its type is the topic), no external topic.
    expect(page.locator('#properties [data-group-id="group-taskDefinition"]')).to_be_visible()
    expect(page.locator('#properties [data-group-id="group-CamundaPlatform__Implementation"]')).to_have_count(0)
    screenshot(page, "01-service-task-without-handler", CAMUNDA8_SCREENSHOTS)

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
    screenshot(page, "02-bound-to-a-handler", CAMUNDA8_SCREENSHOTS)

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
    screenshot(page, "03-draft-saved", CAMUNDA8_SCREENSHOTS)

    page.click("#deploy")
    expect(page).to_have_url(re.compile(r"/processes/room_booking_c8$"), timeout=20_000)
    expect(page.locator("#diagram.ready")).to_be_visible()
    page.click("#start-form button[type=submit]")
    expect(page.locator("#status")).to_have_text("completed", timeout=20_000)
    expect(page.locator("#variables")).to_contain_text('"room": "booked"')
    screenshot(page, "04-instance-completed", CAMUNDA8_SCREENSHOTS)

    # Editing the deployed version opens it with the Camunda 8 panel again.
    page.goto("/processes/room_booking_c8")
    page.click("#edit-process")
    expect(page.locator("#editor.ready")).to_be_visible(timeout=20_000)
    expect(page.locator("#editor")).to_have_attribute("data-platform", "camunda8")
