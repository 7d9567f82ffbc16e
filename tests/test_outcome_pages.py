"""What the pages and the API say of how instances ended, where they failed and what they undid."""
import re

import pytest
from durable_helpers import drain
from web_helpers import SAGA, signed_in, web_app

from webapp.progress import element_states, undo_numbers


@pytest.fixture
def web(tmp_path):
    app, maestro = web_app(tmp_path)
    maestro.deploy_paths([SAGA])
    return signed_in(app.test_client(), "viewer"), maestro


def started(maestro, data, business_key=None):
    instance_id = maestro.start("order_fulfillment", data, business_key)["id"]
    drain(maestro)
    return instance_id


def text_of(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_api_filters_instances_by_outcome_and_refuses_an_unknown_one(web):
    client, maestro = web
    happy = started(maestro, {"items": ["book"]})
    rolled_back = started(maestro, {"items": ["book"], "fail_at": "distribution_center"})
    listed = client.get("/api/instances?outcome=rolled_back").json["instances"]
    assert [(i["id"], i["status"], i["outcome"], i["end_event"]) for i in listed] == [
        (rolled_back, "completed", "rolled_back", "Order cancelled")]
    assert [i["id"] for i in client.get("/api/instances?outcome=completed").json["instances"]] == [happy]
    refused = client.get("/api/instances?outcome=undone")
    assert refused.status_code == 400 and refused.json["error"] == "bad_request"
    assert "outcome must be one of completed, rolled_back" in refused.json["message"]


def test_the_instances_page_says_rolled_back_and_filters_on_it(web):
    client, maestro = web
    started(maestro, {"items": ["book"]})
    rolled_back = started(maestro, {"items": ["book"], "fail_at": "distribution_center"})
    page = client.get("/instances?status=rolled_back").get_data(as_text=True)
    rows = re.findall(r"<tr class=\"outcome-[^\"]*\">.*?</tr>", page, re.S)
    assert len(rows) == 1 and rolled_back[:8] in rows[0]
    assert "rolled back" in text_of(rows[0]) and "ended at Order cancelled" in text_of(rows[0])
    assert "Order fulfillment" in text_of(rows[0])  # the process by its name
    assert '<option value="rolled_back" selected>rolled back</option>' in page

    counts = text_of(client.get("/processes").get_data(as_text=True))
    assert "1 completed" in counts and "1 rolled back" in counts


def test_the_instances_page_shows_where_an_instance_failed_by_name_with_its_error_and_when(web):
    client, maestro = web
    failed = started(maestro, {"items": ["book"], "crash_at": "invoice"})
    shown = maestro.show(failed)
    page = client.get("/instances?status=failed").get_data(as_text=True)
    row = re.search(r"<tr class=\"outcome-failed\">.*?</tr>", page, re.S).group(0)
    assert "<strong>Create invoice</strong>" in row
    assert 'title="RuntimeError: invoice service unavailable (crash_at)"' in row  # the whole message on hover
    assert f'class="ago muted" data-time="{shown["updated_at"]}"' in row  # ui.js shows it as "2 min ago"


def test_the_instance_page_names_the_process_and_numbers_the_undos_newest_work_first(web):
    client, maestro = web
    instance_id = started(maestro, {"items": ["book"], "fail_at": "invoice"}, "order-42")
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert "<title>Order fulfillment order-42 · Maestro</title>" in page
    heading = text_of(re.search(r"<h1>.*?</h1>", page, re.S).group(0))
    assert heading.split() == ["Order", "fulfillment", "order-42", "v1", "rolled", "back"]
    assert 'id="end-event">Order cancelled<' in page

    history = maestro.show(instance_id)["history"]
    numbers = undo_numbers(history)
    names = {entry["task_id"]: entry["name"] for entry in history}
    assert sorted((number, names[task_id]) for task_id, number in numbers.items()) == [
        (1, "Release distribution center"), (2, "Release stock"), (3, "Refund payment")]
    undo_rows = re.findall(r'<tr class="state-completed undo">.*?class="undo-number"[^>]*>(\d+)</span>\s*([^<]+?)\s*'
                           r'<span class="tag">Undo of ([^<]+)</span>', page, re.S)
    assert undo_rows == [("1", "Release distribution center", "Allocate distribution center"),
                         ("2", "Release stock", "Reserve stock"), ("3", "Refund payment", "Charge payment")]

    elements = element_states(maestro.show(instance_id))
    assert elements["release_distribution_center"]["undo"] == [1]
    assert elements["refund_payment"] == {"state": "compensation", "count": 1, "undo": [3]}


def test_a_caught_business_error_is_coloured_apart_from_a_crash(web):
    client, maestro = web
    handled = maestro.show(started(maestro, {"items": ["book"], "fail_at": "invoice"}))
    crashed = maestro.show(started(maestro, {"items": ["book"], "crash_at": "invoice"}))
    assert element_states(handled)["invoice"]["state"] == "handled"
    assert element_states(crashed)["invoice"]["state"] == "failed"
    page = client.get(f"/instances/{handled['id']}").get_data(as_text=True)
    assert re.search(r'<tr class="state-handled">.*?Create invoice.*?business error \(caught\)', page, re.S)
    assert '<span class="m handled">business error (caught)</span>' in page
    failed_page = client.get(f"/instances/{crashed['id']}").get_data(as_text=True)
    assert re.search(r"Incident at Create invoice\s*<code", failed_page)


def test_a_pending_retry_shows_on_the_instance_page(web, monkeypatch):
    client, maestro = web
    monkeypatch.setenv("MAESTRO_RETRY_BASE_SECONDS", "30")
    instance_id = maestro.start("order_fulfillment", {"items": ["book"], "crash_at": "invoice"})["id"]
    drain(maestro, patience=0.2)
    shown = maestro.show(instance_id)
    assert shown["retry"]["attempt"] == 2 and shown["retry"]["of"] == 3
    note = text_of(re.search(r'<p class="retry-note".*?</p>', client.get(f"/instances/{instance_id}")
                             .get_data(as_text=True), re.S).group(0))
    assert "Create invoice failed" in note and f"try 2 of 3, next at {shown['retry']['next_at'][11:19]}" in note
    listed = client.get("/instances").get_data(as_text=True)
    assert "try 2 of 3, next at" in text_of(listed)


def test_an_end_event_without_a_name_is_not_named_by_its_id(tmp_path):
    from web_helpers import WEB

    app, maestro = web_app(tmp_path)
    maestro.deploy_paths([WEB / "flaky.bpmn"])
    instance_id = maestro.start("partner_call", {})["id"]
    drain(maestro)
    shown = maestro.show(instance_id)
    assert (shown["status"], shown["outcome"], shown["end_event"]) == ("completed", "completed", None)
    listed = text_of(signed_in(app.test_client(), "viewer").get("/instances").get_data(as_text=True))
    assert instance_id[:8] in listed and "ended at" not in listed
