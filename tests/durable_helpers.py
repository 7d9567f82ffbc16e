"""Helpers for tests of the durable engine: a Maestro on a fresh SQLite file, and a worker loop."""
import time
from datetime import datetime, timezone
from pathlib import Path

from engine.durable import Maestro

DURABLE = Path(__file__).parent / "fixtures" / "durable"


def fresh_maestro(tmp_path, handlers=None, **kwargs):
    return Maestro(f"sqlite:///{tmp_path / 'maestro.db'}", handlers=handlers, **kwargs)


def delivered(maestro, name, correlation=None, data=None, ttl=None):
    """Publishes a message and delivers it (nothing else runs): {"id", "status", "reached": [instance ids
    whose catch took it], "started": [ids of the instances it started]}."""
    message_id = maestro.publish(name, correlation, data, ttl)["id"]
    return deliver_published(maestro, message_id)


def deliver_published(maestro, message_id, patience=10.0):
    """Delivers what is due until message `message_id` is no longer pending; what became of it (see delivered)."""
    deadline = time.monotonic() + patience
    while maestro.message(message_id)["status"] == "pending" and time.monotonic() < deadline:
        if not maestro.deliver_messages():
            time.sleep(0.01)  # a busy receiver: the message is due again shortly
    shown = maestro.message(message_id)
    return {"id": message_id, "status": shown["status"],
            "reached": [d["instance_id"] for d in shown["deliveries"] if not d["started"]],
            "started": [d["instance_id"] for d in shown["deliveries"] if d["started"]]}


def drain(maestro, patience=10.0):
    """Works like a worker until nothing is due within `patience` seconds; returns jobs done."""
    done, deadline = 0, time.monotonic() + patience
    while time.monotonic() < deadline:
        if maestro.work_once():
            done += 1
            continue
        due = maestro.next_due()
        if due is None:
            return done
        wait = (due - datetime.now(timezone.utc)).total_seconds()
        if time.monotonic() + wait > deadline:
            return done
        time.sleep(max(wait, 0.01))
    return done


PREDICTED = {"FUTURE", "LIKELY", "MAYBE"}
OPEN_STATES = {"READY", "WAITING", "STARTED"}


def assert_read_model_agrees(maestro, instance_id):
    """`show` (read from what the commits wrote) says what the rebuilt instance says: the same
    variables, history and incident, the same waiting tasks, and every task that happened in the
    same state, with the same undo, error, form and compensation marks."""
    shown, rebuilt = maestro.show(instance_id), maestro._rebuilt(instance_id)
    for field in ("status", "data", "error", "history", "incident"):
        assert shown[field] == rebuilt[field], f"{field}: read model {shown[field]!r} != rebuilt {rebuilt[field]!r}"

    def by_id(tasks):
        # The read model gives the form a task asks for while it is open only.
        return {task["id"]: {**task, "form": task["form"] if task["state"] in OPEN_STATES else None}
                for task in tasks if task["state"] not in PREDICTED}

    for field in ("waiting", "tasks"):
        read, built = by_id(shown[field]), by_id(rebuilt[field])
        differences = {task_id: (read.get(task_id), built.get(task_id)) for task_id in read.keys() | built.keys()
                       if read.get(task_id) != built.get(task_id)}
        assert not differences, f"{field} (read model, rebuilt): {differences}"
