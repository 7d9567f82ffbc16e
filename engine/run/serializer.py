"""Serializer configuration: SpiffWorkflow's, plus Maestro's task specs."""
import json

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.default.task_spec import (
    BpmnTaskSpecConverter,
    EventConverter,
    ExclusiveGatewayConverter,
    MultiInstanceTaskConverter,
    SubWorkflowConverter,
)
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.spec import EventDefinitionConverter
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask

from .assignment import MaestroUserTask
from .conditional_flows import ConditionalFlows
from .specs import (
    CompensateEventDefinition,
    MaestroEndEvent,
    MaestroEventSubprocess,
    MaestroParallelMultiInstance,
    MaestroSequentialMultiInstance,
    MaestroServiceTask,
    MaestroThrowEvent,
    PassThroughTask,
    UntimedTimerEventDefinition,
)


class CompensateEventDefinitionConverter(EventDefinitionConverter):

    def to_dict(self, event_definition):
        dct = super().to_dict(event_definition)
        dct["activity_ref"] = event_definition.activity_ref
        dct["wait_for_completion"] = event_definition.wait_for_completion
        return dct


class ConditionalFlowsConverter(ExclusiveGatewayConverter):

    def to_dict(self, spec):
        return {**super().to_dict(spec), "source": spec.source}


class SpecFreeWorkflowConverter(BpmnWorkflowConverter):
    """Saves an instance without its process specs: those are stored once per
    definition version and handed back (already parsed) when the instance is loaded."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec, subprocess_specs):
        return super().from_dict({**dct, "spec": spec, "subprocess_specs": subprocess_specs})


CONFIG = {
    **DEFAULT_CONFIG,
    BpmnWorkflow: SpecFreeWorkflowConverter,
    MaestroServiceTask: BpmnTaskSpecConverter,
    MaestroUserTask: BpmnTaskSpecConverter,
    PassThroughTask: BpmnTaskSpecConverter,
    MaestroThrowEvent: EventConverter,
    MaestroEndEvent: EventConverter,
    MaestroEventSubprocess: SubWorkflowConverter,
    MaestroSequentialMultiInstance: MultiInstanceTaskConverter,
    MaestroParallelMultiInstance: MultiInstanceTaskConverter,
    CompensateEventDefinition: CompensateEventDefinitionConverter,
    UntimedTimerEventDefinition: EventDefinitionConverter,
    ConditionalFlows: ConditionalFlowsConverter,
}

SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CONFIG))


def dump_workflow(workflow):
    """The instance state as JSON text, without specs."""
    dct = SERIALIZER.to_dict(workflow)
    dct[SERIALIZER.VERSION_KEY] = SERIALIZER.VERSION
    return json.dumps(dct)


def load_workflow(text, spec, subprocess_specs):
    dct = json.loads(text)
    SERIALIZER.migrate(dct)
    return load_saved(dct, spec, subprocess_specs)


def load_saved(dct, spec, subprocess_specs):
    """A workflow from its (migrated) saved dict and its already parsed specs."""
    for process_spec in (spec, *subprocess_specs.values()):
        _connect_iterations(process_spec)
    return SERIALIZER.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)


def _connect_iterations(process_spec):
    """Has each loop and multi-instance activity hear its iterations complete.

    SpiffWorkflow connects that (an iteration completing is merged into its
    activity) only when the activity creates an iteration. Specs parsed anew
    (another worker process, a restart) that load an instance saved while
    iterations ran would never hear them: the activity would wait forever.
    """
    if process_spec.__dict__.get("maestro_iterations_connected"):
        return
    for task_spec in list(process_spec.task_specs.values()):
        if isinstance(task_spec, LoopTask):
            iteration = process_spec.task_specs.get(task_spec.task_spec)
            if iteration is not None and not iteration.completed_event.is_connected(task_spec.merge_child):
                iteration.completed_event.connect(task_spec.merge_child)
    process_spec.__dict__["maestro_iterations_connected"] = True
