"""Messages between processes under faults (DESIGN.md, "Messages between processes"): workers killed
mid-delivery lose and repeat nothing, a busy receiver gets its message when it is free, a message
is kept for its time to live and no longer, and signals reach every catch once."""
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict

import pytest
from cli_helpers import ROOT
from durable_helpers import deliver_published, delivered, drain, fresh_maestro
from postgres_server import PostgresServer
from sqlalchemy import text

from engine import Handlers
from engine.durable import Maestro

FIXTURES = ROOT / "tests" / "fixtures" / "messaging"
TICKS = FIXTURES / "ticks.bpmn"


def recording_handlers(*topics, slow=None):
    """(handlers, calls): each call of a topic appends (topic, instance id, the message's n); `slow`
    ({topic: (started, release)}) makes that topic set `started` and wait for `release`."""
    handlers, calls = Handlers(), []

    def bind(topic):
        def handler(ctx):
            if topic in (slow or {}):
                started, release = slow[topic]
                started.set()
                assert release.wait(10), "the test never released the slow handler"
            calls.append((topic, ctx.instance_id, ctx.data.get("n")))
            return {}
        handlers.task(topic)(handler)

    for topic in topics:
        bind(topic)
    return handlers, calls


def waiting_at(maestro, instance_id):
    return [task["bpmn_id"] for task in maestro.show(instance_id)["waiting"]]


# -- a receiver that moves on between being found and being reached ------------------------------

def test_a_message_whose_receiver_moved_on_to_its_next_catch_meanwhile_reaches_that_catch(tmp_path):
    """Found waiting at tick_1, the receiver took another message before this one reached it and waits at
    tick_2 by the time the round settles: the message is delivered there, not buffered past it."""
    handlers, calls = recording_handlers("got_tick", "got_order")
    maestro = fresh_maestro(tmp_path, handlers)
    other = Maestro(f"sqlite:///{tmp_path / 'maestro.db'}", handlers=handlers)  # a second worker on the same database
    maestro.deploy_paths([TICKS])
    instance_id = maestro.start("ticks", {"order_id": "o-1"})["id"]
    drain(maestro)
    late = maestro.publish("tick", "o-1", {"n": 1})["id"]

    deliveries, reach, settle = maestro._deliveries, maestro._deliveries._to_instance, maestro._deliveries._settle

    def other_worker_first(message, receiver):
        other.publish("tick", "o-1", {"n": 2})
        assert other.deliver_messages() == 1  # the second worker hands its own message to tick_1...
        return reach(message, receiver)  # ...so this one finds tick_1 no longer waiting

    def receiver_runs_on_first(message, busy, tried, failed):
        while other.work_batch():  # ...and the receiver runs on to tick_2 before this round settles
            pass
        assert waiting_at(maestro, instance_id) == ["tick_2"]
        return settle(message, busy, tried, failed)

    deliveries._to_instance, deliveries._settle = other_worker_first, receiver_runs_on_first
    try:
        assert maestro.deliver_messages(limit=1) == 1
    finally:
        deliveries._to_instance, deliveries._settle = reach, settle
    assert deliver_published(maestro, late)["reached"] == [instance_id]
    drain(maestro)
    assert waiting_at(maestro, instance_id) == ["tick_3"]
    assert sorted(n for _, _, n in calls) == [1, 2]


# -- a busy receiver ------------------------------------------------------------------------------

BUSY = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
             targetNamespace="t">
  <message id="m_go" name="go"/><message id="m_poke" name="poke"/>
  <process id="busy" isExecutable="true">
    <startEvent id="s"/><sequenceFlow id="f1" sourceRef="s" targetRef="wait_go"/>
    <intermediateCatchEvent id="wait_go"><messageEventDefinition messageRef="m_go"/></intermediateCatchEvent>
    <sequenceFlow id="f2" sourceRef="wait_go" targetRef="after_go"/>
    <serviceTask id="after_go" camunda:topic="after_go"/>
    <sequenceFlow id="f3" sourceRef="after_go" targetRef="e"/><endEvent id="e"/>
    <subProcess id="on_poke" triggeredByEvent="true">
      <startEvent id="poked" isInterrupting="false"><messageEventDefinition messageRef="m_poke"/></startEvent>
      <sequenceFlow id="g1" sourceRef="poked" targetRef="slow"/>
      <serviceTask id="slow" camunda:topic="slow"/>
      <sequenceFlow id="g2" sourceRef="slow" targetRef="poke_done"/><endEvent id="poke_done"/>
    </subProcess>
  </process>
</definitions>"""


def test_a_busy_receiver_gets_the_message_once_its_worker_is_done_with_it(tmp_path):
    """The instance waits for "go" while a worker runs its slow handler (holding its lease): "go" is not
    delivered meanwhile, nor lost; it reaches the instance once, when that worker has committed."""
    started, release = threading.Event(), threading.Event()
    handlers, calls = recording_handlers("after_go", "slow", slow={"slow": (started, release)})
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy([("busy.bpmn", BUSY.encode())])
    instance_id = maestro.start("busy", business_key="b-1")["id"]
    drain(maestro)
    assert delivered(maestro, "poke", "b-1")["reached"] == [instance_id]

    worker = Maestro(f"sqlite:///{tmp_path / 'maestro.db'}", handlers=handlers)
    running = threading.Thread(target=worker.work_batch)
    running.start()
    try:
        assert started.wait(10), "the worker runs the slow handler"
        go = maestro.publish("go", "b-1")["id"]
        for _ in range(3):  # tried while the instance is leased to the worker: busy, due again soon
            maestro.deliver_messages()
            time.sleep(0.1)
        shown = maestro.message(go)
        assert shown["status"] == "pending" and shown["deliveries"] == [] and shown["attempts"] >= 1
        assert maestro.show(instance_id)["status"] == "running"
    finally:
        release.set()
        running.join(10)
    assert deliver_published(maestro, go)["reached"] == [instance_id]
    drain(maestro)
    assert maestro.show(instance_id)["status"] == "completed"
    assert [topic for topic, _, _ in calls] == ["slow", "after_go"]


# -- time to live ---------------------------------------------------------------------------------

def test_a_message_published_before_anyone_waits_is_kept_and_delivered_when_a_catch_starts_waiting(tmp_path):
    handlers, calls = recording_handlers("got_tick", "got_order")
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([TICKS])
    early = delivered(maestro, "tick", "o-1", {"n": 1}, ttl="PT1H")
    assert (early["status"], early["reached"]) == ("buffered", [])
    other_order = maestro.start("ticks", {"order_id": "o-2"})["id"]
    drain(maestro)
    assert maestro.message(early["id"])["status"] == "buffered", "not for the catch of another order"

    instance_id = maestro.start("ticks", {"order_id": "o-1"})["id"]
    drain(maestro)
    shown = maestro.message(early["id"])
    assert shown["status"] == "delivered"
    assert [d["instance_id"] for d in shown["deliveries"]] == [instance_id]
    assert waiting_at(maestro, instance_id) == ["tick_2"] and waiting_at(maestro, other_order) == ["tick_1"]
    assert calls == [("got_tick", instance_id, 1)]


def test_a_message_whose_time_to_live_passed_expires_and_no_later_catch_gets_it(tmp_path):
    handlers, calls = recording_handlers("got_tick", "got_order")
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([TICKS])
    short = delivered(maestro, "tick", "o-1", {"n": 1}, ttl=0.3)
    assert short["status"] == "buffered"
    time.sleep(0.4)
    drain(maestro)
    assert maestro.message(short["id"])["status"] == "expired"

    instance_id = maestro.start("ticks", {"order_id": "o-1"})["id"]
    drain(maestro)
    assert maestro.message(short["id"])["deliveries"] == []
    assert waiting_at(maestro, instance_id) == ["tick_1"] and calls == []


def test_a_message_whose_time_to_live_passed_is_not_delivered_to_a_catch_that_began_waiting_after_it(tmp_path):
    """Its time to live ran out before a worker came to expire it, and meanwhile a catch began waiting:
    it is still expired, not delivered."""
    handlers, calls = recording_handlers("got_tick", "got_order")
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([TICKS])
    short = delivered(maestro, "tick", "o-1", {"n": 1}, ttl=0.3)
    assert short["status"] == "buffered"
    time.sleep(0.4)
    instance_id = maestro.start("ticks", {"order_id": "o-1"})["id"]
    while maestro._worker.work_batch(1, join=False):  # a worker that runs instances before messages
        pass
    assert waiting_at(maestro, instance_id) == ["tick_1"]
    drain(maestro)
    assert maestro.message(short["id"])["status"] == "expired"
    assert maestro.message(short["id"])["deliveries"] == []
    assert waiting_at(maestro, instance_id) == ["tick_1"] and calls == []


def test_a_message_with_no_time_to_live_expires_at_once_when_nobody_waits(tmp_path):
    handlers, _ = recording_handlers("got_tick", "got_order")
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([TICKS])
    assert delivered(maestro, "tick", "o-1", ttl=0)["status"] == "expired"
    instance_id = maestro.start("ticks", {"order_id": "o-1"})["id"]
    drain(maestro)
    assert waiting_at(maestro, instance_id) == ["tick_1"]
    reached = delivered(maestro, "tick", "o-1", {"n": 1}, ttl=0)
    assert (reached["status"], reached["reached"]) == ("delivered", [instance_id]), "ttl 0 still reaches who waits"


# -- signals --------------------------------------------------------------------------------------

SIGNALS = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
             targetNamespace="t">
  <signal id="sig_alarm" name="alarm"/>
  <process id="listener" isExecutable="true">
    <startEvent id="s"/><sequenceFlow id="f1" sourceRef="s" targetRef="hear"/>
    <intermediateCatchEvent id="hear"><signalEventDefinition signalRef="sig_alarm"/></intermediateCatchEvent>
    <sequenceFlow id="f2" sourceRef="hear" targetRef="heard"/>
    <serviceTask id="heard" camunda:topic="heard"/>
    <sequenceFlow id="f3" sourceRef="heard" targetRef="e"/><endEvent id="e"/>
  </process>
  <process id="on_alarm" isExecutable="true">
    <startEvent id="alarmed"><signalEventDefinition signalRef="sig_alarm"/></startEvent>
    <sequenceFlow id="h1" sourceRef="alarmed" targetRef="respond"/>
    <serviceTask id="respond" camunda:topic="respond"/>
    <sequenceFlow id="h2" sourceRef="respond" targetRef="he"/><endEvent id="he"/>
  </process>
  <process id="thrower" isExecutable="true">
    <startEvent id="ts"/><sequenceFlow id="t1" sourceRef="ts" targetRef="fork"/>
    <parallelGateway id="fork"/>
    <sequenceFlow id="t2" sourceRef="fork" targetRef="own_hear"/>
    <intermediateCatchEvent id="own_hear"><signalEventDefinition signalRef="sig_alarm"/></intermediateCatchEvent>
    <sequenceFlow id="t3" sourceRef="own_hear" targetRef="own_heard"/>
    <serviceTask id="own_heard" camunda:topic="heard"/>
    <sequenceFlow id="t4" sourceRef="own_heard" targetRef="meet"/>
    <sequenceFlow id="t5" sourceRef="fork" targetRef="prepare"/>
    <serviceTask id="prepare" camunda:topic="prepare"/>
    <sequenceFlow id="t6" sourceRef="prepare" targetRef="raise"/>
    <intermediateThrowEvent id="raise"><signalEventDefinition signalRef="sig_alarm"/></intermediateThrowEvent>
    <sequenceFlow id="t7" sourceRef="raise" targetRef="meet"/>
    <parallelGateway id="meet"/>
    <sequenceFlow id="t8" sourceRef="meet" targetRef="te"/><endEvent id="te"/>
  </process>
</definitions>"""


def signal_engine(tmp_path):
    handlers, calls = recording_handlers("heard", "respond", "prepare")
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy([("signals.bpmn", SIGNALS.encode())])
    return maestro, calls


def started_by_signal(maestro):
    return [row["id"] for row in maestro.instances(key="on_alarm")]


def test_a_signal_from_outside_reaches_every_waiting_instance_and_starts_its_process(tmp_path):
    maestro, calls = signal_engine(tmp_path)
    listeners = [maestro.start("listener")["id"] for _ in range(3)]
    drain(maestro)
    sent = maestro.signal("alarm", {"n": 7})
    assert sent["status"] == "pending"
    result = deliver_published(maestro, sent["id"])
    assert result["status"] == "delivered"
    assert sorted(result["reached"]) == sorted(listeners) and len(result["started"]) == 1
    drain(maestro)
    assert all(maestro.show(i)["status"] == "completed" for i in listeners)
    assert Counter(calls) == Counter([("heard", i, 7) for i in listeners] + [("respond", result["started"][0], 7)])
    assert started_by_signal(maestro) == result["started"]

    late = maestro.start("listener")["id"]
    drain(maestro)
    assert maestro.show(late)["status"] == "waiting", "a signal is not kept for catches to come"


def test_a_signal_thrown_by_an_instance_reaches_the_others_and_itself_once(tmp_path):
    maestro, calls = signal_engine(tmp_path)
    listeners = [maestro.start("listener")["id"] for _ in range(2)]
    drain(maestro)
    thrower = maestro.start("thrower")["id"]
    drain(maestro)
    for instance_id in [*listeners, thrower]:
        assert maestro.show(instance_id)["status"] == "completed"
    (started,) = started_by_signal(maestro)
    heard = Counter(instance_id for topic, instance_id, _ in calls if topic == "heard")
    assert heard == Counter([*listeners, thrower]), "each catch once, the thrower's own too"
    assert [topic for topic, instance_id, _ in calls if instance_id == started] == ["respond"]
    with maestro.engine.connect() as connection:
        (thrown,) = connection.execute(text("SELECT id FROM messages WHERE kind = 'signal'")).scalars()
    receivers = maestro.message(thrown)["deliveries"]
    assert sorted(d["instance_id"] for d in receivers) == sorted([*listeners, started])


# -- workers killed mid-delivery, on PostgreSQL ------------------------------------------------------

class Worker:
    """A `maestro worker` process; `ready` is set once its loop runs."""

    def __init__(self, env, folder):
        self.process = subprocess.Popen([sys.executable, "-u", "-m", "engine.cli", "worker", "--processes",
                                         str(folder), "--batch-size", "4"], cwd=ROOT, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.ready = threading.Event()
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self):
        for line in self.process.stdout:
            if "started" in line:
                self.ready.set()

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


def read_log(path):
    """[(instance id, business key, topic, n, idempotency key, pid)] of every handler call."""
    return [tuple(line.split()) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="module")
def postgres():
    server = PostgresServer().start()
    yield server
    server.stop()


def test_workers_killed_mid_delivery_deliver_every_message_exactly_once(tmp_path, postgres):
    log = tmp_path / "calls.log"
    folder = tmp_path / "processes"
    folder.mkdir()
    shutil.copy(TICKS, folder)
    shutil.copy(ROOT / "tests" / "data" / "message_log_handlers.py", folder)
    # The kills are the test's, not the instances': none is failed for the workers that died holding it.
    env = {**os.environ, "MAESTRO_DATABASE_URL": postgres.url, "MAESTRO_TEST_LOG": str(log),
           "MAESTRO_LEASE_SECONDS": "1", "MAESTRO_MAX_CRASHES": "1000", "PYTHONPATH": str(ROOT)}
    maestro = Maestro(postgres.url)
    maestro.deploy_folder(folder, [folder / "ticks.bpmn"])
    orders = [f"o-{n}" for n in range(30)]
    instances = {maestro.start("ticks", {"order_id": order})["id"]: order for order in orders}
    # Every message of the run, in an order that sends each order's ticks 1, 2, 3 at different moments.
    to_publish = [("tick", order, n) for n in (1, 2, 3) for order in orders] + \
        [("order_placed", f"b-{n}", n) for n in range(15)]
    random.Random(15).shuffle(to_publish)

    workers = [Worker(env, folder) for _ in range(2)]
    assert all(w.ready.wait(60) for w in workers), "the workers started"
    published, kills, cut_short = [], 0, 0
    try:
        while kills < 5:
            for name, key, n in to_publish[:35]:
                correlation = key if name == "tick" else {"business_key": key}
                published.append(maestro.publish(name, correlation, {"n": n})["id"])
            del to_publish[:35]
            time.sleep(random.uniform(0.2, 0.6))  # deliveries under way...
            while not (running := [w for w in workers if w.ready.is_set()]):  # (the others start meanwhile)
                time.sleep(0.05)
            victim = random.choice(running)
            victim.kill()  # ...when a worker dies, whatever it was doing
            cut_short += in_flight(maestro, victim.process.pid)
            workers[workers.index(victim)] = Worker(env, folder)
            kills += 1
        deadline = time.monotonic() + 40  # (a loaded machine: normally a few seconds)
        while time.monotonic() < deadline and not all_done(maestro, 45):
            time.sleep(0.1)
    finally:
        for w in workers:
            w.kill()
    assert not to_publish and cut_short > 0, "the kills came while the workers held messages or instances"

    with maestro.engine.connect() as connection:
        statuses = Counter(connection.execute(text("SELECT status FROM messages")).scalars())
        per_message = Counter(connection.execute(text("SELECT message_id FROM message_deliveries")).scalars())
        counts = dict(connection.execute(text("SELECT key, count(*) FROM instances GROUP BY key")).all())
        not_done = connection.execute(text("SELECT id, key, status FROM instances WHERE status <> 'completed'")).all()
        stuck = connection.execute(text(
            "SELECT m.name, m.correlation, m.status, m.attempts, m.due_at, m.published_at, s.instance_id, s.since, "
            "i.status AS instance_status FROM messages m LEFT JOIN message_subscriptions s "
            "ON s.correlation_key = m.correlation LEFT JOIN instances i ON i.id = s.instance_id "
            "WHERE m.status <> 'delivered' ORDER BY m.correlation")).all()
    assert not not_done and statuses == {"delivered": 105}, (not_done, statuses, stuck)
    assert per_message == Counter(published), "one receiver per message: a delivery row each, no more"
    assert counts == {"ticks": 30, "intake": 15}

    calls = read_log(log)
    got = defaultdict(dict)  # {instance: {idempotency key: n}}: a task re-run after a kill logs its key again
    for instance_id, business_key, topic, n, key, _ in calls:
        got[instance_id if topic == "got_tick" else business_key][key] = int(n)
    for instance_id in instances:
        assert sorted(got[instance_id].values()) == [1, 2, 3], (instance_id, got[instance_id])
    for n in range(15):
        assert list(got[f"b-{n}"].values()) == [n], "one instance started per message, which got it once"
    print(f"{kills} kills holding {cut_short} leases; {len(calls)} handler calls for 105 deliveries")


def in_flight(maestro, pid):
    """How many messages and instances the worker process `pid` held leases on when it died."""
    with maestro.engine.connect() as connection:
        return sum(connection.execute(text(f"SELECT count(*) FROM {table} WHERE locked_by LIKE :mine "
                                           "AND lease_until > now()"), {"mine": f"%:{pid}"}).scalar()
                   for table in ("messages", "jobs"))


def all_done(maestro, instances):
    with maestro.engine.connect() as connection:
        counts = dict(connection.execute(text("SELECT status, count(*) FROM instances GROUP BY status")).all())
        undelivered = connection.execute(text("SELECT count(*) FROM messages WHERE status <> 'delivered'")).scalar()
    return counts == {"completed": instances} and undelivered == 0
