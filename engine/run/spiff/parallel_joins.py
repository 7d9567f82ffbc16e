"""A parallel gateway's join decided by counting arrivals, not by walking the tree.

BPMN 2.0.2 (13.4.2): a parallel join fires once a token has arrived on every
incoming flow. SpiffWorkflow decides that at every arrival by collecting all
the tasks of the join's spec from the whole tree (deep_trees.parallel_join_may_fire):
with 200 branches, 200 walks of a tree that grows with them. Here each
(workflow, join) keeps its arrivals: the join's tasks whose parent (an
incoming flow's source) completed, by input. An arrival is recorded when its
join task is looked at (SpiffWorkflow updates it as soon as its parent
completes); a workflow's first look at a join (an instance just loaded)
collects the arrivals so far from its task table. The join may fire when
every input has an arrival; only then are they checked to be still in the
tree with their parent completed, once.

A join that can reach itself (a loop through it) is decided by the walk as
before: there an arrival below the join, or above it, belongs to another
round of the loop. Inclusive gateways keep their own look back.

SpiffWorkflow's join also cancels, at each arrival, the other arrivals that
wait: those come from the workflow's index of waiting tasks (live_tasks)
rather than from a scan of its task table.
"""
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.util.task import TaskState

from . import live_tasks
from .deep_trees import parallel_join_may_fire as may_fire_by_walking

_ARRIVALS = "maestro_join_arrivals"  # on a workflow: join spec name -> Arrivals
_IN_A_LOOP = "maestro_join_in_a_loop"  # on a join spec: whether it can reach itself
COMPLETED = TaskState.COMPLETED


class Arrivals:
    """The tokens that have arrived at one parallel join in one workflow, by incoming flow's source."""

    def __init__(self, workflow, spec):
        self.workflow = workflow
        self.inputs = set(spec._inputs)
        self.by_input = {name: {} for name in self.inputs}  # source spec name -> {join task id: join task}
        self.missing = set(self.inputs)  # sources with no arrival recorded
        for task in workflow.tasks.values():
            if task.task_spec is spec:
                self.record(task)

    def record(self, join_task):
        parent = self.workflow.tasks.get(join_task._parent)
        if parent is not None and parent._state == COMPLETED and parent.task_spec.name in self.inputs:
            self.by_input[parent.task_spec.name][join_task.id] = join_task
            self.missing.discard(parent.task_spec.name)

    def complete(self):
        """Whether every input has an arrival still in the tree whose source is still completed."""
        if self.missing:
            return False
        tasks = self.workflow.tasks
        for name, arrived in self.by_input.items():
            for task_id, task in list(arrived.items()):
                parent = tasks.get(task._parent)
                if tasks.get(task_id) is not task or parent is None or parent._state != COMPLETED \
                        or parent.task_spec.name != name:
                    del arrived[task_id]
            if not arrived:
                self.missing.add(name)
        return not self.missing


def parallel_join_may_fire(spec, my_task):
    """ParallelGateway._check_threshold_unstructured: whether every input of the join has a token."""
    if _in_a_loop(spec):
        return may_fire_by_walking(spec, my_task)
    workflow = my_task.workflow
    joins = workflow.__dict__.setdefault(_ARRIVALS, {})
    arrivals = joins.get(spec.name)
    if arrivals is None:
        arrivals = joins[spec.name] = Arrivals(workflow, spec)
    else:
        arrivals.record(my_task)
    return arrivals.complete()


def _in_a_loop(spec):
    in_a_loop = spec.__dict__.get(_IN_A_LOOP)
    if in_a_loop is None:
        in_a_loop = spec.__dict__[_IN_A_LOOP] = _reaches(spec, spec)
    return in_a_loop


def _reaches(source, target):
    seen, queue = set(), list(source.outputs)
    while queue:
        spec = queue.pop()
        if spec is target:
            return True
        if spec.name not in seen:
            seen.add(spec.name)
            queue.extend(spec.outputs)
    return False


def _update_hook(self, my_task):
    """UnstructuredJoin._update_hook, with the other waiting arrivals found in the index of waiting tasks."""
    may_fire = self._check_threshold_unstructured(my_task)
    for task in _other_waiting_arrivals(self, my_task):
        # By cancelling other waiting tasks immediately, they are not updated repeatedly and pointlessly
        task.cancel()
    if not may_fire:
        my_task._set_state(TaskState.WAITING)  # only the most recent arrival waits
    else:
        my_task._inherit_data()  # only the task that goes on takes the data
    return may_fire


def _other_waiting_arrivals(spec, my_task):
    """The other WAITING tasks of the join's spec, in the order of the workflow's task table."""
    others = [task for task in live_tasks.of(my_task.workflow).waiting_tasks()
              if task.task_spec == spec and task is not my_task]
    if len(others) > 1:  # rare: one arrival waits at a time, as each cancels the others
        ids = {task.id for task in others}
        others = [task for task in my_task.workflow.tasks.values() if task.id in ids]
    return others


ParallelGateway._check_threshold_unstructured = parallel_join_may_fire
UnstructuredJoin._update_hook = _update_hook
