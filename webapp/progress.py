"""What happened to each diagram element of an instance: what its diagram is coloured by."""

# Predicted tasks (SpiffWorkflow's MAYBE, LIKELY, FUTURE) have not happened: they colour nothing.
_HAPPENED = {"READY", "WAITING", "STARTED", "COMPLETED", "ERROR", "CANCELLED"}

# When an element ran several times, the most telling of its states colours it.
_PRECEDENCE = ["failed", "handled", "active", "waiting", "compensation", "compensated", "completed", "cancelled"]


def element_states(shown):
    """{bpmn_id: {"state": failed|handled|active|waiting|compensation|compensated|completed|cancelled,
    "count": times it ran}} for an instance as `Maestro.show` returns it; an undo activity's also has
    "undo": the numbers of its runs among the instance's undos (undo_numbers).

    "compensation": an undo activity that ran; "compensated": completed work that was undone;
    "failed": a crash (a technical failure, or a BPMN error nothing caught); "handled": a task whose
    BPMN error a boundary event or event subprocess caught (a business error, handled by the diagram).
    A task cancelled before it ever became ready (a path not taken) colours nothing.
    """
    began = {entry["task_id"] for entry in shown["history"] if entry["state"] in _HAPPENED - {"CANCELLED"}}
    states = states_of(happened(shown["tasks"], began))
    element_of = {task["id"]: task["bpmn_id"] for task in shown["tasks"]}
    for task_id, number in undo_numbers(shown["history"]).items():
        found = states.get(element_of.get(task_id))
        if found is not None:
            found.setdefault("undo", []).append(number)
    return states


def undo_numbers(history):
    """{undo task id: 1, 2, 3...} in the order the undo tasks began: a saga's undos run newest work
    first, so 1 is the undo of the last step that completed."""
    numbers: dict[str, int] = {}
    for entry in history:
        if entry.get("undo_of") and entry["task_id"] not in numbers:
            numbers[entry["task_id"]] = len(numbers) + 1
    return numbers


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
        if not task["error"]:
            return "cancelled"
        # Interrupted by the error it raised: a BPMN error the diagram caught, or a crash.
        return "handled" if task["error"].get("type") == "BpmnError" else "failed"
    if task["undo_of"]:
        return "compensation"
    return "compensated" if task["compensated"] else "completed"
