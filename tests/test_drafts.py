"""Drafts (issue 13): diagrams saved without deploying them, one per process, with who saved them and when;
deploying one makes the next version and deletes it, a refused one stays."""
from datetime import datetime, timedelta, timezone

import pytest
import test_webapp_api
from web_helpers import SAGA, signed_in, web_app

SAGA_XML = SAGA.read_text(encoding="utf-8")
RENAMED = SAGA_XML.replace('name="Charge payment"', 'name="Charge the card"')

GROOVY = test_webapp_api.GROOVY.decode()  # a script Maestro refuses to run: a draft that cannot deploy

ENTITY = """<?xml version="1.0"?>
<!DOCTYPE d [
<!ENTITY e SYSTEM "file:///etc/passwd">
]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="leak" isExecutable="true"><bpmn:documentation>&e;</bpmn:documentation></bpmn:process>
</bpmn:definitions>"""


@pytest.fixture
def web(tmp_path):
    app, maestro = web_app(tmp_path)
    client = signed_in(app.test_client())
    assert client.post("/api/definitions?name=saga.bpmn", data=SAGA.read_bytes()).status_code == 201  # version 1
    return client, maestro


def test_a_draft_is_saved_with_who_and_when_and_read_back(web):
    client, _ = web
    saved = client.put("/api/drafts/order_fulfillment", json={"xml": RENAMED, "based_on_version": 1})
    assert saved.status_code == 200, saved.json
    assert {name: saved.json[name] for name in ("key", "xml", "saved_by", "based_on_version")} == {
        "key": "order_fulfillment", "xml": RENAMED, "saved_by": "admin-tester", "based_on_version": 1}
    saved_at = datetime.fromisoformat(saved.json["saved_at"])
    assert abs(saved_at - datetime.now(timezone.utc)) < timedelta(seconds=30)
    assert client.get("/api/drafts/order_fulfillment").json == saved.json
    assert client.get("/api/drafts").json == {"drafts": [
        {"key": "order_fulfillment", "saved_by": "admin-tester", "saved_at": saved.json["saved_at"], "based_on_version": 1}]}


def test_saving_again_replaces_the_draft_and_names_the_signed_in_user(web):
    client, _ = web
    client.put("/api/drafts/order_fulfillment", json={"xml": SAGA_XML, "based_on_version": 1})
    signed_in(client, "modeler", name="ana")
    again = client.put("/api/drafts/order_fulfillment", json={"xml": RENAMED})
    assert again.status_code == 200
    assert (again.json["xml"], again.json["saved_by"], again.json["based_on_version"]) == (RENAMED, "ana", None)
    assert [draft["key"] for draft in client.get("/api/drafts").json["drafts"]] == ["order_fulfillment"]


def test_a_new_process_may_be_drafted_with_lint_problems(web):
    client, _ = web
    saved = client.put("/api/drafts/scripted", json={"xml": GROOVY})
    assert saved.status_code == 200 and saved.json["based_on_version"] is None


def test_a_draft_in_another_declared_encoding_is_kept_as_utf8_text(web):
    client, _ = web
    text = RENAMED.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').replace("Charge the card", "Zahlung für Müller")
    saved = client.put("/api/drafts/order_fulfillment", json={"xml": text, "based_on_version": 1})
    assert saved.status_code == 200
    assert saved.json["xml"] == text.replace('encoding="ISO-8859-1"', 'encoding="UTF-8"')
    deployed = client.post("/api/drafts/order_fulfillment/deploy")
    assert deployed.status_code == 201
    assert "Zahlung für Müller" in client.get("/api/definitions/order_fulfillment/xml?version=2").data.decode()


def test_a_key_that_is_not_the_diagrams_process_is_refused_naming_both(web):
    client, _ = web
    response = client.put("/api/drafts/shipping", json={"xml": SAGA_XML})
    assert (response.status_code, response.json["error"]) == (400, "bad_request")
    assert response.json["message"] == (
        "the draft's key 'shipping' is not the id of the executable process in its XML ('order_fulfillment'): "
        "save it under that key, or change the process's id")
    assert client.get("/api/drafts/shipping").status_code == 404


@pytest.mark.parametrize("xml, message", [
    (ENTITY, "the draft of 'leak', line 3: XML entity declarations are not allowed in a BPMN file "
             "(Maestro never expands them)"),
    ("<bpmn:definitions", "the draft of 'leak', line 1: not well-formed XML: "),
    ("<data/>", "the draft of 'leak' holds no BPMN process (its root element is <data>): "
                "a draft's key is the id of its process"),
])
def test_xml_that_is_unsafe_or_not_well_formed_is_refused_and_nothing_is_saved(web, xml, message):
    client, _ = web
    response = client.put("/api/drafts/leak", json={"xml": xml})
    assert (response.status_code, response.json["error"]) == (400, "bad_request")
    assert response.json["message"].startswith(message)
    assert client.get("/api/drafts").json == {"drafts": []}


@pytest.mark.parametrize("body, message", [
    ({}, '"xml" (the diagram, as text) is required'),
    ({"xml": 3}, '"xml" (the diagram, as text) is required'),
    ({"xml": SAGA_XML, "based_on_version": "1"}, '"based_on_version" must be the number of a deployed version'),
    ({"xml": SAGA_XML, "based_on_version": 7}, "the draft says it is based on version 7 of 'order_fulfillment', "
                                               "which is not deployed"),
])
def test_a_body_without_xml_or_with_a_wrong_version_is_refused(web, body, message):
    client, _ = web
    response = client.put("/api/drafts/order_fulfillment", json=body)
    assert (response.status_code, response.json["error"]) == (400, "bad_request")
    assert response.json["message"].startswith(message)


def test_deploying_a_draft_makes_the_next_version_and_deletes_the_draft(web):
    client, _ = web
    client.put("/api/drafts/order_fulfillment", json={"xml": RENAMED, "based_on_version": 1})
    deployed = client.post("/api/drafts/order_fulfillment/deploy")
    assert deployed.status_code == 201, deployed.json
    assert (deployed.json["key"], deployed.json["version"], deployed.json["new"]) == ("order_fulfillment", 2, True)
    assert [item["version"] for item in deployed.json["deployed"]] == [2]
    assert client.get("/api/definitions/order_fulfillment/xml?version=2").data.decode("utf-8") == RENAMED
    assert client.get("/api/drafts/order_fulfillment").status_code == 404
    assert client.get("/api/drafts").json == {"drafts": []}


def test_a_draft_edited_from_an_older_version_deploys_over_a_newer_one_only_when_asked(web):
    """Version 2 was deployed while a draft edited from version 1 waited: deploying the draft would drop
    version 2's changes, so it is refused (409, the draft kept) unless the analyst says over_newer."""
    client, maestro = web
    client.put("/api/drafts/order_fulfillment", json={"xml": RENAMED, "based_on_version": 1})
    newer = RENAMED.replace("Charge the card", "Charge the card now")
    assert maestro.deploy([("elsewhere.bpmn", newer.encode())])[0]["version"] == 2
    refused = client.post("/api/drafts/order_fulfillment/deploy")
    assert (refused.status_code, refused.json["error"]) == (409, "newer_version")
    assert refused.json["message"].startswith(
        "version 2 of 'order_fulfillment' was deployed after version 1, which this draft was edited from")
    assert "/processes/order_fulfillment/compare?from=1&to=2" in refused.json["message"]
    assert client.get("/api/drafts/order_fulfillment").json["xml"] == RENAMED
    assert [v["version"] for v in maestro.definition_versions("order_fulfillment")] == [1, 2]

    deployed = client.post("/api/drafts/order_fulfillment/deploy?over_newer=true")
    assert (deployed.status_code, deployed.json["version"]) == (201, 3)
    assert client.get("/api/definitions/order_fulfillment/xml?version=3").data.decode("utf-8") == RENAMED


def test_a_draft_edited_from_no_version_of_a_deployed_process_is_refused_unless_asked(web):
    client, _ = web
    client.put("/api/drafts/order_fulfillment", json={"xml": RENAMED})
    refused = client.post("/api/drafts/order_fulfillment/deploy")
    assert (refused.status_code, refused.json["error"]) == (409, "newer_version")
    assert refused.json["message"].startswith(
        "version 1 of 'order_fulfillment' was deployed after this draft was started")
    assert client.post("/api/drafts/order_fulfillment/deploy?over_newer=1").status_code == 201


def test_a_draft_with_problems_is_refused_like_an_upload_and_kept(web):
    client, _ = web
    client.put("/api/drafts/scripted", json={"xml": GROOVY})
    refused = client.post("/api/drafts/scripted/deploy")
    assert (refused.status_code, refused.json["error"]) == (422, "invalid_diagram")
    problem, = refused.json["errors"]
    assert (problem["file"], problem["line"], problem["element"]) == ("scripted.bpmn", 6, "calc")
    assert "groovy" in problem["message"]
    assert client.get("/api/drafts/scripted").json["xml"] == GROOVY
    assert [d["key"] for d in client.get("/api/definitions").json] == ["order_fulfillment"]


def test_a_draft_saved_again_while_the_old_one_deployed_is_kept(web):
    _, maestro = web
    maestro.save_draft("order_fulfillment", RENAMED, "ana")
    assert maestro.delete_draft("order_fulfillment", if_xml=SAGA_XML) is False
    assert maestro.draft("order_fulfillment")["xml"] == RENAMED


def test_deleting_a_draft(web):
    client, _ = web
    client.put("/api/drafts/order_fulfillment", json={"xml": RENAMED})
    response = client.delete("/api/drafts/order_fulfillment")
    assert (response.status_code, response.data) == (204, b"")
    assert client.get("/api/drafts/order_fulfillment").status_code == 404


@pytest.mark.parametrize("method, path", [("GET", "/api/drafts/nothing"), ("DELETE", "/api/drafts/nothing"),
                                          ("POST", "/api/drafts/nothing/deploy")])
def test_a_missing_draft_is_a_json_404(web, method, path):
    client, _ = web
    response = client.open(path, method=method)
    assert (response.status_code, response.json) == (404, {"error": "not_found", "message": "no draft of 'nothing'"})


@pytest.mark.parametrize("method, path, body", [("PUT", "/api/drafts/order_fulfillment", {"xml": RENAMED}),
                                                ("DELETE", "/api/drafts/order_fulfillment", None),
                                                ("POST", "/api/drafts/order_fulfillment/deploy", None)])
def test_a_page_on_another_site_cannot_change_drafts(web, method, path, body):
    client, maestro = web
    maestro.save_draft("order_fulfillment", SAGA_XML, "ana")
    response = client.open(path, method=method, json=body, headers={"Origin": "https://evil.example"})
    assert (response.status_code, response.json["error"]) == (403, "cross_origin")
    assert maestro.draft("order_fulfillment")["xml"] == SAGA_XML
    assert [v["version"] for v in maestro.definition_versions("order_fulfillment")] == [1]
