"""Steps and their replay: how a worker commits a running instance cheaply and how another rebuilds it.

A worker commits after every step (one activity finished, see `commit_point`).
Rewriting the instance's changed tasks at every step costs more than running
it, so between snapshots a step is logged as the outcomes of the handlers it
called, nothing else. Everything else a step does is determined by the
snapshot and those outcomes: conditions and scripts see the same data, and
task ids are numbered per instance (task_ids). So a worker that takes the
instance over rebuilds it exactly by running the logged steps again with the
recorded outcomes instead of calling the handlers.

What is not determined by them is the clock, which timers read: a step
with a timer waiting is therefore saved as a snapshot, not logged (`TimerWatch`).
"""
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.namespaces import ACTIVITIES
from engine.run.interruptions import ReplayDiverged
from engine.run.specs import caught_definitions, maestro_info

# At most this many steps are logged before a snapshot: it bounds the work of a replay.
MAX_LOGGED_STEPS = 50


def commit_point(task):
    """After which tasks progress is committed: every activity that ran (and so called its handler).

    Events and gateways between two activities are not committed on their own:
    they call no handler, so a worker that takes over simply runs them again.
    """
    return task.has_state(TaskState.FINISHED_MASK) and maestro_info(task.task_spec).get("element") in ACTIVITIES


class TimerWatch:
    """Whether a step involves a waiting timer, so that it must be saved whole, not logged.

    A timer's due time comes from the clock when it starts waiting, and whether
    it fires depends on the clock when the instance looks: a step that starts
    or ends with a timer waiting cannot be replayed later to the same result.
    """

    def __init__(self, workflow):
        self.waiting = {task.id: task for part in (workflow, *workflow.subprocesses.values())
                        for task in part.tasks.values() if _is_waiting_timer(task)}

    def step_involves_timer(self, changed):
        """After a step that changed the state of the tasks `changed`."""
        waited_before = bool(self.waiting)
        self.waiting.update((task.id, task) for task in changed if _is_waiting_timer(task))
        self.waiting = {task_id: task for task_id, task in self.waiting.items()
                        if _is_waiting_timer(task) and task.workflow.tasks.get(task_id) is task}
        return waited_before or bool(self.waiting)


def _is_waiting_timer(task):
    return task.state == TaskState.WAITING and \
        any(isinstance(definition, TimerEventDefinition) for definition in caught_definitions(task.task_spec))


def replay(instance, logged):
    """Runs the logged steps (each a dict of handler outcomes by task id) again, calling no handler.

    Every step but a completed instance's last one ended at a commit point.
    """
    runtime = instance.workflow.script_engine
    try:
        for number, outcomes in enumerate(logged, 1):
            runtime.replaying = dict(outcomes)
            paused = instance.run_until(commit_point)
            ended = paused or (number == len(logged) and instance.ended)
            if instance.error is not None or not ended or runtime.replaying:
                problem = instance.error["message"] if instance.error else (
                    f"handler outcomes of tasks {sorted(runtime.replaying)} were not asked for" if runtime.replaying
                    else "the instance stopped before the step ended")
                raise ReplayDiverged(f"instance {instance.id}: replaying logged step {number} of {len(logged)}: "
                                     f"{problem}")
    finally:
        runtime.replaying = None
    runtime.calls.clear()
    runtime.outcomes.clear()
