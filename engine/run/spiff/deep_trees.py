"""SpiffWorkflow's walks of the task tree, made iterative: long processes make deep trees.

Each task of a process is a child of the task before it, so a straight
process of 5,000 tasks is a tree 5,000 deep (as is a loop that went round
thousands of times). SpiffWorkflow walks that tree recursively, one Python
call per level, and so fails with a RecursionError from about 330 levels:
when an instance is created (TaskSpec._predict predicts every future task),
when a task's future is dropped (Workflow._remove_task, Task._drop_children:
an error caught by a boundary event, a cancelled instance), when finished
tasks are cancelled (Task.cancel), when a join looks for its branches
(Task.is_descendant_of, find_ancestor, and a parallel gateway in a loop
tracing a branch back to its input), and when an inclusive gateway looks back
along its inputs. Its tree iterator also silently stops descending 1,000 levels
down, so that get_tasks() misses every later task.

Each walk here visits the same tasks in the same order and calls the same
hooks as SpiffWorkflow's: only the recursion is replaced by an explicit stack.
SpiffWorkflow is pinned (3.2.0); importing this module installs the walks.
"""
import inspect
from collections.abc import Iterator
from typing import NamedTuple
from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskIterator, TaskState
from SpiffWorkflow.workflow import Workflow

from . import state_changes

_END = object()


def predict(spec: TaskSpec, my_task: Task, seen: list | None = None, looked_ahead: int = 0,
            mask: int = TaskState.PREDICTED_MASK) -> None:
    """TaskSpec._predict: adds every possible future task below `my_task`, depth first."""
    stack = [_predicted(spec, my_task, [] if seen is None else seen, looked_ahead, mask)]
    while stack:
        parent = stack[-1]
        child = next(parent.children, _END)
        if child is _END:
            stack.pop()
        elif child.has_state(mask) and child not in parent.seen and parent.look_ahead:
            child_spec = child.task_spec
            if type(child_spec)._predict is not predict:  # a spec that predicts its own way
                child_spec._predict(child, parent.seen[:], parent.looked_ahead + 1, mask)
            else:
                stack.append(_predicted(child_spec, child, parent.seen[:], parent.looked_ahead + 1, mask))


class _Predicted(NamedTuple):
    """A task `predict` has predicted, and its children still to look at."""
    seen: list
    looked_ahead: int
    look_ahead: bool
    children: Iterator


def _predicted(spec, task, seen, looked_ahead, mask):
    """Predicts the task's children (its spec's hook) and says how far to look below it."""
    if task.has_state(mask):
        spec._predict_hook(task)
    if task.has_state(TaskState.PREDICTED_MASK):
        seen.append(spec)
    look_ahead = task.has_state(TaskState.DEFINITE_MASK) or looked_ahead + 1 < spec.lookahead
    return _Predicted(seen, looked_ahead, look_ahead, iter(task.children))


def remove_task(workflow: Workflow, task_id: UUID) -> None:
    """Workflow._remove_task: removes a task and everything below it, children before parents."""
    stack, top = [_removal(workflow, task_id)], workflow.top_workflow
    while stack:
        task, children = stack[-1]
        child = next(children, _END)
        if child is not _END:
            stack.append(_removal(workflow, child.id))
            continue
        stack.pop()
        task.parent._children.remove(task.id)
        workflow.tasks.pop(task.id)
        state_changes.note_gone(top, (task,))
        workflow._task_removed_notify(task)


def _removal(workflow, task_id):
    task = workflow.tasks[task_id]
    return task, iter(task.children)


def drop_children(task: Task, force: bool = False) -> None:
    """Task._drop_children: removes unfinished children, looking below finished ones (all of them if forced)."""
    stack = [(task, iter(task.children), [], force)]
    while stack:
        parent, children, drop, forced = stack[-1]
        child = next(children, _END)
        if child is _END:
            stack.pop()
            for dropped in drop:
                parent.workflow._remove_task(dropped.id)
        elif forced or child.has_state(TaskState.NOT_FINISHED_MASK):
            drop.append(child)
        else:
            stack.append((child, iter(child.children), [], False))


def cancel(task: Task) -> None:
    """Task.cancel: cancels the task if unfinished, else every task below it that is."""
    stack = [iter([task])]
    while stack:
        current = next(stack[-1], _END)
        if current is _END:
            stack.pop()
        elif current.has_state(TaskState.FINISHED_MASK):
            stack.append(iter(current.children))
        else:
            current._set_state(TaskState.CANCELLED)
            current._drop_children()
            current.task_spec._on_cancel(current)


def is_descendant_of(task: Task, ancestor: Task) -> bool:
    """Task.is_descendant_of: whether `ancestor` is above `task` in the tree."""
    parent = task.parent
    while parent is not None:
        if parent == ancestor:
            return True
        parent = parent.parent
    return False


def find_ancestor(task: Task, spec_name: str) -> Task | None:
    """Task.find_ancestor: the nearest task above `task` whose spec has that name, or None."""
    parent = task.parent
    while parent is not None:
        if parent.task_spec.name == spec_name:
            return parent
        parent = parent.parent
    return None


def parallel_join_may_fire(spec: ParallelGateway, my_task: Task) -> bool:
    """ParallelGateway._check_threshold_unstructured: whether every input of the join has a token."""
    waiting_inputs = set(spec.inputs)
    for task in my_task.workflow.get_tasks(spec_name=spec.name):
        if task.is_descendant_of(my_task):  # the join in a loop: this branch is reached after it fires
            _remove_nearest_input(task, waiting_inputs)
        elif my_task.is_descendant_of(task):  # a join of an earlier round of the loop
            continue
        elif task.parent.state == TaskState.COMPLETED and task.parent.task_spec in waiting_inputs:
            waiting_inputs.remove(task.parent.task_spec)
    return len(waiting_inputs) == 0


def _remove_nearest_input(task, waiting_inputs):
    """Removes the first of the waiting inputs met going up from `task` (itself included)."""
    while task is not None:
        if task.task_spec in waiting_inputs:
            waiting_inputs.remove(task.task_spec)
            return
        task = task.parent


def inclusive_join_may_fire(spec: InclusiveGateway, my_task: Task) -> bool:
    """InclusiveGateway._check_threshold_unstructured: whether no active task can still reach an input."""
    tasks, sources = [], []
    for task in my_task.workflow.get_tasks(end_at_spec=spec.name):
        if task.task_spec == spec:
            tasks.append(task)
        elif task.has_state(TaskState.READY | TaskState.WAITING):
            sources.append(task.task_spec)
    completed_inputs = {task.parent.task_spec for task in tasks if task.parent.state == TaskState.COMPLETED}
    if any(task.parent.has_state(TaskState.DEFINITE_MASK) and task.parent.task_spec not in completed_inputs
           for task in tasks):
        return False
    waiting_inputs = [task_spec for task_spec in spec.inputs if task_spec not in completed_inputs]
    looking_back = _LookBack(sources)
    for task_spec in completed_inputs:  # an active task that reaches a completed input has nothing to wait for
        source = looking_back.source_above(task_spec)
        if source is not None:
            sources.remove(source)
    return all(looking_back.source_above(task_spec) is None for task_spec in waiting_inputs)


class _LookBack:
    """Follows a spec's first unvisited input back, up to an active task's spec; visited specs are shared."""

    def __init__(self, sources):
        self.sources = sources
        self.checked = set()  # task specs compare by identity

    def source_above(self, task_spec):
        while True:
            self.checked.add(task_spec)
            parent = next((p for p in task_spec.inputs if p not in self.checked), _END)
            if parent is _END:
                return None
            if parent in self.sources:
                return parent
            task_spec = parent


def _without_depth_limit(iterator_class):
    """Makes the iterator's default max_depth unlimited (callers that pass one keep theirs)."""
    init = iterator_class.__init__
    names = [name for name, parameter in inspect.signature(init).parameters.items()
             if parameter.default is not inspect.Parameter.empty]
    defaults = list(init.__defaults__)
    defaults[names.index("max_depth")] = float("inf")
    init.__defaults__ = tuple(defaults)


TaskSpec._predict = predict
Workflow._remove_task = remove_task
Task._drop_children = drop_children
Task.cancel = cancel
Task.is_descendant_of = is_descendant_of
Task.find_ancestor = find_ancestor
ParallelGateway._check_threshold_unstructured = parallel_join_may_fire
InclusiveGateway._check_threshold_unstructured = inclusive_join_may_fire
_without_depth_limit(TaskIterator)
_without_depth_limit(BpmnTaskIterator)
