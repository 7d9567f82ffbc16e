"""Parsing long sequence flows without running out of stack.

SpiffWorkflow's TaskParser.parse_node parses a flow node and then, before
connecting it, parses every target of its outgoing flows the same way: one
nested call per node along a path. A straight process of ~320 tasks exceeded
Python's recursion limit and was refused with a RecursionError.

`ParsesLongFlows` keeps that recursion as it is up to `MAX_NESTED_PARSES`
nodes deep, so every ordinary diagram is parsed exactly as before. Deeper than
that, a node is parsed without its outgoing flows (SpiffWorkflow reads them
through `get_outgoing_sequence_flows`, which then answers "none") and put on a
work list; the outermost parse connects the nodes of the work list in turn
once the nested parses have returned. Connecting them does what
TaskParser.parse_node does with outgoing flows (targets sorted by their
diagram y position, a lone unconditioned flow out of a gateway its default),
so the task specs and their ordered outputs are the same as the recursive
parse would have built; only the order in which specs are created, and in
which a join deeper than the limit lists its inputs, can differ.
"""
from collections import deque

from lxml import etree
from SpiffWorkflow.bpmn.parser.ProcessParser import ProcessParser
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.specs.base import TaskSpec

from engine.namespaces import local_name

# Nested node parses allowed before the work list takes over: about five Python frames
# each, so a parse stays under ~300 frames deep whatever the length of the process.
# Every diagram of tests/ and of the shared corpus parses within it, untouched.
MAX_NESTED_PARSES = 50


class ParsesLongFlows:
    """Mixin for a ProcessParser: parses paths of any length with a bounded stack (see the module)."""

    def __init__(self, *args, **kwargs):
        self._nested_parses = 0
        self._unconnected = deque()  # nodes parsed without their outgoing flows, in the order met
        self._flows_hidden_of = set()
        super().__init__(*args, **kwargs)

    def parse_node(self, node: etree._Element) -> TaskSpec:
        """The spec of a flow node; once the outermost parse returns, every node reached is connected."""
        if node.get("id") in self.spec.task_specs:
            return super().parse_node(node)
        if self._nested_parses >= MAX_NESTED_PARSES and local_name(node) != "boundaryEvent":
            return self._parse_without_outgoing_flows(node)
        spec = self._parse_nested(node)
        if self._nested_parses == 0:
            self._connect_unconnected()
        return spec

    def get_outgoing_sequence_flows(self, source_ref: str) -> list:
        """None for a node being parsed without its outgoing flows: the work list connects them."""
        if source_ref in self._flows_hidden_of:
            return []
        return super().get_outgoing_sequence_flows(source_ref)

    def _parse_nested(self, node):
        self._nested_parses += 1
        try:
            return super().parse_node(node)
        except BaseException:
            if self._nested_parses == 1:
                self._unconnected.clear()  # the parse is abandoned
            raise
        finally:
            self._nested_parses -= 1

    def _parse_without_outgoing_flows(self, node):
        """Parses the node itself (and its boundary events) and leaves its outgoing flows to the work list.

        Boundary events are always parsed whole (their targets go to the work list
        instead): the activity connects an event to its join after parsing it, and
        an event's outputs must keep its flow targets first.
        """
        node_id = node.get("id")
        self._flows_hidden_of.add(node_id)
        try:
            spec = self._parse_nested(node)
        finally:
            self._flows_hidden_of.discard(node_id)
        self._unconnected.append(node)
        return spec

    def _connect_unconnected(self):
        self._nested_parses += 1  # targets are parsed nested below the node they follow
        try:
            while self._unconnected:
                connect_outgoing_flows(self, self._unconnected.popleft())
        except BaseException:
            self._unconnected.clear()
            raise
        finally:
            self._nested_parses -= 1


def connect_outgoing_flows(process_parser: ProcessParser, node: etree._Element) -> None:
    """Parses the targets of a parsed node's outgoing flows and connects the node to them.

    What TaskParser.parse_node does after parsing the node itself: SpiffWorkflow
    has it only inline there, so it is said again here, with its error messages.
    """
    task_parser = _task_parser_of(process_parser, node)
    try:
        flows = ProcessParser.get_outgoing_sequence_flows(process_parser, task_parser.bpmn_id)
        if len(flows) > 1 and not task_parser.handles_multiple_outgoing():
            task_parser.raise_validation_exception('Multiple outgoing flows are not supported for tasks of type')
        targets = sorted((_target(process_parser, task_parser, flow) for flow in flows),
                         key=lambda target: float(target[0]["y"]))
        default = _default_flow_id(task_parser, targets)
        for _position, target_spec, flow in targets:
            task_parser.connect_outgoing(target_spec, flow, flow.get("id") == default)
    except ValidationException:
        raise
    except Exception as error:  # as TaskParser.parse_node reports a failure on its node
        raise ValidationException("%r" % (error,), node=node, file_name=task_parser.filename) from error


def _task_parser_of(process_parser, node):
    """A node parser for an already parsed node, holding the spec its outgoing flows start from."""
    node_parser, spec_class = process_parser.parser._get_parser_class(node.tag)
    task_parser = node_parser(process_parser, spec_class, node, process_parser.nsmap, lane=process_parser.lane)
    # A loop or multi-instance activity is the spec under the node's id (its body is "<id> [child]").
    task_parser.task = process_parser.spec.task_specs[task_parser.bpmn_id]
    return task_parser


def _target(process_parser, task_parser, flow):
    """(diagram position, spec, flow) of the flow's target, parsing the target if it is new."""
    target_ref = flow.get("targetRef")
    target_node = process_parser.get_node_by_id(target_ref)
    if target_node is None:
        task_parser.raise_validation_exception('When looking for a task spec, we found two items, '
                                               'perhaps a form has the same ID? (%s)' % target_ref)
    split = process_parser.spec.task_specs.get(f"{target_ref}.BoundaryEventSplit")
    spec = split if split is not None else process_parser.parse_node(target_node)
    return task_parser.get_position(target_node), spec, flow


def _default_flow_id(task_parser, targets):
    """The gateway's default flow; a gateway's only flow, without a condition, is its default."""
    default = task_parser.node.get("default")
    if len(targets) == 1 and isinstance(task_parser.task, (ExclusiveGateway, InclusiveGateway)):
        flow = targets[0][2]
        if task_parser.parse_condition(flow) is None:
            default = flow.get("id")
    return default
