"""Moving tokens and migrating instances through the JSON API and the pages' forms (Flask's test client)."""
import re

import pytest
from conftest import make_recorder
from durable_helpers import drain, fresh_maestro
from test_surgery import MOVES, SURGERY, TOPICS, card_down_once
from web_helpers import signed_in

from webapp import create_app


@pytest.fixture
def web(tmp_path):
    handlers, calls = make_recorder(*TOPICS, raise_on={"charge": card_down_once})
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([MOVES, SURGERY / "orders_v1.bpmn"])
    return signed_in(create_app(maestro, secret_key="test").test_client(), "operator", name="olga"), maestro, calls


def failed_instance(maestro):
    instance_id = maestro.start("moves", {"order": 1})["id"]
    drain(maestro)
    assert maestro.show(instance_id)["status"] == "failed"
    return instance_id


def csrf_token(client, path):
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_the_api_moves_a_token_and_says_why_it_refuses(web):
    client, maestro, calls = web
    instance_id = failed_instance(maestro)
    url = f"/api/instances/{instance_id}/move"
    refused = client.post(url, json={"from": "charge", "to": "pick", "reason": "skip"})
    assert refused.status_code == 409 and refused.json["error"] == "refused"
    assert "another scope" in refused.json["reasons"][0]
    for body, expected in [({"from": "charge", "to": "ship"}, '"reason" is required'),
                           ({"from": "charge", "to": 3, "reason": "r"}, '"to" is required'),
                           ({"from": "charge", "to": "ship", "reason": "r" * 501}, "at most 500")]:
        bad = client.post(url, json=body)
        assert bad.status_code == 400 and expected in bad.json["message"], bad.json
    assert client.post("/api/instances/nope/move", json={"from": "a", "to": "b", "reason": "c"}).status_code == 404
    assert maestro.show(instance_id)["status"] == "failed"  # nothing changed

    moved = client.post(url, json={"from": "charge", "to": "pack", "reason": "charged by phone"})
    assert moved.status_code == 200, moved.json
    assert moved.json["moved"]["to"] == "pack" and moved.json["incident_resolved"] is True
    assert moved.json["moved"]["by"] == "olga"  # the signed-in operator
    drain(maestro)
    assert maestro.show(instance_id)["status"] == "completed" and calls[-3:] == ["pick", "seal", "ship"]


def test_the_api_checks_and_migrates_instances(web):
    client, maestro, calls = web
    ids = [maestro.start("orders")["id"] for _ in range(2)]
    drain(maestro)
    maestro.deploy_paths([SURGERY / "orders_v2.bpmn"])
    url = "/api/definitions/orders/migrate"
    checked = client.post(url, json={"from": 1, "to": 2, "dry_run": True})
    assert checked.status_code == 200 and checked.json == {"migrated": ids, "refused": [], "dry_run": True}
    assert [maestro.show(i)["version"] for i in ids] == [1, 1]
    done = client.post(url, json={"from": 1, "to": 2, "ids": [ids[1]]})
    assert done.json == {"migrated": [ids[1]], "refused": [], "dry_run": False}
    assert [maestro.show(i)["version"] for i in ids] == [1, 2]
    for body, status in [({"from": 1}, 400), ({"from": 1, "to": 0}, 400), ({"from": 1, "to": 2, "ids": "x"}, 400),
                         ({"from": 1, "to": 2, "dry_run": "yes"}, 400), ({"from": 1, "to": 7}, 404),
                         ({"from": 2, "to": 2}, 409)]:
        answer = client.post(url, json=body)
        assert answer.status_code == status and answer.json["message"], (body, answer.json)
    assert client.post("/api/definitions/none/migrate", json={"from": 1, "to": 2}).status_code == 404


def test_only_an_operator_moves_tokens_and_migrates(web):
    client, maestro, calls = web
    instance_id = failed_instance(maestro)
    maestro.deploy_paths([SURGERY / "orders_v2.bpmn"])
    for role in ("viewer", "worker", "modeler"):
        other = signed_in(client.application.test_client(), role)
        moved = other.post(f"/api/instances/{instance_id}/move",
                           json={"from": "charge", "to": "pack", "reason": "charged by phone"})
        assert moved.status_code == 403 and "operator" in moved.json["message"], role
        migrated = other.post("/api/definitions/orders/migrate", json={"from": 1, "to": 2, "dry_run": True})
        assert migrated.status_code == 403, role
        page = other.get(f"/instances/{instance_id}")
        assert page.status_code == 200 and 'id="move-token"' not in page.get_data(as_text=True), role
    assert maestro.show(instance_id)["status"] == "failed"  # nothing changed


def test_the_instance_page_moves_a_token_with_a_flash(web):
    client, maestro, calls = web
    instance_id = failed_instance(maestro)
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert 'id="move-token"' in page and '<option value="review">Review (review)</option>' in page
    token = csrf_token(client, f"/instances/{instance_id}")
    moved = client.post(f"/instances/{instance_id}/move", follow_redirects=True,
                        data={"csrf_token": token, "from": "charge", "to": "review", "reason": "charged by phone"})
    text = moved.get_data(as_text=True)
    assert "Moved the token from charge to review (the incident is resolved): charged by phone" in text
    refused = client.post(f"/instances/{instance_id}/move", follow_redirects=True,
                          data={"csrf_token": token, "from": "charge", "to": "review", "reason": "again"})
    assert "The token was not moved: no active activity" in refused.get_data(as_text=True)


def test_the_process_page_checks_then_migrates(web):
    client, maestro, calls = web
    ids = [maestro.start("orders")["id"] for _ in range(2)]
    drain(maestro)
    maestro.deploy_paths([SURGERY / "orders_v3.bpmn"])
    page = client.get("/processes/orders").get_data(as_text=True)
    assert 'id="migrate"' in page
    token = csrf_token(client, "/processes/orders")
    checked = client.post("/processes/orders/migrate", data={"csrf_token": token, "from": "1", "to": "2",
                                                             "action": "check"}).get_data(as_text=True)
    assert "<strong>0</strong> instance(s) can move" in checked
    assert "Approve order (approve) is not in version 2" in checked and 'id="migrate-button"' not in checked
    maestro.deploy_paths([SURGERY / "orders_v2.bpmn"])  # version 3 has the task again
    checked = client.post("/processes/orders/migrate", data={"csrf_token": token, "from": "1", "to": "3",
                                                             "action": "check"}).get_data(as_text=True)
    assert "<strong>2</strong> instance(s) can move" in checked and 'id="migrate-button"' in checked
    migrated = client.post("/processes/orders/migrate", data={"csrf_token": token, "from": "1", "to": "3",
                                                              "action": "migrate"}).get_data(as_text=True)
    assert "Migrated 2 instance(s) from version 1 to 3." in migrated
    assert [maestro.show(i)["version"] for i in ids] == [3, 3]
