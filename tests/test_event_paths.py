"""The event path (Maestro.event_path, GET /api/event-paths, /events): every instance and message of a
business transaction across processes, who threw what and who caught it, how long each waited, and
compensation across processes as one story (tests/fixtures/durable/choreography.bpmn and
cross_process_undo.bpmn)."""
from itertools import pairwise

import pytest
from conftest import make_recorder
from durable_helpers import DURABLE, deliver_published, drain, fresh_maestro
from web_helpers import signed_in

from engine import BpmnError
from engine.durable import NotFound
from engine.durable import event_paths as event_paths_module
from webapp.event_graph import LABEL_ROW, MAX_LABEL_ROWS, layout

TOPICS = ("place", "ship", "charge", "send_receipt", "reserve", "release", "charge_card")
DIAGRAMS = [DURABLE / "choreography.bpmn", DURABLE / "cross_process_undo.bpmn"]


@pytest.fixture
def maestro(tmp_path):
    handlers, _ = make_recorder(*TOPICS, raise_on={"charge_card": BpmnError("DECLINED", "card declined")})
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths(DIAGRAMS)
    return maestro


def ran(maestro, key, business_key):
    """Starts `key` under `business_key` and works until nothing is due; the instance id."""
    instance_id = maestro.start(key, {}, business_key=business_key)["id"]
    drain(maestro)
    return instance_id


def by_key(path):
    """{process key: instance} of a path whose instances are of different processes."""
    return {instance["key"]: instance for instance in path["instances"]}


def named(path):
    """{message name: message} of a path whose messages have different names."""
    return {message["name"]: message for message in path["messages"]}


def edges_by_name(path):
    keys = {instance["id"]: instance["key"] for instance in path["instances"]}
    names = {message["id"]: message["name"] for message in path["messages"]}
    return {(edge["kind"], keys[edge["instance_id"]], names[edge["message_id"]]) for edge in path["edges"]}


def story(path, keys):
    """The timeline as (kind, what) for messages and tasks, and the ends of the instances of `keys`."""
    instance_keys = {instance["id"]: instance["key"] for instance in path["instances"]}
    lines = []
    for entry in path["timeline"]:
        if entry["kind"].startswith("message_"):
            lines.append((entry["kind"], entry["name"], instance_keys.get(entry["instance_id"])))
        elif entry["kind"].startswith("task_"):
            lines.append((entry["kind"], entry["name"], "undo" if entry["undo"] else ""))
        elif entry["kind"] == "instance_ended" and instance_keys[entry["instance_id"]] in keys:
            lines.append((entry["kind"], entry["name"], entry["status"]))
    return lines


def test_a_choreography_of_three_processes_reads_as_one_path(maestro):
    shop_id = ran(maestro, "shop", "order-1")
    ran(maestro, "shop", "order-2")  # another order: none of its path belongs to order-1's
    path = maestro.event_path("order-1")

    assert [(i["key"], i["status"], i["started_by"], i["business_key"]) for i in path["instances"]] == [
        ("shop", "completed", "user", "order-1"), ("payment", "completed", "message", "order-1"),
        ("receipt", "completed", "message", "order-1")]
    instances, messages = by_key(path), named(path)
    assert list(messages) == ["order_placed", "order_paid", "order_shipped"]
    assert instances["shop"]["id"] == shop_id and instances["shop"]["started_by_message"] is None
    assert instances["payment"]["started_by_message"] == messages["order_placed"]["id"]
    assert instances["receipt"]["started_by_message"] == messages["order_shipped"]["id"]
    assert [(m["status"], m["source_instance_id"], m["source_element"]) for m in path["messages"]] == [
        ("delivered", shop_id, "announce"), ("delivered", instances["payment"]["id"], "paid"),
        ("delivered", shop_id, "shipped")]
    assert edges_by_name(path) == {
        ("sent", "shop", "order_placed"), ("started", "payment", "order_placed"),
        ("sent", "payment", "order_paid"), ("reached", "shop", "order_paid"),
        ("sent", "shop", "order_shipped"), ("started", "receipt", "order_shipped")}
    paid = messages["order_paid"]
    assert [(d["instance_id"], d["element"], d["started"]) for d in paid["deliveries"]] == [
        (shop_id, "await_payment", False)]
    assert all(m["wait_seconds"] >= 0 and m["wait_seconds"] == m["deliveries"][0]["wait_seconds"]
               for m in path["messages"])
    assert not path["truncated"]

    moments = [entry["at"] for entry in path["timeline"]]
    assert moments == sorted(moments)
    assert story(path, keys=()) == [
        ("task_completed", "Place order", ""),
        ("message_published", "order_placed", "shop"), ("message_delivered", "order_placed", "payment"),
        ("task_completed", "Charge card", ""),
        ("message_published", "order_paid", "payment"), ("message_delivered", "order_paid", "shop"),
        ("task_completed", "Ship", ""),
        ("message_published", "order_shipped", "shop"), ("message_delivered", "order_shipped", "receipt"),
        ("task_completed", "Send receipt", "")]
    delivered = [entry for entry in path["timeline"] if entry["kind"] == "message_delivered"]
    assert [entry["started"] for entry in delivered] == [True, False, True]
    assert all(entry["wait_seconds"] >= 0 for entry in delivered)


def test_the_path_of_one_instance_follows_its_messages_to_every_process_they_touched(maestro):
    ran(maestro, "shop", "order-1")
    ran(maestro, "shop", "order-2")
    receipt = by_key(maestro.event_path("order-1"))["receipt"]["id"]
    path = maestro.event_path(instance_id=receipt)
    assert path["instance_id"] == receipt and path["key"] is None
    assert [i["key"] for i in path["instances"]] == ["shop", "payment", "receipt"]
    assert {i["business_key"] for i in path["instances"]} == {"order-1"}
    assert len(path["messages"]) == 3


def test_a_failure_message_that_makes_another_process_undo_its_work_is_one_story(maestro):
    booking_id = ran(maestro, "booking", "trip-1")
    path = maestro.event_path("trip-1")
    instances = by_key(path)
    assert [(i["key"], i["status"]) for i in path["instances"]] == [("booking", "completed"),
                                                                    ("charging", "completed")]
    assert edges_by_name(path) == {("sent", "booking", "booking_made"), ("started", "charging", "booking_made"),
                                   ("sent", "charging", "payment_failed"), ("reached", "booking", "payment_failed")}
    assert story(path, keys=("booking",)) == [
        ("task_completed", "Reserve room", ""),
        ("message_published", "booking_made", "booking"), ("message_delivered", "booking_made", "charging"),
        ("task_failed", "Charge card", ""),
        ("message_published", "payment_failed", "charging"), ("message_delivered", "payment_failed", "booking"),
        ("task_completed", "Release room", "undo"),
        ("instance_ended", "booking", "completed")]
    failed = next(entry for entry in path["timeline"] if entry["kind"] == "task_failed")
    assert failed["instance_id"] == instances["charging"]["id"] and "card declined" in failed["error"]
    undo = next(entry for entry in path["timeline"] if entry["undo"])
    assert (undo["instance_id"], undo["element"]) == (booking_id, "release")


def test_messages_nobody_took_show_as_pending_buffered_or_expired(maestro):
    ran(maestro, "shop", "order-1")
    buffered = maestro.publish("order_cancelled", "order-1")["id"]
    deliver_published(maestro, buffered)
    expired = maestro.publish("order_returned", "order-1", ttl=0)["id"]
    deliver_published(maestro, expired)
    pending = maestro.publish("order_rated", "order-1")["id"]  # no worker delivered it yet

    path = maestro.event_path("order-1")
    messages = named(path)
    assert [(messages[name]["id"], messages[name]["status"], messages[name]["source_instance_id"])
            for name in ("order_cancelled", "order_returned", "order_rated")] == [
        (buffered, "buffered", None), (expired, "expired", None), (pending, "pending", None)]
    assert messages["order_cancelled"]["deliveries"] == [] and messages["order_cancelled"]["wait_seconds"] is None
    kinds = {(entry["kind"], entry["name"]) for entry in path["timeline"]}
    assert {("message_buffered", "order_cancelled"), ("message_expired", "order_returned"),
            ("message_pending", "order_rated")} <= kinds
    until = next(entry["until"] for entry in path["timeline"] if entry["kind"] == "message_buffered")
    assert until == messages["order_cancelled"]["expires_at"]
    assert all(edge["message_id"] not in (buffered, expired, pending) for edge in path["edges"])


def test_an_instance_page_lists_the_messages_that_started_continued_and_left_it(maestro):
    shop_id = ran(maestro, "shop", "order-1")
    payment_id = by_key(maestro.event_path("order-1"))["payment"]["id"]

    shop = maestro.instance_messages(shop_id)
    assert shop["started_by"] == []
    assert [(m["name"], m["element"]) for m in shop["continued_by"]] == [("order_paid", "await_payment")]
    assert shop["continued_by"][0]["wait_seconds"] >= 0
    assert [(m["name"], [d["key"] for d in m["deliveries"]]) for m in shop["sent"]] == [
        ("order_placed", ["payment"]), ("order_shipped", ["receipt"])]

    payment = maestro.instance_messages(payment_id)
    assert [m["name"] for m in payment["started_by"]] == ["order_placed"]
    assert payment["continued_by"] == []
    assert [(m["name"], m["deliveries"][0]["instance_id"]) for m in payment["sent"]] == [("order_paid", shop_id)]


def test_a_path_is_bounded_and_says_so(maestro, monkeypatch):
    ran(maestro, "shop", "order-1")
    monkeypatch.setattr(event_paths_module, "MAX_INSTANCES", 2)
    path = maestro.event_path("order-1")
    assert path["truncated"] and len(path["instances"]) == 2
    assert len(path["messages"]) == 3, "messages have their own bound"


def test_what_a_path_starts_from(maestro):
    assert maestro.event_path("nobody") == {"key": "nobody", "instance_id": None, "truncated": False,
                                            "instances": [], "messages": [], "edges": [], "timeline": []}
    with pytest.raises(NotFound):
        maestro.event_path(instance_id="no-such-instance")
    with pytest.raises(NotFound):
        maestro.instance_messages("no-such-instance")
    with pytest.raises(ValueError):
        maestro.event_path()


# -- the API and the pages -------------------------------------------------------------

@pytest.fixture
def client(maestro):
    from webapp import create_app
    return signed_in(create_app(maestro, secret_key="test").test_client())


def test_the_api_gives_the_path_of_a_key_or_an_instance_and_refuses_anything_else(maestro, client):
    shop_id = ran(maestro, "shop", "order-1")
    by_api = client.get("/api/event-paths?key=order-1")
    assert by_api.status_code == 200 and by_api.json == maestro.event_path("order-1")
    assert [i["key"] for i in client.get(f"/api/event-paths?instance={shop_id}").json["instances"]] == [
        "shop", "payment", "receipt"]
    assert client.get("/api/event-paths?key=nobody").json["instances"] == []

    for query in ("", "?key=", f"?key=order-1&instance={shop_id}"):
        refused = client.get(f"/api/event-paths{query}")
        assert refused.status_code == 400 and refused.json["error"] == "bad_request", query
    missing = client.get("/api/event-paths?instance=no-such-instance")
    assert missing.status_code == 404 and missing.json == {"error": "not_found",
                                                           "message": "no instance 'no-such-instance'"}
    operation = client.get("/api/openapi.json").json["paths"]["/api/event-paths"]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} == {"key", "instance"}


def test_the_page_shows_the_path_with_links_to_every_instance_and_message(maestro, client):
    ran(maestro, "booking", "trip-1")
    buffered = maestro.publish("trip_cancelled", "trip-1")["id"]
    deliver_published(maestro, buffered)
    path = maestro.event_path("trip-1")

    page = client.get("/events?key=trip-1")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Event path of <span class=\"subject\">trip-1</span>" in html
    for instance in path["instances"]:
        assert f'href="/instances/{instance["id"]}"' in html
    for message in path["messages"]:
        assert f'href="/messages/{message["id"]}"' in html
    assert f'class="status-tag buffered" href="/messages/{buffered}">trip_cancelled buffered</a>' in html
    assert html.count('<tr class="task-completed undo">') == 1 and "Release room" in html
    assert html.count('<tr class="task-handled">') == 1 and "card declined" in html  # a caught business error

    assert "No instance or message carries" in client.get("/events?key=nobody").get_data(as_text=True)
    assert client.get("/events").status_code == 200
    assert client.get("/events?key=a&instance=b").status_code == 400
    assert client.get("/events?instance=no-such-instance").status_code == 404


def test_a_message_page_and_an_instance_page_link_sender_receivers_and_path(maestro, client):
    booking_id = ran(maestro, "booking", "trip-1")
    failed = next(m for m in maestro.event_path("trip-1")["messages"] if m["name"] == "payment_failed")
    html = client.get(f"/messages/{failed['id']}").get_data(as_text=True)
    assert f'href="/instances/{failed["source_instance_id"]}" id="message-source">charging</a>' in html
    assert f'href="/instances/{booking_id}">booking</a>' in html
    assert 'href="/events?key=trip-1"' in html
    assert client.get("/messages/no-such-message").status_code == 404

    instance_page = client.get(f"/instances/{booking_id}").get_data(as_text=True)
    messages = instance_page[instance_page.index('id="messages"'):]
    assert "Continued by" in messages and f'href="/messages/{failed["id"]}"' in messages
    assert "Sent" in messages and "booking_made" in messages and "Started by" not in messages
    assert f'href="/events?instance={booking_id}"' in messages


def crowded_path():
    """A path drawn tightly: a message from outside and one to its own thrower, then six undo tasks and a
    buffered message in a row on one lane (their labels are far wider than a column)."""
    instances = [{"id": i, "key": i, "business_key": "k", "status": "completed", "ended_at": "then"} for i in "ab"]
    timeline = [
        {"kind": "instance_started", "instance_id": "a"}, {"kind": "instance_started", "instance_id": "b"},
        {"kind": "message_published", "instance_id": "a", "message_id": "ping", "name": "ping"},
        {"kind": "message_delivered", "instance_id": "a", "message_id": "ping", "name": "ping", "started": False,
         "wait_seconds": 0.01},
        {"kind": "message_published", "instance_id": None, "message_id": "outside", "name": "outside"},
        {"kind": "message_delivered", "instance_id": "b", "message_id": "outside", "name": "outside",
         "started": False, "wait_seconds": 0.02},
        *({"kind": "task_completed", "instance_id": "b", "name": f"Release stock number {n}", "undo": True,
           "status": "completed"} for n in range(6)),
        {"kind": "message_buffered", "instance_id": "b", "message_id": "later", "name": "later"}]
    return {"instances": instances, "timeline": timeline,
            "messages": [{"source_instance_id": "a"}, {"source_instance_id": None}]}


def test_the_graphs_labels_never_overlap_and_waits_stay_off_the_lanes():
    graph = layout(crowded_path(), lambda seconds: f"{seconds * 1000:.0f} ms")

    lanes = {lane.label: lane for lane in graph.lanes}
    below = sorted((m for m in graph.marks if m.below and m.shown), key=lambda m: m.x)
    for left, right in pairwise(below):
        assert left.row != right.row or left.right <= right.label_x, f"{left.text} runs into {right.text}"
    assert lanes["b"].label_rows == MAX_LABEL_ROWS and graph.unlabelled == 2, "the rest keep only their tooltips"
    assert all(mark.right <= graph.width for mark in graph.marks if mark.shown), "no label is cut at the right"
    assert graph.height >= lanes["b"].y + 21 + LABEL_ROW * (MAX_LABEL_ROWS - 1)

    for arrow in graph.arrows:
        assert all(abs(arrow.wait_y - lane.y) > 10 for lane in graph.lanes), f"{arrow.name}'s wait is on a lane"
    to_itself, from_outside = graph.arrows
    assert to_itself.wait_y < lanes["a"].y, "a lane-to-itself wait goes above the lane"
    assert lanes["from outside"].y < from_outside.wait_y < lanes["b"].y
