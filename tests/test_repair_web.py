"""Repairing instances through the JSON API and the pages (Flask's test client): retry with edited
variables, batch retry and cancel, incidents, suspend and resume."""
import re
import shutil

import pytest
from durable_helpers import drain
from test_repair import REPAIR
from web_helpers import signed_in

from engine.durable import Maestro
from engine.durable.startup import load_processes
from webapp import create_app
from webapp.openapi import document


@pytest.fixture
def web(tmp_path):
    folder = tmp_path / "processes"
    shutil.copytree(REPAIR, folder)
    handlers, _ = load_processes(folder)
    maestro = Maestro(f"sqlite:///{tmp_path / 'web.db'}", handlers=handlers)
    maestro.deploy_paths([folder / "charge.bpmn"])
    app = create_app(maestro, secret_key="test")
    app.config["WTF_CSRF_ENABLED"] = False
    return signed_in(app.test_client(), "operator", name="olga"), maestro


def failed(maestro, count=1, amount=0):
    ids = [maestro.start("charge", {"amount": amount})["id"] for _ in range(count)]
    drain(maestro)
    return ids


def test_retry_with_edited_variables_through_the_api(web):
    client, maestro = web
    (instance_id,) = failed(maestro)
    shown = client.get(f"/api/instances/{instance_id}").json
    answer = client.post(f"/api/instances/{instance_id}/retry",
                         json={"variables": {"amount": 9}, "expected_updated_at": shown["updated_at"]})
    assert answer.status_code == 200 and answer.json["status"] == "running"
    drain(maestro)
    assert client.get(f"/api/instances/{instance_id}").json["data"] == {"amount": 9, "charged": 9, "recorded": 9}
    again = client.post(f"/api/instances/{instance_id}/retry", json={})
    assert again.status_code == 409 and again.json["error"] == "conflict"


def test_retry_refusals_are_json_and_change_nothing(web, monkeypatch):
    client, maestro = web
    (instance_id,) = failed(maestro)
    loaded = maestro.show(instance_id)["updated_at"]
    cases = [({"variables": [1]}, 400, "bad_request"), ({"variables": {"a": 1}, "expected_updated_at": 5}, 400,
                                                         "bad_request"),
             ({"variables": {"a": 1}, "expected_updated_at": "yesterday"}, 409, "conflict"),
             ({"vars": {}}, 400, "bad_request")]
    for body, status, error in cases:
        answer = client.post(f"/api/instances/{instance_id}/retry", json=body)
        assert (answer.status_code, answer.json["error"]) == (status, error), body
    monkeypatch.setenv("MAESTRO_MAX_VARIABLES_BYTES", "50")
    answer = client.post(f"/api/instances/{instance_id}/retry", json={"variables": {"blob": "x" * 100}})
    assert answer.status_code == 413 and answer.json["error"] == "too_large"
    monkeypatch.delenv("MAESTRO_MAX_VARIABLES_BYTES")
    maestro.set_variables(instance_id, {"amount": -1})
    stale = client.post(f"/api/instances/{instance_id}/retry",
                        json={"variables": {"amount": 1}, "expected_updated_at": loaded})
    assert stale.status_code == 409 and stale.json["error"] == "stale"
    shown = maestro.show(instance_id)
    assert shown["status"] == "failed" and shown["data"] == {"amount": -1}


def test_batch_retry_and_cancel_through_the_api(web):
    client, maestro = web
    ids = failed(maestro, 3)
    empty = client.post("/api/instances/retry", json={"filter": {}})
    assert empty.status_code == 400 and "empty filter" in empty.json["message"]
    for criteria in ({"error": ""}, {"key": "charge", "suspended": None}, {"version": "1"}, {"colour": "red"}):
        assert client.post("/api/instances/cancel", json={"filter": criteria}).status_code == 400, criteria
    assert client.post("/api/instances/cancel", json={}).status_code == 400
    assert client.post("/api/instances/explode", json={"ids": ids}).status_code == 405
    assert set(client.options("/api/instances/retry").headers["Allow"].split(", ")) == {"OPTIONS", "POST"}
    assert client.get(f"/api/instances/{ids[0]}").status_code == 200
    client.post(f"/api/instances/{ids[0]}/suspend", json={"reason": "hold"})
    answer = client.post("/api/instances/retry", json={"filter": {"element": "charge_card", "error": "above 0"}})
    assert answer.status_code == 200
    assert answer.json["done"] == ids[1:] and [r["id"] for r in answer.json["refused"]] == [ids[0]]
    assert "suspended" in answer.json["refused"][0]["reason"] and answer.json["more"] is False
    cancelled = client.post("/api/instances/cancel", json={"ids": ids})
    assert cancelled.json["done"] == ids and cancelled.json["refused"] == []


def test_instances_list_filters_through_the_api(web):
    client, maestro = web
    ids = failed(maestro, 2)
    ok = maestro.start("charge", {"amount": 4})["id"]
    drain(maestro)
    listed = client.get("/api/instances", query_string={"element": "charge_card", "error": "ABOVE 0"}).json
    assert sorted(i["id"] for i in listed["instances"]) == sorted(ids)
    assert [i["id"] for i in client.get("/api/instances?version=1&status=completed").json["instances"]] == [ok]
    maestro.suspend(ids[0])
    suspended = client.get("/api/instances?suspended=true").json["instances"]
    assert [(i["id"], i["suspended"]) for i in suspended] == [(ids[0], True)]
    assert client.get("/api/instances?suspended=maybe").status_code == 400
    assert client.get("/api/instances?version=0").status_code == 400


def test_incidents_and_suspend_resume_through_the_api(web):
    client, maestro = web
    ids = failed(maestro, 2)
    incidents = client.get("/api/incidents").json
    assert incidents["open"] == 2 and incidents["groups"][0]["count"] == 2
    assert incidents["groups"][0]["element_name"] == "Charge the card"
    suspended = client.post(f"/api/instances/{ids[0]}/suspend", json={"reason": "wait for finance"})
    assert suspended.status_code == 200 and suspended.json["suspended_reason"] == "wait for finance"
    assert suspended.json["suspended_by"] == "olga"  # the signed-in operator
    refused = client.post(f"/api/instances/{ids[0]}/retry")
    assert refused.status_code == 409 and refused.json["error"] == "suspended"
    assert client.post(f"/api/instances/{ids[0]}/suspend").status_code == 409
    assert client.post(f"/api/instances/{ids[0]}/suspend", json={"reason": "x" * 1001}).status_code == 400
    resumed = client.post(f"/api/instances/{ids[0]}/resume")
    assert resumed.status_code == 200 and resumed.json["suspended"] is False
    assert client.post("/api/instances/no-such/resume").status_code == 404
    edited = client.post(f"/api/instances/{ids[1]}/variables", json={"variables": {"amount": 2}})
    assert edited.status_code == 200 and edited.json["status"] == "failed"
    assert maestro.show(ids[1])["data"] == {"amount": 2}


def test_the_new_endpoints_are_in_the_openapi_document():
    paths = document()["paths"]
    for path in ("/api/instances/retry", "/api/instances/cancel", "/api/instances/suspend",
                 "/api/instances/resume", "/api/instances/{instance_id}/suspend",
                 "/api/instances/{instance_id}/resume", "/api/instances/{instance_id}/variables", "/api/incidents"):
        assert path in paths, path
    assert "requestBody" in paths["/api/instances/{instance_id}/retry"]["post"]


def test_only_an_operator_repairs_while_every_role_reads(web):
    client, maestro = web
    (instance_id,) = failed(maestro)
    for role in ("viewer", "worker", "modeler"):
        other = signed_in(client.application.test_client(), role)
        assert other.get(f"/api/instances/{instance_id}").status_code == 200, role
        assert other.get("/api/incidents").json["open"] == 1, role
        for url, body in [(f"/api/instances/{instance_id}/retry", {"variables": {"amount": 9}}),
                          (f"/api/instances/{instance_id}/suspend", {"reason": "hold"}),
                          (f"/api/instances/{instance_id}/variables", {"variables": {"amount": 9}}),
                          ("/api/instances/retry", {"ids": [instance_id]}),
                          ("/api/instances/cancel", {"ids": [instance_id]})]:
            refused = other.post(url, json=body)
            assert refused.status_code == 403 and "operator" in refused.json["message"], (role, url)
        page = other.get(f"/instances/{instance_id}").get_data(as_text=True)
        assert "Edit variables and retry" not in page and 'id="suspend"' not in page, role
        assert other.post(f"/instances/{instance_id}/suspend", data={"reason": "hold"}).status_code == 403, role
        assert other.post(f"/instances/{instance_id}/edit-and-retry",
                          data={"variables": '{"amount": 9}'}).status_code == 403, role
        listed = other.get("/instances?element=charge_card&error=above").get_data(as_text=True)
        assert instance_id in listed and "Retry 1 matching" not in listed, role
        incidents = other.get("/incidents").get_data(as_text=True)
        assert "Charge the card" in incidents and "Retry all" not in incidents, role
        assert other.get("/instances/batch?action=retry&element=charge_card").status_code == 403, role
    shown = maestro.show(instance_id)
    assert shown["status"] == "failed" and shown["data"] == {"amount": 0} and shown["suspended"] is False
    assert client.post(f"/api/instances/{instance_id}/retry", json={}).status_code == 200  # the operator may


# -- pages --------------------------------------------------------------------------------

def test_a_parse_error_in_the_edited_variables_is_shown_in_place_with_the_text_kept(web):
    client, maestro = web
    (instance_id,) = failed(maestro)
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert "Edit variables and retry" in page and 'id="variables-text"' in page
    updated_at = re.search(r'name="expected_updated_at" value="([^"]+)"', page).group(1)
    typed = '{\n  "amount": 5,\n  oops\n}'
    answer = client.post(f"/instances/{instance_id}/edit-and-retry",
                         data={"variables": typed, "expected_updated_at": updated_at})
    body = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "line 3, column 3" in body and "oops" in body and 'id="edit-variables" open' in body
    assert maestro.show(instance_id)["status"] == "failed"
    answer = client.post(f"/instances/{instance_id}/edit-and-retry",
                         data={"variables": '{"amount": 5}', "expected_updated_at": updated_at})
    assert answer.status_code == 302
    drain(maestro)
    assert maestro.show(instance_id)["data"]["recorded"] == 5


def test_the_filtered_list_confirms_then_retries_what_matches(web):
    client, maestro = web
    ids = failed(maestro, 3)
    listed = client.get("/instances?element=charge_card&error=above").get_data(as_text=True)
    assert "Retry 3 matching" in listed and "Cancel 3 matching" in listed
    assert "matching" not in client.get("/instances").get_data(as_text=True)
    confirm = client.get("/instances/batch?action=retry&element=charge_card&error=above").get_data(as_text=True)
    assert "Retry 3 instances" in confirm and "charge_card" in confirm
    assert client.get("/instances/batch?action=retry").status_code == 400  # no criterion: refused
    done = client.post("/instances/batch", data={"action": "retry", "element": "charge_card", "error": "above"})
    assert done.status_code == 200 and "Retry: 3 done." in done.get_data(as_text=True)
    drain(maestro)
    assert all(maestro.show(i)["status"] == "failed" for i in ids)  # amount 0 again: failed again


def test_incidents_page_groups_and_links_and_the_nav_counts_them(web):
    client, maestro = web
    failed(maestro, 2)
    page = client.get("/incidents").get_data(as_text=True)
    assert "Retry all 2" in page and "show instances" in page and "Charge the card" in page
    assert re.search(r'id="nav-incidents"[^>]*>Incidents <span class="count"[^>]*>2</span>', page)


def test_suspend_and_resume_from_the_instance_page(web):
    client, maestro = web
    (instance_id,) = failed(maestro)
    client.post(f"/instances/{instance_id}/suspend", data={"reason": "ask finance"})
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert 'id="suspended"' in page and "ask finance" in page and 'id="resume"' in page
    assert "Edit variables and retry" not in page
    client.post(f"/instances/{instance_id}/resume")
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert 'id="suspended"' not in page and 'id="suspend"' in page
