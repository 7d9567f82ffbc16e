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
    return states_of(happened(shown["tasks"], began))


def happened(tasks, began):
    """The tasks that happened, in their order: not predicted, and not cancelled before they began
    (`began`: ids of the tasks that ever became ready)."""
    return [task for task in tasks
            if task["state"] in _HAPPENED and (task["state"] != "CANCELLED" or task["id"] in began)]


def states_of(tasks):
    """{bpmn_id: {"state", "count"}} of tasks that happened (see element_states)."""
    states, counts = {}, {}
    for task in tasks:
        element = task["bpmn_id"]
        counts[element] = counts.get(element, 0) + 1
        states.setdefault(element, set()).add(state_of(task))
    return {element: {"state": min(found, key=_PRECEDENCE.index), "count": counts[element]}
            for element, found in states.items()}


def state_of(task):
    """What one task that happened colours its element with."""
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
