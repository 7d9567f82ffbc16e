"""An instance's task tree as one row per task, written incrementally.

The instance row keeps the workflow-level state (the "skeleton": data,
completion, subprocess records); each task is a row holding SpiffWorkflow's
own serialization of it. `TaskDelta` finds what changed since the last save.
"""
import hashlib
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
# Of those, the states in which it does so without an update (TaskSpec._update, which marks the
# task: see touched): a ready task waits to run, and running it changes its state.
EDITED_IN_PLACE = TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


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
    """Which task rows to write and delete to bring storage up to date with the tree.

    The first write after the instance was created or loaded compares every
    task with what is stored (a loaded instance may have replayed steps
    since). After that only the tasks that can have changed are looked at:
    those whose state changed (`note`, from the writer's steps), the ones
    marked (touched: updated, given a child, edited by Maestro), the live ones
    SpiffWorkflow edits in place, and those of subworkflows started since; the
    rows of tasks removed (touched) or of subworkflows gone are deleted. So a
    snapshot costs what changed, not the size of the instance.
    """

    def __init__(self, top, saved=None):
        self.top = top
        # task id -> (state, workflow key, children) as last written; empty before the first save.
        self.saved = dict(saved or {})
        self.compared = False  # whether a write has compared the whole tree with storage yet
        self.noted = {}  # task id -> task whose state changed since the last write
        self.live = {}  # task id -> task last written in a state edited in place: written at every write
        self.workflows = {}  # workflow key -> the workflow written under it (others are new)
        # task id -> digest of the data written last, for tasks with children: while it stays the
        # same, children stored against it stay right and are not rewritten with it
        self.data_written = {}
        self.whole = set()  # ids of rows stored with their whole data: they depend on no parent's
        touched.take(top)
        touched.take_removed(top)

    @classmethod
    def loaded(cls, top):
        """For a tree just read from storage: everything in it is saved."""
        return cls(top, {task.id: _signature(task, key) for key, wf in _workflows(top) for task in wf.tasks.values()})

    def note(self, tasks):
        """Tasks whose state changed (a step's, see state_changes)."""
        for task in tasks:
            self.noted[task.id] = task

    def changes(self):
        """(rows to upsert as dicts, task ids to delete, tasks written); records them as saved."""
        marked = touched.take(self.top)
        removed_ids = touched.take_removed(self.top)
        noted, self.noted = self.noted, {}
        if not self.compared:
            changed, removed = self._compare_all(marked)
            self.compared = True
        else:
            changed, removed = self._look_at(marked, noted, removed_ids)
            changed = _in_workflow_order(self.top, changed)
        # A task's data is saved as changes against its parent's: when a parent is
        # rewritten with other data, its children stored against it must be rewritten with it.
        # Such a child is written with its whole data, so that it depends on its parent's no more.
        dependents = set()
        for task, key in list(changed.values()):
            if task._children and self._data_changed(task):
                for child in task.children:
                    if child.id not in changed and child.id not in self.whole:
                        changed[child.id] = (child, key)
                        dependents.add(child.id)
        upserts, written = [], []
        for task_id, (task, key) in changed.items():
            self.saved[task_id] = _signature(task, key)
            written.append(task)
            relative = task._parent in changed and task_id not in dependents
            if relative:
                self.whole.discard(task_id)
            else:
                self.whole.add(task_id)
            if task.state & EDITED_IN_PLACE:
                self.live[task_id] = task
            else:
                self.live.pop(task_id, None)
            body = task_body(task, relative_to_parent=relative)
            upserts.append({"task_id": str(task_id), "workflow": key, "body": body})
        for task_id in removed:
            del self.saved[task_id]
            self.live.pop(task_id, None)
            self.whole.discard(task_id)
            self.data_written.pop(task_id, None)
        self.workflows = dict(_workflows(self.top))
        return upserts, [str(task_id) for task_id in removed], written

    def _compare_all(self, marked):
        changed, present = {}, set()
        for key, workflow in _workflows(self.top):
            for task_id, task in workflow.tasks.items():
                present.add(task_id)
                if task.state & LIVE or task_id in marked or self.saved.get(task_id) != _signature(task, key):
                    changed[task_id] = (task, key)
        return changed, [task_id for task_id in self.saved if task_id not in present]

    def _look_at(self, marked, noted, removed_ids):
        keys = {workflow: key for key, workflow in _workflows(self.top)}
        changed = {}
        for task in (*noted.values(), *marked.values(), *self.live.values()):
            key = keys.get(task.workflow)
            if key is not None and task.workflow.tasks.get(task.id) is task:
                changed[task.id] = (task, key)
        for workflow, key in keys.items():
            if self.workflows.get(key) is not workflow:  # started since the last write: all of it is new
                changed.update((task_id, (task, key)) for task_id, task in workflow.tasks.items())
        removed = {task_id for task_id in removed_ids if task_id in self.saved and task_id not in changed}
        gone = {key for key, workflow in self.workflows.items() if keys.get(workflow) != key}
        if gone:  # subworkflows dropped (or replaced) since: their rows go, but for tasks written now
            removed.update(task_id for task_id, signature in self.saved.items()
                           if signature[1] in gone and task_id not in changed)
        return changed, list(removed)

    def _data_changed(self, task):
        """Whether the task's data differs from what was written for it last (True if unknown)."""
        digest = _digest(task.data)
        if self.data_written.get(task.id) == digest:
            return False
        self.data_written[task.id] = digest
        return True


def _in_workflow_order(top, changed):
    """The tasks with the process's first, then each subworkflow's in the order they started, as a
    scan of the tree lists them (within one workflow, in the order they were looked at): the order
    the history rows of tasks born waiting or ready come in."""
    rank = {id(workflow): position for position, workflow in enumerate(top.subprocesses.values(), 1)}
    rank[id(top)] = 0
    return dict(sorted(changed.items(), key=lambda item: rank.get(id(item[1][0].workflow), 0)))


def _digest(data):
    """A fingerprint of a task's data: equal data in the same order give the same one (repr tells
    1 from "1", which JSON does not; data that differ only in order count as changed, to be safe)."""
    return hashlib.blake2b(repr(data).encode(), digest_size=16).digest()


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
