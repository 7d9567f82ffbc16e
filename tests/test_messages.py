"""Messages from outside (DESIGN.md: `maestro publish`, POST /api/messages): reaching waiting
instances by correlation, and starting the processes that begin with a message."""
from conftest import make_recorder
from durable_helpers import DURABLE, delivered, drain, fresh_maestro
from web_helpers import signed_in


def test_a_message_reaches_the_waiting_instance_it_correlates_with_and_only_that_one(tmp_path):
    handlers, calls = make_recorder("reserve", "ship", "record")
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([DURABLE / "messages.bpmn"])
    first = maestro.start("order", {"order_id": "o-1"})["id"]
    second = maestro.start("order", {"order_id": "o-2"}, business_key="B-2")["id"]
    drain(maestro)
    assert maestro.show(first)["status"] == maestro.show(second)["status"] == "waiting"

    nobody = delivered(maestro, "payment_received", {"order_id": "o-9"})
    assert (nobody["reached"], nobody["started"], nobody["status"]) == ([], [], "buffered")
    reached = delivered(maestro, "payment_received", {"order_id": "o-1"}, {"amount": 40})
    assert (reached["reached"], reached["started"], reached["status"]) == ([first], [], "delivered")
    drain(maestro)
    shown = maestro.show(first)
    assert shown["status"] == "completed" and shown["data"]["amount"] == 40
    assert maestro.show(second)["status"] == "waiting"
    assert calls == ["reserve", "reserve", "ship"]

    by_business_key = delivered(maestro, "payment_received", {"business_key": "B-2"})
    assert by_business_key["reached"] == [second]
    drain(maestro)
    assert maestro.show(second)["status"] == "completed"
    assert delivered(maestro, "payment_received", {"order_id": "o-1"})["reached"] == [], "delivered once"


def test_a_message_starts_the_processes_that_begin_with_it(tmp_path):
    handlers, calls = make_recorder("reserve", "ship", "record")
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([DURABLE / "messages.bpmn"])
    published = delivered(maestro, "payment_sent", {"business_key": "pay-7"}, {"amount": 12})
    assert published["reached"] == [] and len(published["started"]) == 1
    drain(maestro)
    shown = maestro.show(published["started"][0])
    assert shown["key"] == "payment_intake" and shown["status"] == "completed"
    assert shown["business_key"] == "pay-7" and shown["data"]["amount"] == 12 and shown["started_by"] == "message"
    assert calls == ["record"]



def test_each_of_several_message_start_events_starts_the_process_on_its_own_branch(tmp_path):
    handlers, calls = make_recorder("reserve", "release")
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([DURABLE / "two_message_starts.bpmn"])
    shipped = delivered(maestro, "order_shipped", {"business_key": "o-1"})
    cancelled = delivered(maestro, "order_cancelled", {"business_key": "o-2"})
    assert len(shipped["started"]) == len(cancelled["started"]) == 1
    drain(maestro)
    for started, business_key in ((shipped, "o-1"), (cancelled, "o-2")):
        shown = maestro.show(started["started"][0])
        assert (shown["key"], shown["status"], shown["business_key"]) == ("tell_customer", "completed", business_key)
    assert calls == ["reserve", "release"]

def test_publish_through_the_api_and_the_command_line(tmp_path, monkeypatch):
    from cli_helpers import maestro as run_maestro

    from webapp import create_app

    handlers, _ = make_recorder("reserve", "ship", "record")
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([DURABLE / "messages.bpmn"])
    client = signed_in(create_app(maestro, secret_key="test").test_client())
    waiting = maestro.start("order", {"order_id": "o-1"})["id"]
    drain(maestro)

    assert client.post("/api/messages", json={"correlation": {}}).status_code == 400
    assert client.post("/api/messages", json={"name": "x", "correlation": [1]}).status_code == 400
    assert client.post("/api/messages", json={"name": "x", "ttl": "soon"}).json["error"] == "bad_request"
    missing = client.post("/api/messages", json={"name": "payment_received", "correlation": {"order_id": "o-2"},
                                                 "ttl": "PT0S"})
    assert missing.status_code == 202 and missing.json["status"] == "pending"
    reached = client.post("/api/messages", json={"name": "payment_received", "correlation": {"order_id": "o-1"},
                                                 "data": {"amount": 5}})
    assert reached.status_code == 202
    drain(maestro)
    assert client.get(f"/api/messages/{missing.json['id']}").json["status"] == "expired"
    shown = client.get(f"/api/messages/{reached.json['id']}").json
    assert shown["status"] == "delivered" and shown["payload"] == {"amount": 5}
    assert [(d["instance_id"], d["key"], d["element"], d["started"]) for d in shown["deliveries"]] == [
        (waiting, "order", "paid", False)]
    assert client.get("/api/messages/nope").status_code == 404

    monkeypatch.setenv("MAESTRO_DATABASE_URL", f"sqlite:///{tmp_path / 'maestro.db'}")
    published = run_maestro("publish", "payment_sent", "--data", '{"amount": 3}')
    assert published.returncode == 0, published.stderr
    message_id = published.stdout.strip()
    assert maestro.message(message_id)["status"] == "pending", "stored at once; a worker delivers it"
    drain(maestro)
    (started,) = maestro.message(message_id)["deliveries"]
    assert started["started"] and started["key"] == "payment_intake"
    unheard = run_maestro("publish", "nobody_listens", "--ttl", "0")
    assert unheard.returncode == 0 and maestro.message(unheard.stdout.strip())["status"] == "pending"
    malformed = run_maestro("publish", "payment_sent", "--data", "[1]")
    assert malformed.returncode == 2 and "--data must be a JSON object" in malformed.stderr
    bad_ttl = run_maestro("publish", "payment_sent", "--ttl", "tomorrow")
    assert bad_ttl.returncode == 2 and "time to live" in bad_ttl.stderr


def test_an_event_based_gateway_takes_the_message_or_the_timer_whichever_comes_first(tmp_path):
    handlers, calls = make_recorder("reserve", "ship", "release")
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([DURABLE / "payment_or_timeout.bpmn"])
    paid = maestro.start("payment_or_timeout", {"order_id": "o-1", "deadline": "PT1H"})["id"]
    unpaid = maestro.start("payment_or_timeout", {"order_id": "o-2", "deadline": "PT1S"})["id"]
    drain(maestro, patience=0.2)
    assert maestro.show(paid)["status"] == maestro.show(unpaid)["status"] == "waiting"
    assert delivered(maestro, "payment_received", {"order_id": "o-1"})["reached"] == [paid]
    drain(maestro, patience=5)
    assert maestro.show(paid)["status"] == maestro.show(unpaid)["status"] == "completed"
    assert sorted(calls) == ["release", "reserve", "reserve", "ship"]
    assert maestro.next_due() is None, "the paid order's timer is gone with the branch not taken"
