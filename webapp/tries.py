"""A try's outcome as the editor shows it: the path the instance took and its elements' states."""
from . import progress


def try_result(outcome: dict) -> dict:
    """{status, variables, path, elements, error} from Maestro.try_run's outcome.

    `path` lists the tasks that happened, in the order they ran ({element, name, state, undo_of:
    the element id of the activity an undo undid, error}); `elements` colours the diagram as the
    instance page does (progress.element_states). An in-memory run keeps no history: a task counts
    as begun when it is not cancelled, or was cancelled by the error it raised.
    """
    tasks = outcome["tasks"]
    began = {task["id"] for task in tasks if task["state"] != "CANCELLED" or task["error"]}
    happened = progress.happened(tasks, began)
    element_by_task = {task["id"]: task["bpmn_id"] for task in tasks}
    path = [{"element": task["bpmn_id"], "name": task["name"], "state": progress.state_of(task),
             "undo_of": element_by_task.get(task["undo_of"]) if task["undo_of"] else None, "error": task["error"]}
            for task in happened]
    return {"status": outcome["status"], "variables": outcome["variables"], "path": path,
            "elements": progress.states_of(happened), "error": outcome["error"]}
