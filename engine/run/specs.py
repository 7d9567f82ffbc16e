"""Maestro's own task specs: where SpiffWorkflow 3.2's meaning differs from BPMN.

Static facts the parser learns about an element live in `spec.extensions["maestro"]`,
which SpiffWorkflow's serializer already saves, so a saved instance keeps them.
"""
from copy import deepcopy
from uuid import UUID

from SpiffWorkflow.bpmn.specs.defaults import (
    EndEvent,
    EventSubprocess,
    IntermediateThrowEvent,
    NoneTask,
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
    ServiceTask,
)
from SpiffWorkflow.bpmn.specs.event_definitions.base import EventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import CancelEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.handlers import BpmnError
from engine.run.spiff.dropped_work import forget_dropped_work

from . import compensation
from .instance_limits import BoundedIterations


def maestro_info(spec):
    """The Maestro facts of a spec (an empty dict for specs the parser did not annotate)."""
    extensions = getattr(spec, "extensions", None)
    if not isinstance(extensions, dict):
        return {}
    return extensions.get("maestro", {})


def caught_definitions(spec):
    """The event definitions a task spec waits for; an event-based gateway waits for those of its events."""
    definition = getattr(spec, "event_definition", None)
    if isinstance(definition, MultipleEventDefinition):
        return definition.event_definitions
    return [definition] if definition is not None else []


def annotate(spec, **facts):
    if not isinstance(getattr(spec, "extensions", None), dict):
        spec.extensions = {}
    spec.extensions.setdefault("maestro", {}).update(facts)


class CompensateEventDefinition(EventDefinition):
    """A compensation throw: `activity_ref` None compensates the whole enclosing scope."""

    def __init__(self, activity_ref=None, wait_for_completion=True, **kwargs):
        super().__init__(**kwargs)
        self.activity_ref = activity_ref
        self.wait_for_completion = wait_for_completion


class UntimedTimerEventDefinition(EventDefinition):
    """A timer a documentation model left without a time (deployed with --force-executable).

    It never fires: an event-based gateway waits for its other events, and as a
    boundary event it never interrupts. Not a TimerEventDefinition, so nothing
    schedules it or treats the instance as waiting on the clock.
    """

    def has_fired(self, my_task):
        return False


class PassThroughTask(NoneTask):
    """A plain BPMN task: it completes as soon as it is reached (see parser.PlainTaskParser)."""

    def __init__(self, wf_spec, bpmn_id, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = False


class MaestroServiceTask(ServiceTask):
    """Calls the Python handler bound to the task's topic (see engine.run.runtime)."""

    def _run_hook(self, my_task):
        runtime = my_task.workflow.top_workflow.script_engine
        result = runtime.call_handler(my_task)
        my_task.data.update(result)
        return True


class _IterationScopedMerge:
    """Keeps a multi-instance iteration's item out of the activity's data.

    SpiffWorkflow 3.2 merges each finished iteration's data, item included,
    into the activity, and then refuses to start the next iteration because
    the item "already exists".
    """

    def merge_child(self, workflow, child):
        item_names = {ref.bpmn_id for ref in (self.input_item, self.output_item) if ref is not None}
        collects_output = self.data_output is not None and self.output_item is not None
        if not item_names or collects_output:
            return super().merge_child(workflow, child)
        snapshot = child.data
        child.data = {key: value for key, value in snapshot.items() if key not in item_names}
        child.parent.maestro_iteration_data = snapshot  # what the completion condition reads
        try:
            return super().merge_child(workflow, child)
        finally:
            child.data = snapshot  # the iteration keeps its own item (its undo needs it)
            child.parent.maestro_iteration_data = None

    def check_completion_condition(self, my_task):
        """The completionCondition sees the iteration's own variables, its item included (as in Camunda).

        The iteration merged last is looked up by its id, not among all the activity's iterations.
        """
        merged = my_task.internal_data.get("merged", [])
        if not merged or self.condition is None:
            return None
        last = my_task.workflow.tasks.get(UUID(merged[-1]))
        if last is None or last._parent != my_task.id:
            return super().check_completion_condition(my_task)
        full = getattr(my_task, "maestro_iteration_data", None)
        stripped = last.data
        if full is not None:
            last.data = full
        try:
            return my_task.workflow.script_engine.evaluate(last, self.condition)
        finally:
            last.data = stripped


class _CountedIterations:
    """Whether every iteration of a parallel multi-instance activity has completed, by counting.

    SpiffWorkflow looks at every iteration each time one completes, which makes
    a 1,000-item activity cost a million looks. Each completed iteration is
    merged (`merged` lists it) as it completes, so while fewer are merged than
    there are iterations, not all have completed; only then are they looked at.
    """

    def children_complete(self, my_task):
        merged = len(my_task.internal_data.get("merged", []))
        if merged < _iteration_count(self, my_task):
            return False
        return super().children_complete(my_task)


def _iteration_count(spec, my_task):
    """How many iterations the activity has: counted once per number of children it has."""
    counted = my_task.__dict__.get("maestro_iterations")
    if counted is None or counted[0] != len(my_task._children):
        counted = (len(my_task._children), sum(1 for _ in spec._instances(my_task)))
        my_task.__dict__["maestro_iterations"] = counted
    return counted[1]


class _CancelsIterations:
    """A cancelled multi-instance activity (an interrupting boundary event, an interrupting event
    subprocess) takes its running iterations with it: see engine.run.spiff.dropped_work."""

    def _on_cancel(self, my_task):
        super()._on_cancel(my_task)
        forget_dropped_work(my_task.workflow.top_workflow)


class MaestroSequentialMultiInstance(BoundedIterations, _CancelsIterations, _IterationScopedMerge,
                                     SequentialMultiInstanceTask):
    pass


class MaestroParallelMultiInstance(BoundedIterations, _CancelsIterations, _IterationScopedMerge, _CountedIterations,
                                   ParallelMultiInstanceTask):
    pass


START_DATA = "maestro_start_data"


class MaestroEventSubprocess(EventSubprocess):
    """An event subprocess Maestro starts itself (on an error, or to compensate).

    It starts with exactly the data the runtime hands it (the failing task's,
    or the compensating scope's), not data inherited from the task tree.
    """

    def copy_data(self, my_task, subworkflow):
        data = my_task.internal_data.pop(START_DATA, None)
        if data is None:
            return super().copy_data(my_task, subworkflow)
        my_task.data = deepcopy(data)
        start = subworkflow.get_next_task(spec_name="Start")
        start.set_data(**data)


class _CompensationThrowMixin:
    """Runs the compensation handlers as child tasks before the event completes.

    The work is done in `_update_hook`, like SpiffWorkflow's multi-instance
    tasks: the task stays STARTED while its undo children run, and becomes
    READY (then COMPLETED) when the last one is done.
    """

    def _compensation_request(self, my_task):
        definition = self.event_definition
        if isinstance(definition, CompensateEventDefinition):
            return definition.activity_ref, definition.wait_for_completion
        if isinstance(definition, CancelEventDefinition):
            # A cancel end event first undoes the transaction's completed work.
            return None, True
        return None

    def _update_hook(self, my_task):
        ready = super()._update_hook(my_task)
        request = self._compensation_request(my_task)
        if request is None or compensation.has_plan(my_task):
            return ready
        activity_ref, wait = request
        previous_state = my_task.state
        # Definite before it gets undo children (a predicted task may not have any).
        my_task._set_state(TaskState.STARTED)
        if not compensation.start(my_task, activity_ref, wait):
            my_task._set_state(previous_state)
            return ready
        if wait:
            return None  # STARTED until compensation.advance() finishes the plan
        return ready

    def _run_hook(self, my_task):
        definition = self.event_definition
        if isinstance(definition, CompensateEventDefinition):
            return True  # the undo work is done by the child tasks
        if isinstance(definition, ErrorEventDefinition):
            # camunda:errorMessage of the thrown error, if the diagram gives one (see error_events.error_facts)
            message = maestro_info(self).get("error_message") or definition.name or definition.code
            raise BpmnError(definition.code, message)
        return super()._run_hook(my_task)

    def _update(self, my_task):
        # A STARTED compensation must not be re-evaluated into READY by a
        # parent's update; only compensation.advance() moves it on.
        if compensation.is_running(my_task):
            return
        return super()._update(my_task)


class MaestroThrowEvent(_CompensationThrowMixin, IntermediateThrowEvent):
    pass


class MaestroEndEvent(_CompensationThrowMixin, EndEvent):
    pass
