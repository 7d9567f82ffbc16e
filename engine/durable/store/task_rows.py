"""An instance's task tree as one row per task, written incrementally.

The instance row keeps the workflow-level state (the "skeleton": data,
completion, subprocess records); each task is a row holding SpiffWorkflow's
own serialization of it. `TaskDelta` finds what changed since the last save.
"""
import json

from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from engine.run.serializer import SERIALIZER
from engine.run.spiff import touched

TASK_IDS = "maestro_task_ids"  # where the skeleton keeps the instance's task id counter (see task_ids)

# States in which SpiffWorkflow edits a task's internal data in place, without a change of
# state (a multi-instance parent counting merged iterations, a timer noting its next fire
# time): such tasks are written at every commit. There are few of them at any time.
LIVE = TaskState.WAITING | TaskState.READY | TaskState.STARTED | TaskState.ERROR


def _workflows(top):
    """(key, workflow) for the top workflow ("") and each subprocess (its task's id)."""
    yield "", top
    for task_id, subprocess in top.subprocesses.items():
        yield str(task_id), subprocess


def skeleton(top, task_ids):
    """The workflow-level state, without tasks (they are rows of their own), and the instance's
    task id counter (see task_ids)."""
    registry = SERIALIZER.registry

    def workflow_part(workflow):
        return {
            "data": registry.convert(registry.clean(workflow.data)),
            "correlations": workflow.correlations,
            "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
            "success": workflow.success,
            "completed": workflow.completed,
            "root": str(workflow.task_tree.id),
        }

    dct = workflow_part(top)
    dct["typename"] = "BpmnWorkflow"
    dct["bpmn_events"] = registry.convert(top.bpmn_events)
    dct["subprocesses"] = {}
    for key, subprocess in list(_workflows(top))[1:]:
        part = workflow_part(subprocess)
        part.update(typename="BpmnSubWorkflow", parent_task_id=str(subprocess.parent_task_id),
                    spec=subprocess.spec.name)
        dct["subprocesses"][key] = part
    dct[SERIALIZER.VERSION_KEY] = SERIALIZER.VERSION
    dct[TASK_IDS] = task_ids.saved()
    return json.dumps(dct)


def assemble(skeleton_text, rows):
    """The whole saved workflow (SpiffWorkflow's format) from the skeleton and (workflow, task_id, body) rows."""
    saved = json.loads(skeleton_text)
    if "tasks" in saved:  # saved whole (the in-memory format)
        return saved
    saved["tasks"] = {}
    for part in saved["subprocesses"].values():
        part["tasks"] = {}
    for workflow_key, task_id, body in rows:
        owner = saved if workflow_key == "" else saved["subprocesses"].get(workflow_key)
        if owner is not None:
            owner["tasks"][task_id] = json.loads(body)
    for owner in (saved, *saved["subprocesses"].values()):
        owner["tasks"] = _parents_first(owner["tasks"], owner["root"])
    return saved


def _parents_first(tasks, root):
    """SpiffWorkflow rebuilds a task's data from its parent's: restore parents before children."""
    ordered, queue = {}, [root]
    while queue:
        task_id = queue.pop(0)
        if task_id in tasks and task_id not in ordered:
            ordered[task_id] = tasks[task_id]
            queue.extend(tasks[task_id]["children"])
    ordered.update((task_id, body) for task_id, body in tasks.items() if task_id not in ordered)
    return ordered


class TaskDelta:
    """Which task rows to write and delete to bring storage up to date with the tree."""

    def __init__(self, top, saved=None):
        self.top = top
        # task id -> (state, workflow key, children) as last written; empty before the first save.
        self.saved = dict(saved or {})

    @classmethod
    def loaded(cls, top):
        """For a tree just read from storage: everything in it is saved."""
        touched.take(top)
        return cls(top, {task.id: _signature(task, key) for key, wf in _workflows(top) for task in wf.tasks.values()})

    def changes(self):
        """(rows to upsert as dicts, task ids to delete, tasks written); records them as saved."""
        marked = touched.take(self.top)
        changed, present = {}, set()
        for key, workflow in _workflows(self.top):
            for task_id, task in workflow.tasks.items():
                present.add(task_id)
                if task.state & LIVE or task_id in marked or self.saved.get(task_id) != _signature(task, key):
                    changed[task_id] = (task, key)
        # A task's data is saved as changes against its parent's: when a parent is
        # rewritten (its data may differ), its children must be rewritten against it.
        for task, key in list(changed.values()):
            for child in task.children:
                changed.setdefault(child.id, (child, key))
        upserts, written = [], []
        for task_id, (task, key) in changed.items():
            self.saved[task_id] = _signature(task, key)
            written.append(task)
            body = task_body(task, relative_to_parent=task._parent in changed)
            upserts.append({"task_id": str(task_id), "workflow": key, "body": body})
        removed = [task_id for task_id in self.saved if task_id not in present]
        for task_id in removed:
            del self.saved[task_id]
        return upserts, [str(task_id) for task_id in removed], written


def _signature(task, key):
    """What, besides a mark or a live state, tells that a task's saved form is out of date."""
    return task.state, key, tuple(task._children)


def task_body(task, relative_to_parent=True):
    """SpiffWorkflow's serialized form of one task, as JSON text.

    The same dict as its TaskConverter makes; plain JSON values are dumped
    directly, and only values that are not JSON go through its converters.
    SpiffWorkflow saves a task's data as changes against its parent's data;
    that is only safe when the parent is saved in the same write (the two rows
    then agree), so otherwise the task's whole data is saved (a row with no
    changes recorded is restored from its own data).
    """
    dct = {
        "id": str(task.id),
        "parent": str(task._parent) if task._parent is not None else None,
        "children": [str(child) for child in task._children],
        "last_state_change": task.last_state_change,
        "state": task.state,
        "task_spec": task.task_spec.name,
        "triggered": task.triggered,
        "internal_data": task.internal_data,
    }
    parent = task.parent
    if parent is None or not relative_to_parent:
        dct["data"], dct["delta"] = task.data, {}
    else:
        dct["data"] = {}
        dct["delta"] = {"updates": DeepMerge.get_updated_keys(parent.data, task.data),
                        "deletions": DeepMerge.get_deleted_keys(parent.data, task.data)}
    dct["typename"] = "Task"
    try:
        return json.dumps(dct)
    except (TypeError, ValueError):  # something only SpiffWorkflow's converters can write
        converted = SERIALIZER.registry.convert(task)
        if not relative_to_parent:
            registry = SERIALIZER.registry
            converted["data"], converted["delta"] = registry.convert(registry.clean(task.data)), {}
        return json.dumps(converted)
