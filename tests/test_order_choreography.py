"""The shipped seed choreography (bpmn/order_choreography), run durably the way a worker runs it: five
processes of one order that react to each other's messages, and undo their work when the order fails."""
import sqlite3

import pytest
from cli_helpers import ROOT
from cli_helpers import maestro as run_maestro
from durable_helpers import drain, fresh_maestro

from engine import Handlers
from engine.durable.startup import load_processes

CHOREOGRAPHY = ROOT / "bpmn" / "order_choreography"
PROCESSES = ["order_placement", "payment_service", "stock_service", "shipping_service", "customer_notification"]
FORWARD = [("order_placement", "place_order"),
           ("payment_service", "charge_payment"), ("payment_service", "create_invoice"),
           ("stock_service", "reserve_stock"), ("stock_service", "allocate_distribution_center"),
           ("shipping_service", "ship_order")]


@pytest.fixture
def choreography(tmp_path):
    """(maestro with the folder deployed and its handlers loaded as a worker loads them, calls): each call
    of a handler appends (its instance's id, the handler's name)."""
    loaded, diagrams = load_processes(CHOREOGRAPHY)
    calls, recording = [], Handlers()
    for table, bind in ((loaded.tasks, recording.task), (loaded.undos, recording.undo)):
        for topic, binding in table.items():
            def record(ctx, function=binding.function):
                calls.append((ctx.instance_id, function.__name__))
                return function(ctx)
            bind(topic)(record)
    maestro = fresh_maestro(tmp_path, recording)
    assert sorted(item["key"] for item in maestro.deploy_paths(diagrams)) == sorted(PROCESSES)
    return maestro, calls


def run_order(maestro, calls, data, business_key):
    """Starts an order and works until nothing is due: ({process key: the instance shown}, [(process key,
    handler)] in the order the handlers were called)."""
    maestro.start("order_placement", data, business_key=business_key)
    drain(maestro)
    rows = maestro.instances(business_key=business_key)
    assert len(rows) == len({row["key"] for row in rows}), "one instance per process"
    shown = {row["key"]: maestro.show(row["id"]) for row in rows}
    key_of = {item["id"]: key for key, item in shown.items()}
    return shown, [(key_of[instance_id], name) for instance_id, name in calls]


def messages(maestro, tmp_path):
    """Every message the order's processes threw, in the order they were thrown: (name, status, thrower's
    process, its element, business key, correlation, [(receiver's process, its element, started)])."""
    with sqlite3.connect(tmp_path / "maestro.db") as db:
        ids = [row[0] for row in db.execute("SELECT id FROM messages ORDER BY published_at, id")]
    found = []
    for message_id in ids:
        message = maestro.message(message_id)
        source = maestro.show(message["source_instance_id"])["key"]
        found.append((message["name"], message["status"], source, message["source_element"], message["business_key"],
                      message["correlation"], sorted((d["key"], d["element"], d["started"])
                                                     for d in message["deliveries"])))
    return found


def assert_nothing_left_waiting(maestro, tmp_path, shown):
    assert {key: item["status"] for key, item in shown.items()} == dict.fromkeys(shown, "completed")
    assert all(item["waiting"] == [] for item in shown.values())
    assert maestro.next_due() is None
    with sqlite3.connect(tmp_path / "maestro.db") as db:
        assert db.execute("SELECT count(*) FROM message_subscriptions").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM messages WHERE status != 'delivered'").fetchone() == (0,)


def test_happy_path_every_service_reacts_in_turn_and_the_customer_hears_it_shipped(choreography, tmp_path):
    maestro, calls = choreography
    shown, called = run_order(maestro, calls, {"amount": 30}, "order-1")

    assert called == FORWARD + [("customer_notification", "notify_order_shipped")]
    assert sorted(shown) == sorted(PROCESSES)
    assert_nothing_left_waiting(maestro, tmp_path, shown)
    assert all(item["business_key"] == "order-1" for item in shown.values())
    assert {key: item["started_by"] for key, item in shown.items()} == {
        "order_placement": "user", "payment_service": "message", "stock_service": "message",
        "shipping_service": "message", "customer_notification": "message"}

    payment, stock = shown["payment_service"]["data"], shown["stock_service"]["data"]
    assert payment["amount_charged"] == 30 and payment["payment_id"].startswith("pay-")
    assert payment["invoice_id"].startswith("inv-") and "payment_undone" not in payment
    assert stock["reservation_id"].startswith("res-") and stock["distribution_center"] == "DC-EAST"
    assert "stock_undone" not in stock
    order = shown["order_placement"]["data"]
    assert order["order_id"] == "order-1" and order["tracking_number"].startswith("trk-")
    tracking = shown["shipping_service"]["data"]["tracking_number"]
    assert shown["customer_notification"]["data"]["customer_told"] == f"Order order-1 shipped, tracking {tracking}"
    ended = {key: [t["bpmn_id"] for t in item["tasks"] if t["state"] == "COMPLETED" and t["type"] == "endEvent"]
             for key, item in shown.items()}
    assert ended == {"order_placement": ["order_completed"], "payment_service": ["payment_settled"],
                     "stock_service": ["stock_settled"], "shipping_service": ["order_shipped"],
                     "customer_notification": ["customer_told_shipped"]}
    assert not any(t["compensated"] or t["undo_of"] for item in shown.values() for t in item["tasks"])

    assert messages(maestro, tmp_path) == [
        ("OrderPlaced", "delivered", "order_placement", "order_placed", "order-1", "order-1",
         [("payment_service", None, True)]),
        ("PaymentCharged", "delivered", "payment_service", "payment_charged", "order-1", "order-1",
         [("stock_service", None, True)]),
        ("StockReserved", "delivered", "stock_service", "stock_reserved", "order-1", "order-1",
         [("shipping_service", None, True)]),
        ("OrderShipped", "delivered", "shipping_service", "order_shipped", "order-1", "order-1",
         [("order_placement", "order_shipped", False)]),
        ("OrderCompleted", "delivered", "order_placement", "order_completed", "order-1", "order-1",
         [("customer_notification", None, True), ("payment_service", "order_completed", False),
          ("stock_service", "order_completed", False)]),
    ]


def test_a_shipping_failure_cancels_the_order_and_the_services_undo_their_work_newest_first(choreography, tmp_path):
    maestro, calls = choreography
    shown, called = run_order(maestro, calls, {"fail_at": "ship_order"}, "order-2")

    # Forward in turn; then, on OrderFailed, payment, stock and notification react side by side.
    assert called[:len(FORWARD)] == FORWARD
    reactions = called[len(FORWARD):]
    assert sorted(reactions) == sorted([
        ("payment_service", "cancel_invoice"), ("payment_service", "refund_payment"),
        ("stock_service", "release_distribution_center"), ("stock_service", "release_stock"),
        ("customer_notification", "notify_order_cancelled")])
    by_process = {key: [name for process, name in reactions if process == key] for key in PROCESSES}
    assert by_process["payment_service"] == ["cancel_invoice", "refund_payment"], "newest first"
    assert by_process["stock_service"] == ["release_distribution_center", "release_stock"], "newest first"

    assert_nothing_left_waiting(maestro, tmp_path, shown)
    payment, stock = shown["payment_service"]["data"], shown["stock_service"]["data"]
    assert payment["payment_undone"] == ["cancel_invoice", "refund_payment"] and payment["refunded"] == 100
    assert stock["stock_undone"] == ["release_distribution_center", "release_stock"]
    assert "tracking_number" not in shown["order_placement"]["data"]
    assert shown["customer_notification"]["data"]["customer_told"] == "Order order-2 cancelled"

    def states(key):
        return {t["bpmn_id"]: (t["state"], t["compensated"], t["undo_of"]) for t in shown[key]["tasks"]}

    assert states("shipping_service")["ship_order"][0] == "CANCELLED"
    assert states("shipping_service")["shipping_failed"][0] == "COMPLETED"
    assert states("order_placement")["order_cancelled"][0] == "COMPLETED"
    assert "order_completed" not in states("order_placement"), "the branch not taken is gone"
    payment_states, stock_states = states("payment_service"), states("stock_service")
    assert payment_states["charge_payment"][:2] == payment_states["create_invoice"][:2] == ("COMPLETED", True)
    assert payment_states["payment_rolled_back"][0] == "COMPLETED"
    assert [t["bpmn_id"] for t in shown["payment_service"]["tasks"] if t["undo_of"]] == ["void_invoice",
                                                                                        "refund_charge"]
    assert [t["bpmn_id"] for t in shown["stock_service"]["tasks"] if t["undo_of"]] == ["free_distribution_center",
                                                                                      "unreserve_stock"]
    assert stock_states["stock_rolled_back"][0] == "COMPLETED"

    assert messages(maestro, tmp_path) == [
        ("OrderPlaced", "delivered", "order_placement", "order_placed", "order-2", "order-2",
         [("payment_service", None, True)]),
        ("PaymentCharged", "delivered", "payment_service", "payment_charged", "order-2", "order-2",
         [("stock_service", None, True)]),
        ("StockReserved", "delivered", "stock_service", "stock_reserved", "order-2", "order-2",
         [("shipping_service", None, True)]),
        ("ShippingFailed", "delivered", "shipping_service", "shipping_failed", "order-2", "order-2",
         [("order_placement", "shipping_failed", False)]),
        ("OrderFailed", "delivered", "order_placement", "order_cancelled", "order-2", "order-2",
         [("customer_notification", None, True), ("payment_service", "order_failed", False),
          ("stock_service", "order_failed", False)]),
    ]


def test_a_failing_service_undoes_its_own_completed_steps_and_the_earlier_services_theirs(choreography, tmp_path):
    maestro, calls = choreography
    shown, called = run_order(maestro, calls, {"fail_at": "allocate_distribution_center"}, "order-3")

    assert called[:5] == FORWARD[:5]
    # The stock service's failing step undoes its completed one before it announces StockFailed.
    assert called[5] == ("stock_service", "release_stock")
    assert sorted(called[6:]) == sorted([("payment_service", "cancel_invoice"), ("payment_service", "refund_payment"),
                                         ("customer_notification", "notify_order_cancelled")])
    assert [name for key, name in called[6:] if key == "payment_service"] == ["cancel_invoice", "refund_payment"]
    assert "shipping_service" not in shown
    assert_nothing_left_waiting(maestro, tmp_path, shown)
    assert shown["stock_service"]["data"]["stock_undone"] == ["release_stock"]
    assert shown["payment_service"]["data"]["payment_undone"] == ["cancel_invoice", "refund_payment"]
    assert [(name, source, sorted(key for key, _, _ in receivers))
            for name, _, source, _, _, _, receivers in messages(maestro, tmp_path)] == [
        ("OrderPlaced", "order_placement", ["payment_service"]),
        ("PaymentCharged", "payment_service", ["stock_service"]),
        ("StockFailed", "stock_service", ["order_placement"]),
        ("OrderFailed", "order_placement", ["customer_notification", "payment_service"])]


def test_two_orders_at_once_find_only_their_own_messages(choreography, tmp_path):
    maestro, calls = choreography
    maestro.start("order_placement", {}, business_key="order-a")
    maestro.start("order_placement", {"fail_at": "ship_order"}, business_key="order-b")
    drain(maestro)
    for business_key, told in (("order-a", "shipped"), ("order-b", "cancelled")):
        rows = maestro.instances(business_key=business_key)
        assert sorted(row["key"] for row in rows) == sorted(PROCESSES)
        assert {row["status"] for row in rows} == {"completed"}
        notified = next(maestro.show(row["id"]) for row in rows if row["key"] == "customer_notification")
        assert notified["data"]["customer_told"].startswith(f"Order {business_key} {told}")
        payment = next(maestro.show(row["id"]) for row in rows if row["key"] == "payment_service")
        assert ("payment_undone" in payment["data"]) == (business_key == "order-b")


def test_the_diagrams_lint_clean_with_their_handlers_and_beside_the_saga():
    diagrams = sorted(CHOREOGRAPHY.glob("*.bpmn"))
    assert [path.stem for path in diagrams] == sorted(PROCESSES)
    linted = run_maestro("lint", *diagrams, "--handlers", CHOREOGRAPHY / "handlers.py")
    assert (linted.returncode, linted.stdout.strip()) == (0, "5 file(s): no problems"), linted.stdout + linted.stderr
    handlers, _ = load_processes(ROOT / "bpmn")  # what `maestro serve` loads: no topic bound twice
    assert handlers.duplicates == []


@pytest.mark.parametrize("diagram", PROCESSES)
def test_every_element_is_drawn(diagram):
    from lxml import etree
    root = etree.parse(str(CHOREOGRAPHY / f"{diagram}.bpmn")).getroot()
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
          "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
    drawn = set(root.xpath("//bpmndi:BPMNShape/@bpmnElement | //bpmndi:BPMNEdge/@bpmnElement", namespaces=ns))
    elements = set(root.xpath("//bpmn:process//*[@id][not(contains(local-name(), 'EventDefinition'))]/@id",
                              namespaces=ns))
    assert elements - drawn == set()
    named = root.xpath("//bpmndi:BPMNShape[bpmndi:BPMNLabel]/@bpmnElement", namespaces=ns)
    events = root.xpath("//bpmn:process//*[contains(local-name(), 'Event')][@name]/@id", namespaces=ns)
    assert set(events) <= set(named), "every named event has its label placed"
