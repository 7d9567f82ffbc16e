"""The JSON API (DESIGN.md, "JSON API") through Flask's test client."""
import io

import pytest
from corpus_outcomes import CORPUS
from durable_helpers import drain
from web_helpers import SAGA, WEB, signed_in, web_app

NOT_EXECUTABLE = b"""<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="sketch" isExecutable="false"><bpmn:startEvent id="s"/></bpmn:process>
</bpmn:definitions>"""

GROOVY = b"""<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="scripted" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="calc"/>
    <bpmn:scriptTask id="calc" scriptFormat="groovy"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.fixture
def web(tmp_path):
    app, maestro = web_app(tmp_path)
    return signed_in(app.test_client()), maestro


def upload(client, *files, **query):
    return client.post("/api/definitions", query_string=query,
                       data={"file": [(open(path, "rb") if not isinstance(path, tuple) else path[1], name)
                                      for name, path in files]})


def deploy_all(client):
    response = upload(client, ("saga.bpmn", SAGA), ("approval.bpmn", WEB / "approval.bpmn"),
                      ("flaky.bpmn", WEB / "flaky.bpmn"))
    assert response.status_code == 201, response.json


def test_upload_deploys_each_file_and_identical_content_makes_no_new_version(web):
    client, _ = web
    first = upload(client, ("saga.bpmn", SAGA))
    assert first.status_code == 201
    assert (first.json["key"], first.json["version"], first.json["new"]) == ("order_fulfillment", 1, True)
    again = client.post("/api/definitions", data=SAGA.read_bytes(), headers={"Content-Type": "application/xml"})
    assert again.status_code == 201 and (again.json["version"], again.json["new"]) == (1, False)


def test_a_refused_upload_names_file_line_and_element_and_deploys_nothing(web):
    client, _ = web
    response = upload(client, ("approval.bpmn", WEB / "approval.bpmn"), ("scripted.bpmn", ("raw", io.BytesIO(GROOVY))))
    assert response.status_code == 422
    assert response.json["error"] == "invalid_diagram"
    problem = response.json["errors"][0]
    assert problem["file"] == "scripted.bpmn" and problem["element"] == "calc" and problem["line"] == 6
    assert "groovy" in problem["message"]
    assert client.get("/api/definitions").json == []  # the valid file was not deployed either


def test_not_executable_is_refused_naming_the_flag_unless_forced(web):
    client, _ = web
    refused = client.post("/api/definitions", data=NOT_EXECUTABLE, headers={"Content-Type": "application/xml"})
    assert refused.status_code == 422 and "isExecutable" in refused.json["errors"][0]["message"]
    forced = client.post("/api/definitions?force_executable=true", data=NOT_EXECUTABLE,
                         headers={"Content-Type": "application/xml"})
    assert forced.status_code == 201 and forced.json["forced_executable"] is True
    assert forced.json["untimed_timers"] == []


def test_forced_deploy_lists_the_timers_without_a_time_that_will_never_fire(web):
    client, maestro = web
    for topic in ("book_hotel", "cancel_hotel", "book_flight", "cancel_flight", "charge_credit_card",
                  "update_customer_record"):  # the server runs what it deploys: its service tasks need handlers
        maestro.handlers.task(topic)(lambda ctx: None)
    reference_c60 = (CORPUS / "miwg-test-suite" / "Reference" / "C.6.0.bpmn").read_bytes()
    refused = client.post("/api/definitions", data=reference_c60, headers={"Content-Type": "application/xml"})
    assert refused.status_code == 422
    assert {p["element"] for p in refused.json["errors"]} >= {"_87baeef0-f32e-4a93-b802-fdd588aaf729"}
    forced = client.post("/api/definitions?force_executable=true", data=reference_c60,
                         headers={"Content-Type": "application/xml"})
    assert forced.status_code == 201
    assert forced.json["untimed_timers"] == ["_32c4138c-74ae-484a-a7e5-0609370d7080",
                                             "_87baeef0-f32e-4a93-b802-fdd588aaf729"]


def test_definitions_list_counts_instances_by_status_and_serves_versions_xml_and_start_form(web):
    client, maestro = web
    deploy_all(client)
    for data in ({}, {"fail_at": "shipping"}):
        assert client.post("/api/definitions/order_fulfillment/instances", json={"data": data}).status_code == 201
    drain(maestro)
    listed = {item["key"]: item for item in client.get("/api/definitions").json}
    assert listed["order_fulfillment"]["instances"] == {"completed": 2, "rolled_back": 1}  # of the completed
    assert listed["order_approval"]["instances"] == {}
    versions = client.get("/api/definitions/order_approval").json
    assert [v["version"] for v in versions["versions"]] == [1]
    assert [f["id"] for f in versions["start_form"]["fields"]] == ["customer", "amount"]
    xml = client.get("/api/definitions/order_approval/xml?version=1")
    assert xml.status_code == 200 and xml.mimetype == "application/xml" and b"order_approval" in xml.data


def test_a_rolled_back_saga_shows_its_compensated_elements(web):
    client, maestro = web
    deploy_all(client)
    started = client.post("/api/definitions/order_fulfillment/instances",
                          json={"data": {"fail_at": "shipping"}, "business_key": "order-7"})
    assert started.status_code == 201 and started.json["status"] == "running"
    drain(maestro)
    shown = client.get(f"/api/instances/{started.json['id']}").json
    assert shown["status"] == "completed" and shown["business_key"] == "order-7"
    states = {element: found["state"] for element, found in shown["elements"].items()}
    assert states["shipping"] == "handled"  # a business error the diagram caught, not a crash
    assert {e for e, s in states.items() if s == "compensated"} == {"payment", "stock", "distribution_center", "invoice"}
    assert {e for e, s in states.items() if s == "compensation"} == {
        "refund_payment", "release_stock", "release_distribution_center", "cancel_invoice"}
    assert "order_fulfilled" not in states  # the path not taken colours nothing
    assert shown["data"]["undone"] == ["cancel_invoice", "release_distribution_center", "release_stock",
                                       "refund_payment"]


def test_instances_page_newest_first_with_filters(web):
    client, maestro = web
    deploy_all(client)
    ids = [client.post("/api/definitions/order_fulfillment/instances",
                       json={"business_key": f"k{n}"}).json["id"] for n in range(7)]
    seen, after = [], None
    while True:
        page = client.get("/api/instances", query_string={"limit": 3, **({"after": after} if after else {})}).json
        seen += [item["id"] for item in page["instances"]]
        assert len(page["instances"]) <= 3
        after = page["next"]
        if after is None:
            break
    assert seen == list(reversed(ids))
    assert [i["id"] for i in client.get("/api/instances?business_key=k3").json["instances"]] == [ids[3]]
    assert client.get("/api/instances?status=completed").json["instances"] == []
    drain(maestro)
    assert len(client.get("/api/instances?status=completed&key=order_fulfillment").json["instances"]) == 7


def test_complete_a_user_task_through_the_api(web):
    client, maestro = web
    deploy_all(client)
    instance_id = client.post("/api/definitions/order_approval/instances",
                              json={"data": {"customer": "ACME"}}).json["id"]
    drain(maestro)
    shown = client.get(f"/api/instances/{instance_id}").json
    assert shown["status"] == "waiting" and shown["elements"]["approve"]["state"] == "waiting"
    done = client.post(f"/api/instances/{instance_id}/tasks/approve/complete",
                       json={"data": {"approved": True, "reason": "known customer"}})
    assert done.status_code == 200
    drain(maestro)
    shown = client.get(f"/api/instances/{instance_id}").json
    assert shown["status"] == "completed" and shown["data"]["shipped"] is True


def test_retry_an_incident_and_cancel_through_the_api(web, tmp_path, monkeypatch):
    client, maestro = web
    down = tmp_path / "partner-down"
    down.touch()
    monkeypatch.setenv("MAESTRO_TEST_PARTNER_DOWN", str(down))
    deploy_all(client)
    instance_id = client.post("/api/definitions/partner_call/instances", json={}).json["id"]
    drain(maestro)
    shown = client.get(f"/api/instances/{instance_id}").json
    assert shown["status"] == "failed" and shown["incident"]["bpmn_id"] == "call_partner"
    assert "partner unreachable" in shown["incident"]["message"]
    assert shown["elements"]["call_partner"]["state"] == "failed"
    down.unlink()
    assert client.post(f"/api/instances/{instance_id}/retry").status_code == 200
    drain(maestro)
    assert client.get(f"/api/instances/{instance_id}").json["status"] == "completed"

    waiting = client.post("/api/definitions/order_approval/instances", json={"data": {"customer": "ACME"}}).json["id"]
    drain(maestro)
    cancelled = client.post(f"/api/instances/{waiting}/cancel")
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"


@pytest.mark.parametrize("method, path, body, status", [
    ("get", "/api/instances/no-such-id", None, 404),
    ("get", "/api/definitions/no_such_process", None, 404),
    ("post", "/api/definitions/no_such_process/instances", {}, 404),
    ("get", "/api/instances?limit=0", None, 400),
    ("get", "/api/instances?limit=ten", None, 400),
    ("get", "/api/instances?after=garbage", None, 400),
    ("post", "/api/definitions", None, 400),
    ("delete", "/api/definitions", None, 405),
    ("get", "/api/nothing/here", None, 404),
])
def test_every_error_is_json_with_a_4xx_status(web, method, path, body, status):
    client, _ = web
    response = getattr(client, method)(path, json=body) if body is not None else getattr(client, method)(path)
    assert response.status_code == status
    assert response.is_json and set(response.json) >= {"error", "message"}


def test_bad_bodies_and_conflicts_are_json_4xx(web):
    client, maestro = web
    deploy_all(client)
    not_json = client.post("/api/definitions/order_fulfillment/instances", data="{oops",
                           headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400 and not_json.is_json
    wrong_type = client.post("/api/definitions/order_fulfillment/instances", json={"data": [1, 2]})
    assert wrong_type.status_code == 400 and "data" in wrong_type.json["message"]
    instance_id = client.post("/api/definitions/order_fulfillment/instances", json={}).json["id"]
    drain(maestro)
    retry = client.post(f"/api/instances/{instance_id}/retry")
    assert retry.status_code == 409 and "completed" in retry.json["message"]
    too_big = client.post("/api/definitions", data=b"x" * (51 * 1024 * 1024),
                          headers={"Content-Type": "application/xml"})
    assert too_big.status_code == 413 and too_big.is_json


def test_a_post_from_another_site_is_refused(web):
    client, _ = web
    foreign = client.post("/api/definitions", data=SAGA.read_bytes(),
                          headers={"Content-Type": "application/xml", "Origin": "https://evil.example"})
    assert foreign.status_code == 403 and foreign.json["error"] == "cross_origin"
    same = client.post("/api/definitions", data=SAGA.read_bytes(),
                       headers={"Content-Type": "application/xml", "Origin": "http://localhost"})
    assert same.status_code == 201


def test_health_openapi_and_metrics(web):
    client, maestro = web
    assert client.get("/api/health").json == {"status": "ok", "database": "ok", "worker": "none in this process"}
    document = client.get("/api/openapi.json").json
    assert document["openapi"].startswith("3.")
    for path in ("/api/definitions", "/api/definitions/{key}", "/api/definitions/{key}/xml",
                 "/api/definitions/{key}/instances", "/api/instances", "/api/instances/{instance_id}",
                 "/api/instances/{instance_id}/retry", "/api/instances/{instance_id}/cancel",
                 "/api/instances/{instance_id}/tasks/{task}/complete", "/api/messages", "/api/health",
                 "/metrics"):
        assert path in document["paths"], path
    deploy_all(client)
    client.post("/api/definitions/order_fulfillment/instances", json={"data": {"fail_at": "shipping"}})
    client.post("/api/definitions/order_fulfillment/instances", json={})
    drain(maestro)
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'maestro_instances_started_total{process="order_fulfillment"} 2.0' in metrics
    assert 'maestro_instances_ended_total{process="order_fulfillment",status="completed"} 2.0' in metrics
    assert 'maestro_instances_compensated_total{process="order_fulfillment"} 1.0' in metrics
    assert 'maestro_instances{process="order_fulfillment",status="completed"} 2.0' in metrics
    assert 'maestro_task_duration_seconds_count{process="order_fulfillment",type="serviceTask"}' in metrics
