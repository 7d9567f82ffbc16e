"""Conditional sequence flows out of activities and events (BPMN 2.0.2, 10.5.1 and 13.2.1).

A flow that leaves an activity or event with a condition is taken when its
condition holds; a flow without one is always taken; the source's default flow
is taken only when no other flow is. SpiffWorkflow reads conditions on gateways
only, so the flows of such a source leave through a split of Maestro's,
`<source>.ConditionalFlows`, which no diagram shows and history does not list.
As in Camunda 7, no flow to take is an error naming the source, not a path
that silently ends.
"""
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.bpmn_task_spec import BpmnTaskSpec, _BpmnCondition
from SpiffWorkflow.bpmn.specs.defaults import (
    EventBasedGateway,
    ExclusiveGateway,
    InclusiveGateway,
    ParallelGateway,
)
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway as ExclusiveGatewayMixin
from SpiffWorkflow.specs.MultiChoice import MultiChoice
from SpiffWorkflow.util.task import TaskState

SUFFIX = ".ConditionalFlows"
GATEWAYS = (ExclusiveGateway, InclusiveGateway, ParallelGateway, EventBasedGateway)


class ConditionalFlows(ExclusiveGatewayMixin, BpmnTaskSpec):
    """Takes every flow whose condition holds and every unconditional one; else the default flow.

    Built on the exclusive gateway for its conditions and default output (and their
    serialization), as an internal task (no bpmn_id, like SpiffWorkflow's joins);
    `source` is the BPMN id of the activity or event the flows leave.
    """

    def __init__(self, wf_spec, name, source=None, **kwargs):
        super().__init__(wf_spec, name, **kwargs)
        self.source = source

    def connect_flow(self, condition: str | None, target, is_default: bool) -> None:
        if is_default:
            self.connect(target)  # the exclusive choice's default output
        else:  # unconditional flows are ordinary outputs here, not the default
            MultiChoice.connect_if(self, None if condition is None else _BpmnCondition(condition), target)

    def test(self):
        MultiChoice.test(self)

    def _chosen(self, my_task):
        chosen = [name for condition, name in self.cond_task_specs
                  if name != self.default_task_spec and (condition is None or condition._matches(my_task))]
        if not chosen and self.default_task_spec is not None:
            chosen = [self.default_task_spec]
        if not chosen:
            raise WorkflowTaskException(
                f"no sequence flow leaving '{self.source}' can be taken: none of their conditions holds "
                "and it has no default flow", task=my_task)
        return [my_task.workflow.spec.get_task_spec_from_name(name) for name in chosen]

    def _predict_hook(self, my_task):
        MultiChoice._predict_hook(self, my_task)

    def _run_hook(self, my_task):
        my_task._sync_children(self._chosen(my_task), TaskState.FUTURE)
        for child in my_task.children:
            child.task_spec._predict(child, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)
        return True


def needs_split(task_parser) -> bool:
    """True if the node's outgoing flows need choosing: a condition on one, or a default among several."""
    if isinstance(task_parser.task, GATEWAYS):
        return False
    flows = task_parser.process_parser.get_outgoing_sequence_flows(task_parser.bpmn_id)
    conditional = any(condition_of(task_parser, flow) is not None for flow in flows)
    return conditional or (len(flows) > 1 and task_parser.node.get("default") is not None)


def connect_through_split(task_parser, target, flow, is_default: bool) -> None:
    """Connects the node to the flow's target through the node's ConditionalFlows split."""
    spec = task_parser.spec
    name = f"{task_parser.bpmn_id}{SUFFIX}"
    split = spec.task_specs.get(name)
    if split is None:
        split = ConditionalFlows(spec, name, source=task_parser.bpmn_id, lane=task_parser.task.lane)
        task_parser.task.connect(split)
    split.connect_flow(condition_of(task_parser, flow), target, is_default)


def condition_of(task_parser, flow) -> str | None:
    """The flow's condition; an empty conditionExpression (as tools leave one) is none."""
    condition = task_parser.parse_condition(flow)
    return condition if condition is not None and condition.strip() else None
