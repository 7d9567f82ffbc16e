"""Migrating an instance to another version of its process, in memory.

Camunda 7's rule: an instance moves only when each of its active activities has a counterpart in the
new version. Here the counterpart is the element with the same id and kind, found by SpiffWorkflow's
diff (SpiffWorkflow.bpmn.util.diff), for every task whose state the token game needs: the tasks ready,
waiting (user tasks, timer and message catches, a parallel join with branches arrived), running or
failed, and the completed ones the tree still holds (their records name their elements). What
SpiffWorkflow's `migrate_workflow` lacks is added: a refusal that names each missing element, and
waiting catches keep what they wait for (`migrate_workflow` resets waiting tasks, so a timer would
start over); only ready tasks are reset, to be predicted along the new version's flows.
"""
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.util.diff import WorkflowDiff, diff_workflow, migrate_workflow
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from .instance import Instance, element_type
from .serializer import SERIALIZER
from .spiff import touched
from .spiff.task_ids import issuing
from .token_moves import element_label

ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
NEEDED = ACTIVE | TaskState.COMPLETED | TaskState.CANCELLED  # tasks the tree keeps: their elements must exist
PREDICTED = TaskState.PREDICTED_MASK | TaskState.FUTURE


def refusals(instance: Instance, spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec],
             to_version: int) -> list[str]:
    """Why the instance cannot run on `spec` (the new version): one sentence per missing or changed
    element, active ones first; empty when it can."""
    top_diff, subprocess_diffs = diff_workflow(SERIALIZER.registry, instance.workflow, spec, subprocess_specs)
    reasons: dict[str, int] = {}  # sentence -> 0 for an active task's, 1 for a completed one's
    for workflow, diff in _workflows(instance.workflow, top_diff, subprocess_diffs):
        if diff is None:
            reasons[f"the subprocess {workflow.spec.name} is not in version {to_version}"] = 0
            continue
        for task in workflow.get_tasks(state=NEEDED, skip_subprocesses=True):
            active = task.has_state(ACTIVE)
            problem = _counterpart_problem(task.task_spec, diff.alignment.get(task), to_version, active)
            if problem is not None:
                reasons.setdefault(problem, 0 if active else 1)
    return sorted(reasons, key=lambda sentence: reasons[sentence])


def migrate(instance: Instance, spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]) -> None:
    """Makes the instance run on `spec` (check `refusals` first): every task takes its element in the
    new version, ready tasks are predicted anew, waiting ones keep their state and data."""
    workflow = instance.workflow
    top_diff, subprocess_diffs = diff_workflow(SERIALIZER.registry, workflow, spec, subprocess_specs)
    with issuing(instance.task_ids):
        workflow.subprocess_specs = subprocess_specs
        for part, diff in _workflows(workflow, top_diff, subprocess_diffs):
            new_spec = spec if part is workflow else subprocess_specs[part.spec.name]
            for task in part.get_tasks(skip_subprocesses=True):
                touched.mark(task)  # its row names its element: written anew
            migrate_workflow(diff, part, new_spec, reset_mask=TaskState.READY)
            for task in part.get_tasks(state=TaskState.WAITING | TaskState.STARTED | TaskState.ERROR,
                                       skip_subprocesses=True):
                _predict_anew(task)


def _workflows(top: BpmnWorkflow, top_diff: WorkflowDiff, subprocess_diffs: dict) -> list[tuple]:
    return [(top, top_diff), *((top.subprocesses[task_id], diff) for task_id, diff in subprocess_diffs.items())]


def _counterpart_problem(old: TaskSpec, new: TaskSpec | None, to_version: int, active: bool) -> str | None:
    """What is wrong with `new` as the counterpart of `old`; an element the instance is done with is said to
    be (its record in the tree needs the element)."""
    label = element_label(old) if active else f"{element_label(old)}, which the instance ran,"
    if new is None or new.name != old.name:
        return f"{label} is not in version {to_version}"
    if type(new).__name__ != type(old).__name__:
        return f"{label} is a {element_type(old)} here but a {element_type(new)} in version {to_version}"
    return None


def _predict_anew(task: Task) -> None:
    """Brings the predicted tasks after a waiting or running one in line with its new element's flows:
    they are predicted anew (what SpiffWorkflow predicted from the old version's flows may be definite,
    which it refuses to take back)."""
    for child in list(task.children):
        if child.has_state(PREDICTED):
            task.workflow._remove_task(child.id)
    if task.state != TaskState.ERROR:
        task.task_spec._predict(task, mask=PREDICTED | task.state)
        return
    # SpiffWorkflow predicts a finished task's children in its own state: a failed task's would "fail" too.
    task._sync_children(task.task_spec.outputs, TaskState.FUTURE)
    for child in task.children:
        child.task_spec._predict(child, mask=PREDICTED)

