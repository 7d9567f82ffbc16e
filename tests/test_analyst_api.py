"""The editor's API (issue 13): lint against this server, the handler catalog and templates, deploy
refusing unbound service tasks, and trying a diagram in memory."""
import io
import re

import pytest
from web_helpers import SAGA, signed_in, web_app

from webapp.app import create_app

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" \
xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="{key}" isExecutable="true">
"""
TAIL = """  </bpmn:process>
</bpmn:definitions>
"""

UNBOUND = HEAD.format(key="billing") + """    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="to_charge" sourceRef="start" targetRef="charge"/>
    <bpmn:serviceTask id="charge" name="Charge card" camunda:type="external" camunda:topic="charge_card"/>
    <bpmn:sequenceFlow id="to_ship" sourceRef="charge" targetRef="ship"/>
    <bpmn:serviceTask id="ship" camunda:type="external" camunda:topic="ship"/>
    <bpmn:sequenceFlow id="to_done" sourceRef="ship" targetRef="done"/>
    <bpmn:endEvent id="done"/>
""" + TAIL

MISSING_CONDITION = HEAD.format(key="routing") + """    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="to_choice" sourceRef="start" targetRef="choice"/>
    <bpmn:exclusiveGateway id="choice"/>
    <bpmn:sequenceFlow id="big" sourceRef="choice" targetRef="done"><bpmn:conditionExpression>\
amount &gt; 100</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="small" sourceRef="choice" targetRef="done"/>
    <bpmn:endEvent id="done"/>
""" + TAIL

SCRIPTS = HEAD.format(key="scripted") + """    <bpmn:startEvent id="start">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="quantity" type="long"/>
      </camunda:formData></bpmn:extensionElements>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="to_total" sourceRef="start" targetRef="total"/>
    <bpmn:scriptTask id="total"><bpmn:script>price = 3
total = quantity * price</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="to_discount" sourceRef="total" targetRef="discount"/>
    <bpmn:scriptTask id="discount"><bpmn:script>net = total - rebate * len(coupons)</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="to_done" sourceRef="discount" targetRef="done"/>
    <bpmn:endEvent id="done"/>
""" + TAIL

NOT_WELL_FORMED = "<bpmn:definitions"


@pytest.fixture
def web(tmp_path):
    """A client of the app whose server loaded the seed saga's and the web fixtures' handlers."""
    app, maestro = web_app(tmp_path)
    return signed_in(app.test_client()), maestro


def lint(client, xml, name="diagram.bpmn"):
    response = client.post("/api/lint", json={"xml": xml, "name": name})
    assert response.status_code == 200, response.data
    return response.json["problems"]


# -- lint ---------------------------------------------------------------------------


def test_lint_reports_a_service_task_no_handler_of_this_server_binds(web):
    client, _ = web
    assert lint(client, UNBOUND, "billing.bpmn") == [
        {"file": "billing.bpmn", "line": 6, "element": "charge", "message": "no handler is bound to topic 'charge_card'",
         "severity": "error"}]


def test_lint_reports_a_flow_without_a_condition_and_the_variable_the_condition_reads(web):
    client, _ = web
    assert lint(client, MISSING_CONDITION, "routing.bpmn") == [
        {"file": "routing.bpmn", "line": 8, "element": "small", "severity": "error",
         "message": "this flow leaves a gateway without a condition and is not the gateway's default flow: "
                    "add a condition, or make it the default flow"},
        {"file": "routing.bpmn", "line": 7, "element": "big", "severity": "warning",
         "message": "the condition reads 'amount', and no form field, script, data object, mapping or result "
                    "variable in this diagram sets it: a handler or the start data must"}]


def test_lint_warns_of_what_a_script_reads_that_nothing_sets_but_not_of_form_fields_or_script_results(web):
    client, _ = web
    assert lint(client, SCRIPTS, "scripted.bpmn") == [
        {"file": "scripted.bpmn", "line": 13, "element": "discount", "severity": "warning",
         "message": "the script reads 'rebate' and 'coupons', and no form field, script, data object, mapping or "
                    "result variable in this diagram sets them: a handler or the start data must"}]


def test_lint_does_not_warn_of_what_a_user_task_without_declared_fields_may_set(web):
    client, _ = web
    approval = MISSING_CONDITION.replace('<bpmn:sequenceFlow id="to_choice" sourceRef="start" targetRef="choice"/>',
                                         '<bpmn:sequenceFlow id="to_review" sourceRef="start" targetRef="review"/>'
                                         '<bpmn:userTask id="review"/>'
                                         '<bpmn:sequenceFlow id="to_choice" sourceRef="review" targetRef="choice"/>')
    assert [problem["severity"] for problem in lint(client, approval)] == ["error"]  # the flow without condition


def test_lint_of_a_good_diagram_finds_nothing_and_says_nothing_of_handlers_it_does_not_use(web):
    client, _ = web
    assert lint(client, SAGA.read_text(), "saga.bpmn") == []


def test_lint_of_text_that_is_no_diagram_says_so_as_a_problem(web):
    client, _ = web
    problem, = lint(client, NOT_WELL_FORMED)
    assert (problem["file"], problem["line"], problem["severity"]) == ("diagram.bpmn", 1, "error")
    assert problem["message"].startswith("not well-formed XML")
    assert lint(client, "<data/>") == [{"file": "diagram.bpmn", "line": 1, "element": "", "severity": "error",
                                        "message": "not a BPMN file: its root element is <data>, not "
                                                   "<bpmn:definitions>"}]


def test_lint_reads_the_text_it_is_sent_whatever_encoding_its_declaration_names(web):
    client, _ = web
    latin = SAGA.read_text().replace('encoding="UTF-8"', 'encoding="ISO-8859-1"', 1)
    assert lint(client, latin.replace('name="Order fulfillment"', 'name="Bestellung für Müller"')) == []


@pytest.mark.parametrize("body, words", [({}, '"xml" (the BPMN diagram, as text) is required'),
                                         ({"xml": 3}, '"xml" (the BPMN diagram, as text) is required'),
                                         ({"xml": UNBOUND, "name": 1}, '"name" must be a string (the file name problems are reported in)')])
def test_lint_without_a_diagram_is_a_bad_request(web, body, words):
    client, _ = web
    response = client.post("/api/lint", json=body)
    assert (response.status_code, response.json) == (400, {"error": "bad_request", "message": words})


def test_lint_from_another_site_is_refused(web):
    client, _ = web
    response = client.post("/api/lint", json={"xml": UNBOUND}, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403 and response.json["error"] == "cross_origin"


# -- deploy refuses what this server cannot run -------------------------------------


def test_the_api_refuses_to_deploy_a_service_task_no_handler_binds(web):
    client, _ = web
    response = client.post("/api/definitions?name=billing.bpmn", data=UNBOUND.encode(),
                           content_type="application/xml")
    assert response.status_code == 422
    assert response.json == {"error": "invalid_diagram", "message": "1 problem(s); nothing was deployed",
                             "errors": [{"file": "billing.bpmn", "line": 6, "element": "charge",
                                         "message": "no handler is bound to topic 'charge_card'"}]}
    assert client.get("/api/definitions").json == []


def test_the_upload_page_refuses_to_deploy_a_service_task_no_handler_binds(web):
    client, _ = web
    page = client.get("/processes").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    response = client.post("/processes", data={"csrf_token": token,
                                               "files": [(io.BytesIO(UNBOUND.encode()), "billing.bpmn")]})
    assert response.status_code == 422
    text = response.get_data(as_text=True).replace("&#39;", "'")
    assert "no handler is bound to topic 'charge_card'" in text and "billing.bpmn" in text
    assert client.get("/api/definitions").json == []


def test_a_server_without_a_worker_deploys_what_other_workers_bind_and_only_warns_of_it(tmp_path):
    """`maestro serve --no-worker`: workers elsewhere run what it deploys, with handlers it may not have."""
    _, maestro = web_app(tmp_path)
    client = signed_in(create_app(maestro, secret_key="test", runs_handlers=False).test_client())
    assert lint(client, UNBOUND, "billing.bpmn") == [
        {"file": "billing.bpmn", "line": 6, "element": "charge", "severity": "warning",
         "message": "no handler is bound to topic 'charge_card' here; the workers that run it must bind it"}]
    response = client.post("/api/definitions?name=billing.bpmn", data=UNBOUND.encode(),
                           content_type="application/xml")
    assert (response.status_code, response.json["key"], response.json["version"]) == (201, "billing", 1)


# -- the handler catalog ------------------------------------------------------------

SAGA_TOPICS = ["cancel_invoice", "checkout", "distribution_center", "invoice", "notify_customer", "payment",
               "refund_payment", "release_distribution_center", "release_stock", "shipping", "stock"]


def test_the_catalog_lists_every_handler_of_the_server_with_its_docstring(web):
    client, _ = web
    handlers = client.get("/api/handlers").json["handlers"]
    assert [entry["topic"] for entry in handlers] == sorted(SAGA_TOPICS + ["call_partner", "record", "reject",
                                                                           "ship"])
    by_topic = {entry["topic"]: entry for entry in handlers}
    assert by_topic["payment"] == {"topic": "payment", "name": "payment", "undo": False, "undo_doc": None,
                                   "doc": "Charges `amount` (100 by default); sets `payment_id` and "
                                          "`amount_charged`."}
    assert by_topic["ship"] == {"topic": "ship", "name": "ship", "doc": "", "undo": False, "undo_doc": None}


def test_the_catalog_says_which_handlers_have_an_undo(web):
    client, maestro = web

    @maestro.handlers.undo("payment")
    def refund(ctx):
        """Gives the money back.

        Only the first paragraph is shown."""
    payment = next(e for e in client.get("/api/handlers").json["handlers"] if e["topic"] == "payment")
    assert (payment["undo"], payment["undo_doc"]) == (True, "Gives the money back.")


def test_each_handler_is_an_element_template_that_binds_a_service_task_to_its_topic(web):
    client, _ = web
    templates = client.get("/api/element-templates").json
    assert [t["id"] for t in templates] == [f"maestro.handler.{topic}" for topic in sorted(
        SAGA_TOPICS + ["call_partner", "record", "reject", "ship"])]
    stock = next(t for t in templates if t["id"] == "maestro.handler.stock")
    assert stock == {
        "$schema": "https://unpkg.com/@camunda/element-templates-json-schema/resources/schema.json",
        "id": "maestro.handler.stock", "name": "Stock", "version": 1,
        "description": "Reserves the ordered items in stock; sets `reservation_id`.",
        "appliesTo": ["bpmn:ServiceTask"],
        "properties": [
            {"type": "Hidden", "value": "external", "binding": {"type": "property", "name": "camunda:type"}},
            {"label": "Topic", "type": "String", "value": "stock", "editable": False,
             "description": "the handler's topic on this server",
             "binding": {"type": "property", "name": "camunda:topic"}}]}


# -- trying a diagram in memory -----------------------------------------------------

FORWARD = ["order_received", "checkout", "payment", "stock", "distribution_center", "invoice"]


def try_saga(client, **body):
    response = client.post("/api/try", json={"xml": SAGA.read_text(), "name": "saga.bpmn", **body})
    assert response.status_code == 200, response.data
    return response.json


def steps(result):
    return [(step["element"], step["state"], step["undo_of"]) for step in result["path"]]


def test_a_try_with_the_servers_handlers_runs_to_the_end(web):
    client, maestro = web
    result = try_saga(client, variables={"amount": 42})
    assert result["status"] == "completed" and result["error"] is None
    assert steps(result) == [(e, "completed", None) for e in FORWARD + ["shipping", "order_fulfilled"]]
    assert result["variables"]["steps"] == ["checkout", "payment", "stock", "distribution_center", "invoice",
                                            "shipping"]
    assert result["variables"]["amount_charged"] == 42
    assert result["elements"]["payment"] == {"state": "completed", "count": 1}
    assert client.get("/api/instances").json["instances"] == [] and client.get("/api/definitions").json == []


def test_a_task_chosen_to_do_nothing_completes_without_its_handler(web):
    client, _ = web
    result = try_saga(client, tasks={"payment": "nothing", "stock": "handler"})
    assert result["status"] == "completed"
    assert result["variables"]["steps"] == ["checkout", "stock", "distribution_center", "invoice", "shipping"]
    assert "payment_id" not in result["variables"]


def test_a_business_error_chosen_for_a_step_runs_the_undos_of_the_completed_steps_newest_first(web):
    client, _ = web
    result = try_saga(client, tasks={"invoice": "error:ORDER_FAILED", "refund_payment": "nothing"})
    assert result["status"] == "completed" and result["error"] is None
    assert steps(result) == [
        ("order_received", "completed", None), ("checkout", "completed", None), ("payment", "compensated", None),
        ("stock", "compensated", None), ("distribution_center", "compensated", None), ("invoice", "handled", None),
        ("order_step_failed", "completed", None),
        ("release_distribution_center", "compensation", "distribution_center"),
        ("release_stock", "compensation", "stock"), ("refund_payment", "compensation", "payment"),
        ("roll_back", "completed", None), ("notify_customer", "completed", None),
        ("order_cancelled", "completed", None), ("order_failed", "completed", None)]
    variables = result["variables"]
    assert variables["steps"] == ["checkout", "payment", "stock", "distribution_center",
                                  "release_distribution_center", "release_stock", "notify_customer"]
    assert variables["undone"] == ["release_distribution_center", "release_stock"]  # refund chosen to do nothing
    assert variables["customer_notified"] is True
    assert result["elements"]["invoice"] == {"state": "handled", "count": 1}  # caught: not a crash
    assert result["elements"]["refund_payment"] == {"state": "compensation", "count": 1}


def test_a_failing_step_fails_the_try_as_a_crashed_service_fails_an_instance(web):
    client, _ = web
    result = try_saga(client, tasks={"invoice": "fail"})
    assert result["status"] == "failed"
    assert result["error"] == {"bpmn_id": "invoice", "type": "RuntimeError",
                               "message": "RuntimeError: failed on purpose to try compensation"}
    assert steps(result) == [(e, "completed", None) for e in FORWARD[:-1]] + [("invoice", "failed", None)]
    assert result["path"][-1]["error"] == {"message": "RuntimeError: failed on purpose to try compensation",
                                           "type": "RuntimeError"}
    assert result["variables"]["steps"] == ["checkout", "payment", "stock", "distribution_center"]


def test_a_try_binds_a_task_the_server_has_no_handler_for_when_it_is_chosen_to_do_nothing(web):
    client, _ = web
    response = client.post("/api/try", json={"xml": UNBOUND, "tasks": {"charge": "nothing"}})
    assert response.status_code == 200
    assert (response.json["status"], response.json["variables"]) == ("completed", {"shipped": True})


def test_a_try_of_a_diagram_with_problems_is_refused_with_them(web):
    client, _ = web
    response = client.post("/api/try", json={"xml": UNBOUND, "name": "billing.bpmn"})
    assert response.status_code == 422
    assert response.json["errors"] == [{"file": "billing.bpmn", "line": 6, "element": "charge",
                                        "message": "no handler is bound to topic 'charge_card'"}]


@pytest.mark.parametrize("body, words", [
    ({"tasks": {"nowhere": "nothing"}}, "'nowhere' in \"tasks\" is no service task of the diagram"),
    ({"tasks": {"payment": "explode"}}, 'the choice for \'payment\' must be "handler", "nothing", "fail" or '
                                        '"error:CODE", not \'explode\''),
    ({"variables": [1]}, '"variables" and "tasks" must be JSON objects'),
])
def test_a_try_with_bad_choices_is_a_bad_request(web, body, words):
    client, _ = web
    response = client.post("/api/try", json={"xml": SAGA.read_text(), **body})
    assert response.status_code == 400 and words in response.json["message"]
