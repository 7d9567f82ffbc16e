"""The event path as a picture (templates/_event_graph.html draws it as SVG, on the server): a lane per
instance, time running left to right, an arrow per delivery from the lane that threw the message to
the lane that caught it (or that it started), marks for what waits, undoes or fails.

Time is drawn by order, not to scale: each timeline entry gets a column, so that a message delivered
in milliseconds and one buffered for a day both read plainly.

Labels never overlap: those under a lane (undo, failures, messages left waiting) stack in rows, and a
lane grows to hold its rows; a wait ("59 ms") sits on its arrow in a gap between lanes, on a halo, where
no other label is.
"""
import math
from dataclasses import dataclass, field
from itertools import pairwise

LABEL_WIDTH = 170  # the lanes' names, left of the first column
COLUMN_WIDTH = 34
LANE_HEIGHT = 58
TOP = 40  # room above the first lane, for the slanted names of the messages it throws
OUTSIDE = "outside"  # the lane of messages published from outside (the API, the command line)
LABEL_ROW = 14  # the height of a row of labels under a lane
MAX_LABEL_ROWS = 3  # beyond this many rows a label is left to its mark's tooltip
CHAR_WIDTH = 6.6  # a generous width of an 11 px character: estimated labels must not touch
LABEL_GAP = 8  # the least room between two labels on a row
MIN_SCALE = 0.8  # the graph shrinks to fit its box down to this scale (text stays readable), then scrolls
SLANT = math.radians(28)  # the angle of a thrown message's name
ARROWHEAD = 12  # an arrowhead's length and its gap before the receiver's line


def text_width(text: str) -> float:
    return len(text) * CHAR_WIDTH


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


@dataclass
class Lane:
    instance_id: str | None  # None: the outside lane
    label: str
    detail: str
    status: str
    y: float = 0
    start: float = LABEL_WIDTH
    end: float = LABEL_WIDTH
    open: bool = False  # still running or waiting: its line goes on to the right edge
    label_rows: int = 0  # rows of labels under its line


@dataclass
class Arrow:
    message_id: str
    name: str
    kind: str  # "reached" or "started"
    x1: float
    sender: Lane = field(repr=False)
    x2: float
    receiver: Lane = field(repr=False)
    wait: str
    wait_x: float = 0  # the centre of the wait's label
    wait_y: float = 0

    @property
    def y1(self) -> float:
        return self.sender.y

    @property
    def y2(self) -> float:
        return self.receiver.y

    @property
    def wait_width(self) -> float:
        return text_width(self.wait) + 8


@dataclass
class Mark:
    kind: str  # published, pending, buffered, expired, completed, failed, handled (a caught BPMN error), undo
    x: float
    lane: Lane = field(repr=False)
    label: str  # shown beside the mark for what matters (messages, undo, failures); else only as a tooltip
    title: str
    message_id: str | None = None
    shown: bool = True
    below: bool = False  # its label under the lane (else, for a message, slanted above it)
    row: int = 0  # which row under the lane its label takes

    @property
    def y(self) -> float:
        return self.lane.y

    @property
    def text(self) -> str:
        return shorten(self.label, 24 if self.below else 18)

    @property
    def label_x(self) -> float:
        return self.x - 6

    @property
    def label_y(self) -> float:
        return self.y + 21 + LABEL_ROW * self.row

    @property
    def label_box(self) -> tuple[float, float, float, float]:
        """The rectangle its label covers (for a slanted one, the rectangle around it)."""
        width = text_width(self.text)
        if self.below:
            return _box(self.label_x, self.label_y - 10, width, 13)
        rise = width * math.sin(SLANT)
        return _box(self.x + 2, self.y - 20 - rise, width * math.cos(SLANT), rise + 12)

    @property
    def right(self) -> float:
        """Where its shown label ends, to the right."""
        if self.below:
            return self.label_x + text_width(self.text)
        return self.x + 2 + text_width(self.text) * math.cos(SLANT)


@dataclass
class Graph:
    width: float
    height: float
    lanes: list[Lane] = field(default_factory=list)
    arrows: list[Arrow] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)

    @property
    def unlabelled(self) -> int:
        """How many marks found no room for their label under their lane (each keeps its tooltip)."""
        return sum(1 for mark in self.marks if mark.below and not mark.shown)

    @property
    def min_width(self) -> float:
        """How narrow the graph may be drawn (shrunk to fit its box) before it scrolls instead."""
        return round(self.width * MIN_SCALE)


def layout(path: dict, duration) -> Graph:
    """Where everything of an event path goes; `duration` turns seconds into text ("76 ms")."""
    timeline, instances = path["timeline"], path["instances"]
    senders = {message["source_instance_id"] for message in path["messages"]}
    from_outside = any(sender not in {i["id"] for i in instances} for sender in senders)
    lanes = ([Lane(None, "from outside", "API, command line", "outside")] if from_outside else []) + [
        Lane(i["id"], i["key"], i["business_key"] or "",
             "rolled_back" if i.get("outcome") == "rolled_back" else i["status"], open=i["ended_at"] is None)
        for i in instances]
    by_instance = {lane.instance_id: lane for lane in lanes}
    outside = by_instance.get(None)
    graph = Graph(width=LABEL_WIDTH + COLUMN_WIDTH * (len(timeline) + 1), height=0, lanes=lanes)
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
            graph.marks.append(Mark("published", x, lane, entry["name"], f"{entry['name']} published",
                                    entry["message_id"]))
        elif kind == "message_delivered":
            _arrow(graph, entry, x, published_at.get(entry["message_id"]), by_instance.get(entry["instance_id"]),
                   duration)
        elif kind in ("message_pending", "message_buffered", "message_expired") and lane is not None:
            status = kind.removeprefix("message_")
            graph.marks.append(Mark(status, x, lane, status, f"{entry['name']} {status}", entry["message_id"],
                                    below=True))
        elif kind.startswith("task_") and lane is not None:
            _task_mark(graph, entry, x, lane)
        if lane is not None and kind != "message_delivered":
            last_x[lane.instance_id] = x
    right = graph.width - COLUMN_WIDTH / 2
    for lane in lanes:
        # An end's commit also stamps the messages its last step threw, a moment later: the lane reaches them.
        lane.end = right if lane.open or lane.instance_id is None else max(lane.end, last_x.get(lane.instance_id, 0))
    for lane in lanes:
        lane.label_rows = _stack_labels([m for m in graph.marks if m.lane is lane and m.below])
    graph.height = math.ceil(_place_lanes(lanes))
    _place_waits(graph)
    # The labels near the right edge widen the graph rather than being cut.
    graph.width = math.ceil(max([graph.width] + [m.right + LABEL_GAP for m in graph.marks if m.shown]
                                + [a.wait_x + a.wait_width / 2 + LABEL_GAP for a in graph.arrows]))
    return graph


def _arrow(graph, entry, x, published, receiver, duration):
    if published is None or receiver is None:
        return  # its sender or receiver is beyond the path's bounds
    x1, sender = published
    graph.arrows.append(Arrow(entry["message_id"], entry["name"], "started" if entry["started"] else "reached",
                              x1, sender, x, receiver, duration(entry["wait_seconds"])))


def _task_mark(graph, entry, x, lane):
    if entry["undo"]:
        kind = "failed" if entry["kind"] == "task_failed" else "undo"
        graph.marks.append(Mark(kind, x, lane, f"undo: {entry['name']}", f"undo {entry['name']} {entry['status']}",
                                below=True))
    elif entry["kind"] == "task_failed" and entry["status"] == "CANCELLED":  # its BPMN error was caught
        graph.marks.append(Mark("handled", x, lane, entry["name"],
                                f"{entry['name']}: business error (caught): {entry['error']}", below=True))
    elif entry["kind"] == "task_failed":
        graph.marks.append(Mark("failed", x, lane, entry["name"], f"{entry['name']} failed: {entry['error']}",
                                below=True))
    else:
        graph.marks.append(Mark("completed", x, lane, entry["name"], f"{entry['name']} completed", shown=False))


def _stack_labels(marks: list[Mark]) -> int:
    """Puts each label under a lane on the first row where it clears the label before it (columns are
    narrower than labels); returns how many rows the lane needs."""
    row_ends: list[float] = []  # where each row's last label ends
    for mark in sorted(marks, key=lambda m: m.x):
        row = next((r for r, end in enumerate(row_ends) if end + LABEL_GAP <= mark.label_x), len(row_ends))
        if row == MAX_LABEL_ROWS:
            mark.shown = False  # too crowded: its tooltip names it
            continue
        if row == len(row_ends):
            row_ends.append(0)
        row_ends[row] = mark.label_x + text_width(mark.text)
        mark.row = row
    return len(row_ends)


def _place_lanes(lanes: list[Lane]) -> float:
    """Sets each lane's height, a lane with several rows of labels pushing the next one down; returns the
    graph's height."""
    y = TOP + LANE_HEIGHT / 2
    for lane in lanes:
        lane.y = y
        y += LANE_HEIGHT + _extra_rows(lane) * LABEL_ROW
    return y - LANE_HEIGHT / 2 + TOP


def _extra_rows(lane: Lane) -> int:
    return max(0, lane.label_rows - 1)  # a lane's height holds one row


def _place_waits(graph: Graph) -> None:
    """Puts each wait on its arrow in a gap between lanes (off the lanes' lines), the gap nearest the
    arrow's middle where it touches no other label; a lane-to-itself arrow's wait goes above it."""
    taken = [mark.label_box for mark in graph.marks if mark.shown]
    for arrow in graph.arrows:
        spots = _spots_on(arrow, graph.lanes) or [((arrow.x1 + arrow.x2) / 2, arrow.y1 - 14)]
        boxes = [_box(x - arrow.wait_width / 2, y - 8, arrow.wait_width, 16) for x, y in spots]
        free = next((n for n, box in enumerate(boxes) if not any(_overlap(box, other) for other in taken)), 0)
        arrow.wait_x, arrow.wait_y = spots[free]
        taken.append(boxes[free])


def _spots_on(arrow: Arrow, lanes: list[Lane]):
    """The points of the arrow in the middle of each gap between lanes it crosses, nearest its middle first."""
    top, bottom = sorted((arrow.y1, arrow.y2))
    spots = []
    for above, below in pairwise(lanes):
        if top <= above.y and below.y <= bottom:
            free_top = above.y + 10 + LABEL_ROW * above.label_rows  # under the labels of the lane above
            free_bottom = below.y - 8
            # clear of the arrowhead, at the receiver's end
            if arrow.receiver is below:
                free_bottom -= ARROWHEAD
            elif arrow.receiver is above:
                free_top = max(free_top, above.y + 8 + ARROWHEAD)
            y = (free_top + free_bottom) / 2
            x = arrow.x1 + (arrow.x2 - arrow.x1) * (y - arrow.y1) / (arrow.y2 - arrow.y1)
            spots.append((x, y))
    middle = (arrow.y1 + arrow.y2) / 2
    return sorted(spots, key=lambda spot: abs(spot[1] - middle))


def _box(x, y, width, height):
    return (x, y, x + width, y + height)


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
