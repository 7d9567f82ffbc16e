"""Sign-in and roles (webapp/access.py, webapp/sign_in.py): who may call what, with which credentials,
and that the history names the person who acted."""
import re
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from durable_helpers import drain
from test_webapp_api import deploy_all
from web_helpers import TEST_PASSWORD, api_token, csrf_token, sign_in_with_form, signed_in, web_app

from engine.durable.store.models import utcnow
from webapp.access import ROLES, SIGNED_IN, is_public, role_of
from webapp.sign_in import SignInRefused, sign_in_person

WRITES = ("POST", "PUT", "PATCH", "DELETE")
# What the issue says each state-changing endpoint needs (a new endpoint is checked against its own mark).
EXPECTED = {
    "api.upload_definitions": "modeler", "api.start_instance": "worker", "api.complete_task": "worker",
    "api.retry_instance": "operator", "api.cancel_instance": "operator", "api.publish_message": "operator",
    "api.broadcast_signal": "operator", "drafts_api.save_draft": "modeler", "drafts_api.delete_draft": "modeler",
    "drafts_api.deploy_draft": "modeler", "modeling_api.lint": "modeler", "modeling_api.try_diagram": "modeler",
    "pages.upload": "modeler", "pages.start": "worker", "pages.complete": "worker", "pages.retry": "operator",
    "pages.cancel": "operator", "people_api.new_token": SIGNED_IN, "people_api.revoke_token": SIGNED_IN,
    "people_api.add_person": "admin", "people_api.change_person": "admin", "people_api.reset_password": "admin",
    "account.create_token": SIGNED_IN, "account.revoke_token": SIGNED_IN, "people.add_person": "admin",
    "people.change_person": "admin", "people.reset_password": "admin",
}
DUMMY_ARGUMENTS = {"token_id": "999999", "name": "nobody"}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app, _ = web_app(tmp_path_factory.mktemp("access"))
    return app


@pytest.fixture(scope="module")
def clients(app):
    """A test client per role, each signed in by a token of an account with that role only."""
    return {role: signed_in(app.test_client(), role) for role in ROLES}


def _writes(app):
    """(endpoint, method, path with dummy arguments) of every state-changing rule that is not public."""
    found = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        for method in sorted(set(rule.methods) & set(WRITES)):
            if not is_public(rule.endpoint, view):
                path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: DUMMY_ARGUMENTS.get(m.group(1), "x"), rule.rule)
                found.append((rule.endpoint, method, path))
    return found


def test_every_state_changing_endpoint_names_the_role_it_needs(app):
    unmarked = [(endpoint, method) for endpoint, method, _ in _writes(app)
                if role_of(app.view_functions[endpoint], method) is None]
    assert unmarked == [], "mark these views with @needs(role), @signed_in or @public (webapp/access.py)"
    for endpoint, method, _ in _writes(app):
        if endpoint in EXPECTED:
            assert role_of(app.view_functions[endpoint], method) == EXPECTED[endpoint], endpoint


def _allowed(needed, role):
    return needed == SIGNED_IN or role == "admin" or needed == role or needed == "viewer"


def pytest_generate_tests(metafunc):
    if "write" in metafunc.fixturenames:
        app, _ = web_app(Path(tempfile.mkdtemp(prefix="maestro-rules-")))
        writes = _writes(app)
        metafunc.parametrize("write", writes, ids=[f"{method} {path}" for _, method, path in writes])


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_refused_or_let_through_on_every_state_changing_endpoint(app, clients, write, role):
    endpoint, method, path = write
    needed = role_of(app.view_functions[endpoint], method)
    response = clients[role].open(path, method=method, json={})
    if _allowed(needed, role):
        assert response.status_code not in (401, 403), (response.status_code, response.get_data(as_text=True)[:300])
    else:
        assert response.status_code == 403, response.status_code
        if path.startswith("/api/"):
            assert response.json == {"error": "forbidden",
                                     "message": f"this needs the role {needed}; {role}-tester has {role}"}


def test_a_new_write_endpoint_without_a_mark_is_closed(tmp_path):
    app, _ = web_app(tmp_path)
    app.add_url_rule("/api/unmarked", "unmarked", lambda: "done", methods=["POST"])
    app.add_url_rule("/api/unmarked-read", "unmarked_read", lambda: "read", methods=["GET"])
    admin = signed_in(app.test_client(), "admin")
    refused = admin.post("/api/unmarked")
    assert refused.status_code == 403 and "names no role" in refused.json["message"]
    assert admin.get("/api/unmarked-read").get_data(as_text=True) == "read"  # a read needs viewer


def test_without_credentials_the_api_says_401_and_pages_send_to_sign_in(tmp_path):
    app, maestro = web_app(tmp_path)
    client = app.test_client()
    refused = client.post("/api/definitions/x/instances", json={})
    assert refused.status_code == 401 and refused.json["error"] == "unauthorized"
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/instances").status_code == 401
    assert client.get("/metrics").status_code == 401
    page = client.get("/instances?status=failed")
    assert page.status_code == 302 and page.headers["Location"] == "/sign-in?next=/instances%3Fstatus%3Dfailed"
    form = client.post("/instances/x/cancel", headers={"Referer": "http://localhost/instances/x"})
    assert form.status_code == 302 and form.headers["Location"] == "/sign-in?next=/instances/x"
    assert client.get("/api/health").status_code == 200 and client.get("/api/openapi.json").status_code == 200
    assert client.get("/static/style.css").status_code == 200
    assert maestro.instances() == []


def test_unknown_revoked_expired_and_disabled_tokens_are_401(tmp_path):
    app, maestro = web_app(tmp_path)
    client = app.test_client()

    def status(token):
        return client.get("/api/instances", headers={"Authorization": f"Bearer {token}"}).status_code

    live = api_token(maestro, "viewer", "vera")
    assert status(live) == 200
    assert status("mae_not-a-token-anyone-has") == 401
    assert client.get("/api/instances", headers={"Authorization": "Basic dmVyYTpwYXNz"}).status_code == 401
    revoked = maestro.people.new_token("vera", "to revoke")
    maestro.people.revoke_token("vera", revoked["id"])
    assert status(revoked["token"]) == 401
    expired = maestro.people.new_token("vera", "expired", expires_at=utcnow() - timedelta(seconds=1))
    assert status(expired["token"]) == 401
    maestro.people.update("vera", disabled=True)
    assert status(live) == 401
    assert [token["revoked"] for token in maestro.people.tokens("vera")] == [True, True, True]


def test_only_the_secrets_hash_is_stored_and_its_last_use_is_kept(tmp_path):
    app, maestro = web_app(tmp_path)
    made = maestro.people.new_token(maestro.people.add("ci", ["worker"])[0]["name"], "CI")
    with maestro.engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT secret_hash, prefix FROM api_tokens").one()
    assert made["token"] not in stored and len(stored[0]) == 64 and made["token"].startswith(stored[1])
    app.test_client().get("/api/instances", headers={"Authorization": f"Bearer {made['token']}"})
    assert maestro.people.tokens("ci")[0]["last_used_at"] is not None


def test_a_session_writes_to_the_api_only_with_the_pages_csrf_token(tmp_path):
    app, maestro = web_app(tmp_path)
    maestro.people.add("wanda", ["worker"], password=TEST_PASSWORD)
    client = app.test_client()
    token = sign_in_with_form(client, "wanda")
    without = client.post("/api/tokens", json={"name": "laptop"})
    assert without.status_code == 403 and without.json["error"] == "csrf"
    assert client.post("/api/tokens", json={"name": "laptop"}, headers={"X-CSRFToken": "forged"}).status_code == 403
    made = client.post("/api/tokens", json={"name": "laptop"}, headers={"X-CSRFToken": token})
    assert made.status_code == 201 and made.json["token"].startswith(made.json["prefix"])
    assert [t["name"] for t in client.get("/api/tokens").json["tokens"]] == ["laptop"]
    assert client.get("/api/me").json["name"] == "wanda"


def test_a_wrong_password_shows_the_page_again_without_saying_which_part_was_wrong(tmp_path):
    app, maestro = web_app(tmp_path)
    maestro.people.add("wanda", ["worker"], password=TEST_PASSWORD)
    client = app.test_client()
    answers = [client.post("/sign-in", data={"csrf_token": csrf_token(client, "/sign-in"), "name": name,
                                             "password": password})
               for name, password in (("wanda", "wrong-password"), ("nobody", TEST_PASSWORD))]
    assert [answer.status_code for answer in answers] == [401, 401]
    texts = [re.search(r'id="sign-in-error">([^<]+)<', answer.get_data(as_text=True)).group(1) for answer in answers]
    assert texts[0] == texts[1] == "That name and password do not match an account that may sign in."
    assert client.get("/api/me").status_code == 401


def test_many_failed_sign_ins_from_one_address_must_wait(tmp_path):
    app, maestro = web_app(tmp_path)
    maestro.people.add("wanda", ["worker"], password=TEST_PASSWORD)
    client = app.test_client()
    form = {"csrf_token": csrf_token(client, "/sign-in"), "name": "wanda"}
    statuses = [client.post("/sign-in", data={**form, "password": f"guess-{n}"}).status_code for n in range(5)]
    assert statuses == [401] * 5
    assert client.post("/sign-in", data={**form, "password": TEST_PASSWORD}).status_code == 429


@pytest.mark.parametrize("target, lands", [("/instances?status=failed", "/instances?status=failed"),
                                           ("//evil.example/x", "/"), ("https://evil.example/", "/"),
                                           ("/\\evil.example", "/")])
def test_signing_in_goes_back_only_to_a_page_of_this_site(tmp_path, target, lands):
    app, maestro = web_app(tmp_path)
    maestro.people.add("wanda", ["worker"], password=TEST_PASSWORD)
    client = app.test_client()
    answer = client.post("/sign-in", data={"csrf_token": csrf_token(client, "/sign-in"), "name": "wanda",
                                           "password": TEST_PASSWORD, "next": target})
    assert answer.status_code == 302 and answer.headers["Location"] == lands


def test_signing_out_ends_the_session(tmp_path):
    app, maestro = web_app(tmp_path)
    maestro.people.add("wanda", ["worker"], password=TEST_PASSWORD)
    client = app.test_client()
    sign_in_with_form(client, "wanda")
    page = client.get("/processes").get_data(as_text=True)
    assert 'id="signed-in"' in page and "wanda" in page
    assert client.post("/sign-out", data={"csrf_token": csrf_token(client, "/processes")}).status_code == 302
    assert client.get("/processes").status_code == 302


def test_a_disabled_account_is_signed_out_at_its_next_request(tmp_path):
    app, maestro = web_app(tmp_path)
    maestro.people.add("wanda", ["worker"], password=TEST_PASSWORD)
    client = app.test_client()
    sign_in_with_form(client, "wanda")
    maestro.people.update("wanda", disabled=True)
    assert client.get("/api/me").status_code == 401
    assert client.post("/sign-in", data={"csrf_token": csrf_token(client, "/sign-in"), "name": "wanda",
                                         "password": TEST_PASSWORD}).status_code == 401


def test_an_identity_providers_sign_in_makes_or_updates_its_account_but_never_takes_a_local_one(tmp_path):
    app, maestro = web_app(tmp_path)
    maestro.people.add("wanda", ["worker"], password=TEST_PASSWORD)
    with app.test_request_context("/"):
        sign_in_person("olga@corp", "Olga", ["operator"], ["ops"])
    with app.test_request_context("/"):
        sign_in_person("olga@corp", "Olga K.", ["viewer"], ["ops", "night"])  # the provider changed her roles
        with pytest.raises(SignInRefused, match="local account"):
            sign_in_person("wanda", "Not Wanda", ["admin"], [])
    olga = maestro.people.get("olga@corp")
    assert (olga["source"], olga["display_name"], olga["roles"], olga["groups"]) == \
        ("oidc", "Olga K.", ["viewer"], ["ops", "night"])
    assert maestro.people.get("wanda")["roles"] == ["worker"]
    assert maestro.people.authenticate("olga@corp", "") is None  # no password here


def test_admins_add_change_disable_and_reset_people_through_the_api(tmp_path):
    app, maestro = web_app(tmp_path)
    admin = signed_in(app.test_client(), "admin")
    added = admin.post("/api/people", json={"name": "otto", "roles": ["operator"], "groups": ["ops"]})
    assert added.status_code == 201 and len(added.json["password"]) >= 16
    assert maestro.people.authenticate("otto", added.json["password"])["roles"] == ["operator"]
    assert admin.post("/api/people", json={"name": "otto", "roles": ["viewer"]}).status_code == 409
    assert admin.post("/api/people", json={"name": "x", "roles": ["boss"]}).json["message"].startswith("no role")
    changed = admin.patch("/api/people/otto", json={"roles": ["operator", "worker"], "groups": []})
    assert changed.status_code == 200 and changed.json["roles"] == ["worker", "operator"]
    reset = admin.post("/api/people/otto/password", json={})
    assert maestro.people.authenticate("otto", reset.json["password"]) is not None
    assert maestro.people.authenticate("otto", added.json["password"]) is None
    assert admin.patch("/api/people/otto", json={"disabled": True}).json["disabled"] is True
    assert maestro.people.authenticate("otto", reset.json["password"]) is None
    assert admin.patch("/api/people/admin-tester", json={"disabled": True}).status_code == 400
    assert admin.patch("/api/people/admin-tester", json={"roles": ["viewer"]}).status_code == 400
    assert [person["name"] for person in admin.get("/api/people").json["people"]] == ["admin-tester", "otto"]
    assert admin.patch("/api/people/nobody", json={}).status_code == 404


def test_the_people_page_is_for_admins_and_shows_a_new_password_once(tmp_path):
    app, _ = web_app(tmp_path)
    viewer = signed_in(app.test_client(), "viewer")
    refused = viewer.get("/people")
    assert refused.status_code == 403 and "this needs the role admin" in refused.get_data(as_text=True)
    assert ">People<" not in viewer.get("/processes").get_data(as_text=True)
    admin = signed_in(app.test_client(), "admin")
    token = csrf_token(admin, "/people")
    added = admin.post("/people", data={"csrf_token": token, "name": "pia", "roles": ["modeler"], "groups": "a, b"})
    page = added.get_data(as_text=True)
    assert added.status_code == 201 and re.search(r"The password of <strong>pia</strong> is <code>[^<]{16,}</code>", page)
    assert "The password of" not in admin.get("/people").get_data(as_text=True)


def test_the_account_page_shows_a_new_token_once_and_revokes_it(tmp_path):
    app, maestro = web_app(tmp_path)
    client = signed_in(app.test_client(), "worker")
    token = csrf_token(client, "/account")
    made = client.post("/account/tokens", data={"csrf_token": token, "name": "laptop"})
    secret = re.search(r'<code id="new-token">([^<]+)</code>', made.get_data(as_text=True)).group(1)
    assert maestro.people.person_for_token(secret)["name"] == "worker-tester"
    laptop = next(t for t in maestro.people.tokens("worker-tester") if t["name"] == "laptop")
    assert secret not in client.get("/account").get_data(as_text=True)
    client.post(f"/account/tokens/{laptop['id']}/revoke", data={"csrf_token": token})
    assert maestro.people.person_for_token(secret) is None


def test_the_history_names_the_person_who_started_completed_retried_and_cancelled(tmp_path, monkeypatch):
    app, maestro = web_app(tmp_path)
    deploy_all(signed_in(app.test_client(), "modeler", "mo"))
    assert {d["deployed_by"] for d in maestro.definitions()} == {"mo"}
    wanda = signed_in(app.test_client(), "worker", "wanda")
    otto = signed_in(app.test_client(), "operator", "otto")

    started = wanda.post("/api/definitions/order_approval/instances", json={"data": {"customer": "ACME"}}).json["id"]
    drain(maestro)
    assert maestro.show(started)["started_by"] == "wanda"
    assert wanda.post(f"/api/instances/{started}/tasks/approve/complete", json={"data": {"approved": True, "reason": "ok"}}) \
        .status_code == 200
    completed = [e for e in maestro.show(started)["history"] if e["bpmn_id"] == "approve" and e["state"] == "COMPLETED"]
    assert [e["actor"] for e in completed] == ["wanda"]

    down = tmp_path / "partner-down"
    down.touch()
    monkeypatch.setenv("MAESTRO_TEST_PARTNER_DOWN", str(down))
    failing = wanda.post("/api/definitions/partner_call/instances", json={}).json["id"]
    drain(maestro)
    down.unlink()
    assert otto.post(f"/api/instances/{failing}/retry").status_code == 200
    retried = [e for e in maestro.show(failing)["history"] if e["state"] == "RETRIED"]
    assert [(e["bpmn_id"], e["actor"]) for e in retried] == [("call_partner", "otto")]
    drain(maestro)
    assert maestro.show(failing)["status"] == "completed"

    waiting = wanda.post("/api/definitions/order_approval/instances", json={"data": {"customer": "ACME"}}).json["id"]
    drain(maestro)
    assert otto.post(f"/api/instances/{waiting}/cancel").status_code == 200
    cancelled = [e for e in maestro.show(waiting)["history"] if e["state"] == "CANCELLED"]
    assert cancelled and {e["actor"] for e in cancelled} == {"otto"}
    message = otto.post("/api/messages", json={"name": "nobody_waits", "ttl": 0}).json["id"]
    assert maestro.message(message)["published_by"] == "otto"


@pytest.mark.parametrize("role, offered", [
    ("viewer", set()),
    ("worker", {"start"}),
    ("modeler", {"deploy", "new process", "edit"}),
    ("admin", {"start", "deploy", "new process", "edit"}),
])
def test_pages_offer_only_what_the_person_may_do(tmp_path, role, offered):
    """A control that would only be refused is not shown: deploying and editing to modelers, starting to
    workers (the request itself is checked all the same; see the tests above)."""
    app, _ = web_app(tmp_path)
    deploy_all(signed_in(app.test_client(), "modeler", "mo"))
    client = signed_in(app.test_client(), role)
    processes = client.get("/processes").get_data(as_text=True)
    process = client.get("/processes/order_approval").get_data(as_text=True)
    shown = {"deploy": 'id="upload"' in processes, "new process": 'id="new-process"' in processes,
             "edit": 'id="edit-process"' in process, "start": 'id="start-form"' in process}
    assert {control for control, present in shown.items() if present} == offered
    assert ('id="start-needs-worker"' in process) == ("start" not in offered)


@pytest.mark.parametrize("target", ["//evil.example/", "/\t/evil.example", "/%09/evil.example", "/\n/evil.example",
                                    "https://evil.example/", "/\\evil.example"])
def test_signing_in_never_sends_a_person_to_another_site(tmp_path, target):
    """A browser drops a tab or newline from a URL: "/<tab>/evil.example" would lead to //evil.example."""
    app, maestro = web_app(tmp_path)
    client = app.test_client()
    api_token(maestro, "viewer", "vera")  # the account
    token = csrf_token(client, "/sign-in")
    answer = client.post("/sign-in", data={"csrf_token": token, "name": "vera", "password": TEST_PASSWORD,
                                           "next": target.replace("%09", "\t")})
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    again = client.get("/sign-in", query_string={"next": target.replace("%09", "\t")})  # already signed in
    assert again.status_code == 302 and again.headers["Location"] == "/"


RECEIVE = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:message id="paid" name="payment_received"/>
  <bpmn:process id="wait_for_payment" name="Wait for payment" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="receive"/>
    <bpmn:receiveTask id="receive" name="Payment received" messageRef="paid"/>
    <bpmn:sequenceFlow id="f2" sourceRef="receive" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_the_instance_page_offers_a_task_only_to_who_may_complete_it(tmp_path):
    """A viewer reads that the task waits; a worker it is offered to gets its form; a receive task waiting
    for its message (completing it by hand stands for the message) is triggered by operators only (here an
    admin: the endpoint is a worker's, the rule an operator's)."""
    app, maestro = web_app(tmp_path)
    deploy_all(signed_in(app.test_client(), "modeler", "mo"))
    maestro.deploy([("receive.bpmn", RECEIVE)])
    approval = maestro.start("order_approval", {"customer": "ACME"})["id"]
    receiving = maestro.start("wait_for_payment")["id"]
    drain(maestro)
    viewer, worker = signed_in(app.test_client(), "viewer"), signed_in(app.test_client(), "worker")
    admin = signed_in(app.test_client(), "admin")

    def offered(client, instance_id, element):
        page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
        return f'id="task-{element}-not-yours"' not in page and f'id="task-{element}"' in page

    assert (offered(viewer, approval, "approve"), offered(worker, approval, "approve")) == (False, True)
    refused = worker.post(f"/api/instances/{receiving}/tasks/receive/complete", json={})
    assert refused.status_code == 403 and "needs the operator role" in refused.json["message"]
    assert maestro.show(receiving)["status"] == "waiting"
    # past the role check, the engine's own answer: a catch waiting for its message takes the message
    assert admin.post(f"/api/instances/{receiving}/tasks/receive/complete", json={}).json["error"] == "conflict"


def test_an_admin_cannot_take_their_own_admin_role_on_the_people_page(tmp_path):
    app, maestro = web_app(tmp_path)
    client = app.test_client()
    api_token(maestro, "admin", "ada")
    sign_in_with_form(client, "ada")
    answer = client.post("/people/ada", data={"csrf_token": csrf_token(client, "/people"), "roles": ["viewer"]})
    assert answer.status_code == 302
    assert maestro.people.get("ada")["roles"] == ["admin"]
    assert "nor take its admin role" in client.get("/people").get_data(as_text=True)
