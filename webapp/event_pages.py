"""The event path pages: /events (a business key's or an instance's path across processes: a graph
and a timeline) and /messages/ID (one message or signal, and what became of it)."""
from datetime import datetime

from flask import Blueprint, current_app, render_template, request

from engine.durable import NotFound

from . import request_input
from .event_graph import layout
from .pages import duration, duration_text, error_page
from .request_input import BadRequest

blueprint = Blueprint("events", __name__)

# Statuses of a message that nobody has taken (yet): the page points them out.
UNTAKEN = ("pending", "buffered", "expired")


def maestro():
    return current_app.extensions["maestro"]


@blueprint.errorhandler(NotFound)
def _not_found(error):
    return error_page(404, "Not found", str(error))


@blueprint.errorhandler(BadRequest)
def _bad_request(error):
    return error_page(400, "Bad request", str(error))


@blueprint.get("/events")
def event_path():
    """The form alone, or the path of `?key=` (a business key or correlation value) or `?instance=`."""
    asked_key = request.args.get("key", "").strip()
    asked_instance = request.args.get("instance", "").strip()
    if not asked_key and not asked_instance:
        return render_template("events.html", path=None, key="")
    key, instance_id = request_input.event_path_origin(asked_key, asked_instance)
    path = maestro().event_path(key, instance_id)
    instances = {instance["id"]: instance for instance in path["instances"]}
    return render_template(
        "events.html", path=path, key=key or "", heading=_heading(path, instances.get(instance_id)),
        graph=layout(path, duration_text), instances=instances,
        messages={message["id"]: message for message in path["messages"]},
        untaken=[message for message in path["messages"] if message["status"] in UNTAKEN],
        undo_count=sum(1 for entry in path["timeline"] if entry["undo"]),
        # A task whose BPMN error the diagram caught ended CANCELLED: a business error, not a crash.
        failure_count=sum(1 for entry in path["timeline"] if entry["kind"] == "task_failed"
                          and entry["status"] != "CANCELLED"),
        handled_count=sum(1 for entry in path["timeline"] if entry["kind"] == "task_failed"
                          and entry["status"] == "CANCELLED"),
        offsets=_offsets(path["timeline"]))


@blueprint.get("/messages/<message_id>")
def message(message_id):
    shown = maestro().message(message_id)
    return render_template("message.html", message=shown,
                           waits=[_wait(shown, delivery) for delivery in shown["deliveries"]])


def _heading(path, instance):
    """What the page is about, by name: the key, or the instance's process and business key."""
    if instance is None:
        return path["key"]
    return f"{instance['key']} ({instance['business_key']})" if instance["business_key"] else instance["key"]


def _offsets(timeline):
    """How long after the path's first entry each entry came, as text."""
    if not timeline:
        return []
    first = datetime.fromisoformat(timeline[0]["at"])
    return [duration((datetime.fromisoformat(entry["at"]) - first).total_seconds()) for entry in timeline]


def _wait(message, delivery):
    """How long a message waited for this delivery (delivered_at - published_at), as text."""
    waited = datetime.fromisoformat(delivery["delivered_at"]) - datetime.fromisoformat(message["published_at"])
    return duration(max(waited.total_seconds(), 0.0))
