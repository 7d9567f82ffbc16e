"""Comparing two versions of a process in a real browser (issue 13): Playwright drives Debian's
Chromium against `maestro serve`. Version 2 of the shipment fixture removes a task, adds one,
changes a task's topic and retry cycle and a flow's condition, and moves the end event; the
compare page lists exactly that and marks each element on the diagram it shows on.
A screenshot of each step goes to artifacts/compare/ (CI keeps artifacts/)."""
import re

import pytest
from browser_helpers import browser_fixture, handlers_only, page_fixture, require_built, screenshot, upload
from playwright.sync_api import expect
from serve_helpers import running_serve
from web_helpers import ROOT

SCREENSHOTS = "compare"  # artifacts/compare/
FIXTURES = ROOT / "tests" / "fixtures" / "compare"
BUNDLE = ROOT / "webapp" / "static" / "dist" / "compare.js"

# What version 2 changed, as the list shows it: (kind, element id, name, type, [(property, old, new)]).
CHANGES_1_TO_2 = [
    ("changed", "check", "Check order", "Service task",
     [("camunda:failedJobRetryTimeCycle", "R3/PT1M", "R5/PT1M"), ("camunda:topic", "record", "call_partner")]),
    ("changed moved", "f2", "Check order → Big order?", "Sequence flow", [("targetRef", "partner", "gw")]),
    ("changed", "f_ship", "yes", "Sequence flow", [("conditionExpression", "${amount > 100}", "${amount > 500}")]),
    ("changed moved", "f5", "Ship → Notify customer", "Sequence flow", [("targetRef", "end", "notify")]),
    ("added", "notify", "Notify customer", "Service task", []),
    ("added", "f7", "Notify customer → Done", "Sequence flow", []),
    ("removed", "partner", "Ask partner", "Service task", []),
    ("removed", "f3", "Ask partner → Big order?", "Sequence flow", []),
    ("moved", "f6", "Reject → Done", "Sequence flow", []),
    ("moved", "end", "Done", "End event", []),
]
UNCHANGED = ["start", "f1", "gw", "ship", "reject", "f_reject"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`maestro serve` with the web fixtures' handlers (the shipment's topics), nothing deployed."""
    require_built(BUNDLE)
    folder = tmp_path_factory.mktemp("compare")
    with running_serve(folder, processes=handlers_only(folder)) as serve:
        yield serve


browser = browser_fixture()
page = page_fixture({"width": 1400, "height": 900})


def listed_changes(page):
    """The list beside the diagrams, entry by entry, as the reader sees it."""
    return [tuple(entry) for entry in page.evaluate("""() => [...document.querySelectorAll('#change-list li.change')]
        .map((item) => [
          [...item.querySelectorAll('.change-head .kind')].map((kind) => kind.textContent).join(' '),
          item.dataset.elementId,
          item.querySelector('.name').textContent,
          item.querySelector('.type').textContent,
          [...item.querySelectorAll('tr.property')].map((row) => [...row.children].map((cell) => cell.textContent))
        ])""")]


def markers(page, side, element_id):
    """The diff-* classes of the element's SVG group on one side ("older" or "newer"), or None where it is not drawn."""
    found = page.locator(f'#{side}-diagram .djs-element[data-element-id="{element_id}"]')
    if found.count() == 0:
        return None
    return sorted(name for name in found.get_attribute("class").split() if name.startswith("diff-"))


def test_the_compare_page_lists_and_marks_what_changed_between_two_versions(page):
    upload(page, FIXTURES / "shipment_v1.bpmn")
    expect(page.locator(".flash.success")).to_contain_text("Deployed shipment version 1")
    upload(page, FIXTURES / "shipment_v2.bpmn")
    expect(page.locator(".flash.success")).to_contain_text("Deployed shipment version 2")

    page.goto("/processes/shipment")
    expect(page.locator("#versions")).to_contain_text("compare with v1")
    page.click("#compare-newest")
    expect(page).to_have_url(re.compile(r"/processes/shipment/compare$"))
    expect(page.locator("#compare.ready")).to_be_visible(timeout=20_000)
    expect(page.locator("#change-summary")).to_have_text("10 elements differ between version 1 and version 2.")
    assert listed_changes(page) == [(kind, element_id, name, kind_of_element, [list(row) for row in rows])
                                    for kind, element_id, name, kind_of_element, rows in CHANGES_1_TO_2]
    screenshot(page, SCREENSHOTS, "01-version-1-to-2")

    # Added on the newer diagram, removed on the older, changed and moved on both.
    assert (markers(page, "older", "notify"), markers(page, "newer", "notify")) == (None, ["diff-added"])
    assert (markers(page, "older", "f7"), markers(page, "newer", "f7")) == (None, ["diff-added"])
    assert (markers(page, "older", "partner"), markers(page, "newer", "partner")) == (["diff-removed"], None)
    assert (markers(page, "older", "f3"), markers(page, "newer", "f3")) == (["diff-removed"], None)
    for changed in ("check", "f_ship"):
        assert markers(page, "older", changed) == markers(page, "newer", changed) == ["diff-changed"]
    for changed_and_moved in ("f2", "f5"):
        assert markers(page, "older", changed_and_moved) == markers(page, "newer", changed_and_moved) == [
            "diff-changed", "diff-moved"]
    for moved in ("end", "f6"):
        assert markers(page, "older", moved) == markers(page, "newer", moved) == ["diff-moved"]
    for same in UNCHANGED:
        assert markers(page, "older", same) == markers(page, "newer", same) == []

    # Choosing an entry selects its element on each diagram that has it.
    page.click('#change-list li.change[data-element-id="check"]')
    expect(page.locator('#older-diagram .djs-element[data-element-id="check"]')).to_have_class(re.compile(r"\bselected\b"))
    expect(page.locator('#newer-diagram .djs-element[data-element-id="check"]')).to_have_class(re.compile(r"\bselected\b"))
    expect(page.locator('#change-list li.change[data-element-id="check"]')).to_have_class(re.compile(r"\bcurrent\b"))
    page.click('#change-list li.change[data-element-id="partner"]')
    expect(page.locator('#older-diagram .djs-element[data-element-id="partner"]')).to_have_class(re.compile(r"\bselected\b"))
    expect(page.locator('#newer-diagram .djs-element.selected')).to_have_count(0)
    screenshot(page, SCREENSHOTS, "02-removed-task-chosen")
    # ...and clicking an element on a diagram finds its entry.
    page.locator('#newer-diagram .djs-element[data-element-id="check"]').click()
    expect(page.locator('#change-list li.change[data-element-id="check"]')).to_have_class(re.compile(r"\bcurrent\b"))

    # The other way round, from the version pickers: what was added is now removed and the reverse.
    page.select_option("#from", "2")
    page.select_option("#to", "1")
    page.click("#versions-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/processes/shipment/compare\?from=2&to=1$"))
    expect(page.locator("#compare.ready")).to_be_visible(timeout=20_000)
    kinds = {element_id: kind for kind, element_id, *_ in listed_changes(page)}
    assert (kinds["partner"], kinds["f3"], kinds["notify"], kinds["f7"]) == ("added", "added", "removed", "removed")
    assert listed_changes(page)[0][4] == [["camunda:failedJobRetryTimeCycle", "R5/PT1M", "R3/PT1M"],
                                          ["camunda:topic", "call_partner", "record"]]
    screenshot(page, SCREENSHOTS, "03-version-2-to-1")


def test_after_deploying_from_the_editor_the_process_page_links_to_what_changed(page):
    """The editor rewrites the file as bpmn-js writes it: deployed unchanged, that is a new version
    whose comparison with the hand-written one finds no difference."""
    page.goto("/processes/shipment/edit")
    expect(page.locator("#editor.ready")).to_be_visible(timeout=20_000)
    page.click("#deploy")
    expect(page).to_have_url(re.compile(r"/processes/shipment$"), timeout=20_000)
    deployed = page.locator("#just-deployed")
    expect(deployed).to_be_visible()
    expect(deployed).to_contain_text("Deployed version 3 from the editor. See what changed since version 2.")
    screenshot(page, SCREENSHOTS, "04-deployed-from-the-editor")
    deployed.locator("a").click()
    expect(page.locator("#compare.ready")).to_be_visible(timeout=20_000)
    expect(page.locator("#change-summary")).to_have_text("No differences between version 2 and version 3.")
    expect(page.locator("#change-list li")).to_have_count(0)
    screenshot(page, SCREENSHOTS, "05-no-differences")
    page.goto("/processes/shipment")
    expect(page.locator("#just-deployed")).to_be_hidden()  # said once
