"""The READY and WAITING tasks of each workflow of an instance, kept from the state changes.

Finding the task to run next, or the waiting tasks to look at again after a
task completed, by scanning the tree costs the whole tree at every step: a
parallel multi-instance activity of 1,000 items made each step walk 1,000
tasks. Instead every change into READY or WAITING (state_changes sees them
all, and `Task._add_child` the tasks born in those states) files the task
under its workflow; a filed task that has since moved on or left the tree is
dropped when next looked at. An instance's index is built by one scan the
first time it is asked for (an instance just created or loaded); a
subworkflow started later gets its own at once.

Ready tasks are kept in a heap in depth-first tree order (tree_order), so
the first of them is found without comparing it with all the others. A task
that leaves the tree can no longer be placed in that order, so the heap is
rebuilt without it before it is used again (tasks leave the tree rarely: an
interrupted activity, a cancelled instance).
"""
import heapq

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.workflow import Workflow

from .tree_order import order_key

_INDEX = "maestro_live_tasks"  # on each workflow: its LiveTasks
_REGISTRY = "maestro_live_workflows"  # on the top workflow: its Registry
READY, WAITING = TaskState.READY, TaskState.WAITING


class Registry:
    """The indexes of one instance's workflows, and which of them may have ready tasks."""

    def __init__(self, top):
        self.top = top
        self.started = 0  # numbers the workflows in the order they started (top.subprocesses' order)
        self.with_ready = {}  # LiveTasks -> None, for the workflows whose heap is not empty
        top.__dict__[_REGISTRY] = self
        self.add(top)
        for subworkflow in top.subprocesses.values():
            self.add(subworkflow)

    def add(self, workflow):
        self.started += 1
        workflow.__dict__[_INDEX] = LiveTasks(workflow, self, self.started)

    def in_run_order(self):
        """The indexes of the workflows that may have a ready task, as the runtime looks at them: the
        deepest subworkflows first (those started first among equals), the instance's own last.
        Finished or dropped subworkflows are left out."""
        subprocesses = self.top.subprocesses
        found = []
        for index in list(self.with_ready):
            workflow = index.workflow
            if workflow is self.top or (not workflow.completed and
                                        subprocesses.get(workflow.parent_task_id) is workflow):
                found.append(index)
            else:  # finished or dropped for good: nothing of it runs again
                del self.with_ready[index]
        found.sort(key=lambda index: (-index.workflow.depth, index.started))
        return found


class LiveTasks:
    """One workflow's READY (not manual) and WAITING tasks; entries may be stale until looked at."""

    def __init__(self, workflow, registry, started):
        self.workflow = workflow
        self.registry = registry
        self.started = started
        self.ready_heap = []  # (order key, task) of READY tasks no person has to complete
        self.in_heap = set()  # ids of the tasks in ready_heap
        self.interrupting = {}  # task id -> task: READY interrupting boundary events (they go first)
        self.waiting = {}  # task id -> task, for tasks noted WAITING
        self.lost = False  # a task of the heap left the tree: rebuild the heap before using it
        for task in workflow.tasks.values():
            self.note(task)

    def note(self, task):
        state = task._state
        if state == READY:
            spec = task.task_spec
            if spec.manual:
                return
            if isinstance(spec, BoundaryEvent) and spec.cancel_activity:
                self.interrupting[task.id] = task
            if task.id in self.in_heap:
                return
            if self.lost:
                self._rebuild()
            self.in_heap.add(task.id)
            heapq.heappush(self.ready_heap, (order_key(task), task))
            self.registry.with_ready[self] = None
        elif state == WAITING:
            self.waiting[task.id] = task

    def removed(self, task):
        if task.id in self.in_heap:
            self.lost = True

    def _live(self, task, state):
        return task._state == state and self.workflow.tasks.get(task.id) is task

    def first_ready(self):
        """The first ready task in tree order, or None; drops stale entries on the way."""
        if self.lost:
            self._rebuild()
        heap = self.ready_heap
        while heap and not self._live(heap[0][1], READY):
            self.in_heap.discard(heapq.heappop(heap)[1].id)
        if not heap:
            self.registry.with_ready.pop(self, None)
            return None
        return heap[0][1]

    def ready_interrupting(self):
        """The ready interrupting boundary events."""
        for task_id in [task_id for task_id, task in self.interrupting.items() if not self._live(task, READY)]:
            del self.interrupting[task_id]
        return list(self.interrupting.values())

    def _rebuild(self):
        self.lost = False
        live = [entry for entry in self.ready_heap if self._live(entry[1], READY)]
        heapq.heapify(live)
        self.ready_heap = live
        self.in_heap = {task.id for _, task in live}

    def waiting_tasks(self):
        """The WAITING tasks of the workflow, in no particular order; drops stale entries."""
        for task_id in [task_id for task_id, task in self.waiting.items() if not self._live(task, WAITING)]:
            del self.waiting[task_id]
        return list(self.waiting.values())


def registry(top) -> Registry:
    """The instance's indexes, built by one scan of its tasks the first time."""
    return top.__dict__.get(_REGISTRY) or Registry(top)


def of(workflow) -> LiveTasks:
    """A workflow's index (its instance's are built the first time)."""
    index = workflow.__dict__.get(_INDEX)
    if index is None:
        indexes = registry(workflow.top_workflow)
        index = workflow.__dict__.get(_INDEX)
        if index is None:  # a subworkflow already dropped from the instance's
            indexes.add(workflow)
            index = workflow.__dict__[_INDEX]
    return index


def note(task) -> None:
    """Files a task that is READY or WAITING, when its workflow is indexed already."""
    index = task.workflow.__dict__.get(_INDEX)
    if index is not None:
        index.note(task)


_add_child = Task._add_child
_task_removed_notify = Workflow._task_removed_notify
_create_subprocess = BpmnWorkflow.create_subprocess


def _add_noted_child(task, task_spec, state=TaskState.MAYBE):
    child = _add_child(task, task_spec, state)
    if state & (READY | WAITING):  # born in that state: no change of state tells of it
        note(child)
    return child


def _noting_removal(workflow, task):
    index = workflow.__dict__.get(_INDEX)
    if index is not None:
        index.removed(task)
    _task_removed_notify(workflow, task)


def _indexed_subprocess(top, my_task, spec_name):
    subworkflow = _create_subprocess(top, my_task, spec_name)
    indexes = top.__dict__.get(_REGISTRY)
    if indexes is not None:
        indexes.add(subworkflow)
    return subworkflow


Task._add_child = _add_noted_child
Workflow._task_removed_notify = _noting_removal
BpmnWorkflow.create_subprocess = _indexed_subprocess
