"""What happened to each diagram element of an instance: what its diagram is coloured by."""

# Predicted tasks (SpiffWorkflow's MAYBE, LIKELY, FUTURE) have not happened: they colour nothing.
_HAPPENED = {"READY", "WAITING", "STARTED", "COMPLETED", "ERROR", "CANCELLED"}

# When an element ran several times, the most telling of its states colours it.
_PRECEDENCE = ["failed", "active", "waiting", "compensation", "compensated", "completed", "cancelled"]


def element_states(shown):
    """{bpmn_id: {"state": failed|active|waiting|compensation|compensated|completed|cancelled,
    "count": times it ran}} for an instance as `Maestro.show` returns it.

    "compensation": an undo activity that ran; "compensated": completed work that was undone;
    "failed" includes a task whose BPMN error was caught (and so was cancelled).
    A task cancelled before it ever became ready (a path not taken) colours nothing.
    """
    began = {entry["task_id"] for entry in shown["history"] if entry["state"] in _HAPPENED - {"CANCELLED"}}
    states, counts = {}, {}
    for task in shown["tasks"]:
        if task["state"] not in _HAPPENED or (task["state"] == "CANCELLED" and task["id"] not in began):
            continue
        element = task["bpmn_id"]
        counts[element] = counts.get(element, 0) + 1
        states.setdefault(element, set()).add(_state_of(task))
    return {element: {"state": min(found, key=_PRECEDENCE.index), "count": counts[element]}
            for element, found in states.items()}


def _state_of(task):
    if task["state"] == "ERROR":
        return "failed"
    if task["state"] in ("READY", "STARTED"):
        return "waiting" if task.get("form") is not None or task["type"] in ("userTask", "receiveTask") else "active"
    if task["state"] == "WAITING":
        return "waiting"
    if task["state"] == "CANCELLED":
        return "failed" if task["error"] else "cancelled"  # interrupted by the error it raised
    if task["undo_of"]:
        return "compensation"
    return "compensated" if task["compensated"] else "completed"
