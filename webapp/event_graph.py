"""The event path as a picture (templates/_event_graph.html draws it as SVG, on the server): a lane per
instance, time running left to right, an arrow per delivery from the lane that threw the message to
the lane that caught it (or that it started), marks for what waits, undoes or fails.

Time is drawn by order, not to scale: each timeline entry gets a column, so that a message delivered
in milliseconds and one buffered for a day both read plainly.
"""
from dataclasses import dataclass, field

LABEL_WIDTH = 170  # the lanes' names, left of the first column
COLUMN_WIDTH = 34
LANE_HEIGHT = 58
TOP = 40  # room above the first lane, for the slanted names of the messages it throws
OUTSIDE = "outside"  # the lane of messages published from outside (the API, the command line)


@dataclass
class Lane:
    instance_id: str | None  # None: the outside lane
    label: str
    detail: str
    status: str
    y: float
    start: float = LABEL_WIDTH
    end: float = LABEL_WIDTH
    open: bool = False  # still running or waiting: its line goes on to the right edge


@dataclass
class Arrow:
    message_id: str
    name: str
    kind: str  # "reached" or "started"
    x1: float
    y1: float
    x2: float
    y2: float
    wait: str


@dataclass
class Mark:
    kind: str  # published, pending, buffered, expired, completed, failed, undo
    x: float
    y: float
    label: str  # shown beside the mark for what matters (messages, undo, failures); else only as a tooltip
    title: str
    message_id: str | None = None
    shown: bool = True
    below: bool = False  # its label under the lane (else, for a message, slanted above it)


@dataclass
class Graph:
    width: float
    height: float
    lanes: list[Lane] = field(default_factory=list)
    arrows: list[Arrow] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)


def layout(path: dict, duration) -> Graph:
    """Where everything of an event path goes; `duration` turns seconds into text ("76 ms")."""
    timeline, instances = path["timeline"], path["instances"]
    senders = {message["source_instance_id"] for message in path["messages"]}
    from_outside = any(sender not in {i["id"] for i in instances} for sender in senders)
    lanes = ([Lane(None, "from outside", "API, command line", "outside", 0)] if from_outside else []) + [
        Lane(i["id"], i["key"], i["business_key"] or "", i["status"], 0, open=i["ended_at"] is None)
        for i in instances]
    for index, lane in enumerate(lanes):
        lane.y = TOP + LANE_HEIGHT * (index + 0.5)
    by_instance = {lane.instance_id: lane for lane in lanes}
    outside = by_instance.get(None)
    graph = Graph(width=LABEL_WIDTH + COLUMN_WIDTH * (len(timeline) + 1), height=TOP * 2 + LANE_HEIGHT * len(lanes),
                  lanes=lanes)
    published_at: dict[str, tuple[float, Lane]] = {}
    last_x: dict[str | None, float] = {}  # the rightmost mark of each lane
    for column, entry in enumerate(timeline):
        x = LABEL_WIDTH + COLUMN_WIDTH * (column + 0.5)
        lane = by_instance.get(entry["instance_id"], outside)
        kind = entry["kind"]
        if kind == "instance_started" and lane is not None:
            lane.start = lane.end = x
        elif kind == "instance_ended" and lane is not None:
            lane.end = x
        elif kind == "message_published" and lane is not None:
            published_at[entry["message_id"]] = (x, lane)
            graph.marks.append(Mark("published", x, lane.y, entry["name"], f"{entry['name']} published",
                                    entry["message_id"]))
        elif kind == "message_delivered":
            _arrow(graph, entry, x, published_at.get(entry["message_id"]), by_instance.get(entry["instance_id"]),
                   duration)
        elif kind in ("message_pending", "message_buffered", "message_expired") and lane is not None:
            status = kind.removeprefix("message_")
            graph.marks.append(Mark(status, x, lane.y, status, f"{entry['name']} {status}", entry["message_id"],
                                    below=True))
        elif kind.startswith("task_") and lane is not None:
            _task_mark(graph, entry, x, lane)
        if lane is not None and kind != "message_delivered":
            last_x[lane.instance_id] = x
    right = graph.width - COLUMN_WIDTH / 2
    for lane in lanes:
        # An end's commit also stamps the messages its last step threw, a moment later: the lane reaches them.
        lane.end = right if lane.open or lane.instance_id is None else max(lane.end, last_x.get(lane.instance_id, 0))
    return graph


def _arrow(graph, entry, x, published, receiver, duration):
    if published is None or receiver is None:
        return  # its sender or receiver is beyond the path's bounds
    x1, sender = published
    graph.arrows.append(Arrow(entry["message_id"], entry["name"], "started" if entry["started"] else "reached",
                              x1, sender.y, x, receiver.y, duration(entry["wait_seconds"])))


def _task_mark(graph, entry, x, lane):
    if entry["undo"]:
        kind = "failed" if entry["kind"] == "task_failed" else "undo"
        graph.marks.append(Mark(kind, x, lane.y, f"undo: {entry['name']}", f"undo {entry['name']} {entry['status']}",
                                below=True))
    elif entry["kind"] == "task_failed":
        graph.marks.append(Mark("failed", x, lane.y, entry["name"], f"{entry['name']} failed: {entry['error']}",
                                below=True))
    else:
        graph.marks.append(Mark("completed", x, lane.y, entry["name"], f"{entry['name']} completed", shown=False))
