"""Serializer configuration: SpiffWorkflow's, plus Maestro's task specs."""
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.default.task_spec import (
    BpmnTaskSpecConverter,
    EventConverter,
    MultiInstanceTaskConverter,
    SubWorkflowConverter,
)
from SpiffWorkflow.bpmn.serializer.helpers.spec import EventDefinitionConverter

from .specs import (
    CompensateEventDefinition,
    MaestroEndEvent,
    MaestroEventSubprocess,
    MaestroParallelMultiInstance,
    MaestroSequentialMultiInstance,
    MaestroServiceTask,
    MaestroThrowEvent,
)


class CompensateEventDefinitionConverter(EventDefinitionConverter):

    def to_dict(self, event_definition):
        dct = super().to_dict(event_definition)
        dct["activity_ref"] = event_definition.activity_ref
        dct["wait_for_completion"] = event_definition.wait_for_completion
        return dct


CONFIG = {
    **DEFAULT_CONFIG,
    MaestroServiceTask: BpmnTaskSpecConverter,
    MaestroThrowEvent: EventConverter,
    MaestroEndEvent: EventConverter,
    MaestroEventSubprocess: SubWorkflowConverter,
    MaestroSequentialMultiInstance: MultiInstanceTaskConverter,
    MaestroParallelMultiInstance: MultiInstanceTaskConverter,
    CompensateEventDefinition: CompensateEventDefinitionConverter,
}

SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CONFIG))
