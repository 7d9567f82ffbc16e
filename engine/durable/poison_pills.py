"""Instances whose step kills the worker running it (os._exit in a handler, a crashing C extension).

The jobs table counts, per instance, the workers that died holding it since its
last committed progress (store.jobs.claim); a suspect is run alone, and once
the count reaches MAESTRO_MAX_CRASHES the instance is failed with the error
record built here, naming the task it was about to run each time.
"""
from SpiffWorkflow.util.task import TaskState


def task_in_flight(instance):
    """The task a worker runs next on this instance (as loaded from its last commit), or None."""
    for task in instance.workflow.get_tasks(state=TaskState.READY):
        if not task.task_spec.manual:
            return task
    return None


def worker_deaths(instance, crashes: int) -> dict:
    """The error record (as Instance keeps it) of an instance that killed `crashes` workers in a row."""
    task = task_in_flight(instance) or instance.workflow.task_tree
    name = task.task_spec.bpmn_name or task.task_spec.bpmn_id or task.task_spec.name
    message = (f"the worker process died {crashes} times running task '{name}' ({task.task_spec.bpmn_id}): "
               "the instance is failed so that it kills no more workers; fix the cause, then retry it")
    task.internal_data["maestro_error"] = {"message": message, "type": "WorkerDied"}
    return {"task": str(task.id), "bpmn_id": task.task_spec.bpmn_id, "message": message,
            "type": "WorkerDied", "traceback": ""}
