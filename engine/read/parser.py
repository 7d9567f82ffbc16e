"""Maestro's BPMN parser: SpiffWorkflow's, taught the dialects and compensation.

It reads service task topics of Camunda 7/8, Spiff Arena and plain bpmn.io
files, compensation boundary events with their `isForCompensation`
activities, compensation throw and end events, and gives event subprocesses
their BPMN meaning (an error-start event subprocess waits for an error
instead of running at process start, as SpiffWorkflow 3.2 would have it).

It reads files already parsed and normalised (engine.read.pipeline hands
them over): its specs are built lazily, process by process.
"""
import copy

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.parser.event_parsers import (
    CANCEL_EVENT_XPATH,
    ERROR_EVENT_XPATH,
    ESCALATION_EVENT_XPATH,
    MESSAGE_EVENT_XPATH,
    SIGNAL_EVENT_XPATH,
    TERMINATION_EVENT_XPATH,
    EndEventParser,
    EventDefinitionParser,
    IntermediateThrowEventParser,
    SendTaskParser,
)
from SpiffWorkflow.bpmn.parser.ProcessParser import ProcessParser
from SpiffWorkflow.bpmn.parser.task_parsers import SubWorkflowParser
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.util import first, full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin, BoundaryEventSplit, StartEventJoin, StartEventSplit
from SpiffWorkflow.bpmn.specs.defaults import NoneTask, ReceiveTask, SubWorkflowTask, TransactionSubprocess
from SpiffWorkflow.bpmn.specs.event_definitions.simple import CancelEventDefinition, NoneEventDefinition
from SpiffWorkflow.util.event import Event

from engine.namespaces import NSMAP, event_definitions, local_name
from engine.read.exports.element_ids import bpmn_element, original_id, spec_safe_copy
from engine.run import conditional_flows
from engine.run.assignment import MaestroUserTask
from engine.run.error_events import error_facts
from engine.run.handler_limits import declared_limit
from engine.run.outbound import install_throw
from engine.run.specs import (
    CompensateEventDefinition,
    MaestroEndEvent,
    MaestroEventSubprocess,
    MaestroParallelMultiInstance,
    MaestroSequentialMultiInstance,
    MaestroServiceTask,
    MaestroThrowEvent,
    PassThroughTask,
    UntimedTimerEventDefinition,
    annotate,
    maestro_info,
)

from . import timer_values
from .assignments import assignment_of
from .elements import FLOW_NODES, compensation_handler_of, event_subprocess_trigger, is_compensation_boundary
from .forms import form_of
from .long_flows import ParsesLongFlows
from .message_details import message_details
from .topics import explicit_topic, fallback_topics
from .validation_problems import UNTIMED_TIMER

COMPENSATION_SUFFIX = ".compensation"


def _is_link(node):
    """Link events are joined to each other, not started or ended at."""
    return node.find(full_tag("linkEventDefinition")) is not None


class MaestroProcessParser(ParsesLongFlows, ProcessParser):

    def __init__(self, parser, node, *args, **kwargs):
        super().__init__(parser, node, *args, **kwargs)
        # A process a modeler exported as not executable, run on the user's explicit say-so.
        self.forced_executable = parser.force_executable and not self.process_executable
        if self.forced_executable:
            self.process_executable = True
        self.untimed_timers = []  # ids of timers without a time, which --force-executable lets never fire

    def _index_process_nodes(self):
        super()._index_process_nodes()
        # SpiffWorkflow indexes every element with an id, so an extension element sharing
        # its task's id (Spiff Arena's serviceTaskOperator) would stand for the task.
        self.nodes_by_id = {node.get("id"): node for node in self.xpath(".//bpmn:*[@id]")}

    def get_boundary_events(self, attached_to_ref):
        # Compensation boundary events take no part in the token flow: they
        # install a handler, recorded by _annotate below.
        return [node for node in super().get_boundary_events(attached_to_ref) if not is_compensation_boundary(node)]

    def parse_node(self, node):
        known = node.get("id") in self.spec.task_specs
        spec = super().parse_node(node)
        if not known:
            self._annotate(node)
        return spec

    def _annotate(self, node):
        node_id = node.get("id")
        specs = [s for s in (self.spec.task_specs.get(node_id), self.spec.task_specs.get(f"{node_id} [child]")) if s]
        facts = {"element": local_name(node)}
        for spec in specs:  # an id SpiffWorkflow reserves was renamed for parsing (element_ids)
            spec.bpmn_id = original_id(node_id)
        if any(isinstance(s, MaestroServiceTask) for s in specs):
            facts["topic"] = explicit_topic(node)
            facts["fallbacks"] = [original_id(topic) for topic in fallback_topics(node)]
        if node.get("isForCompensation") == "true":
            facts["for_compensation"] = True
        cycle = node.xpath("./bpmn:extensionElements/camunda:failedJobRetryTimeCycle", namespaces=NSMAP)
        if cycle and (cycle[0].text or "").strip():
            facts["retry_cycle"] = cycle[0].text.strip()
        time_limit = declared_limit(node)
        if time_limit:
            facts["time_limit"] = time_limit
        form = form_of(node)
        if form:
            facts["form"] = form
        assignment = assignment_of(node)
        if assignment:
            facts["assignment"] = assignment
        facts.update(error_facts(node))
        for boundary in super().get_boundary_events(node_id):
            if is_compensation_boundary(boundary):
                handler = compensation_handler_of(boundary)
                if handler is None or self.get_node_by_id(handler) is None:
                    raise ValidationException(
                        "compensation boundary event has no associated compensation activity "
                        "(draw an association to a task marked isForCompensation)",
                        node=boundary, file_name=self.filename)
                facts["compensation_handler"] = handler
        for spec in specs:
            annotate(spec, **facts)

    def add_tasks(self):
        start_nodes = self.xpath("./bpmn:startEvent")
        if start_nodes:
            for node in start_nodes:
                self.parse_node(node)
            # In a subprocess, several plain start events all start (BPMN 10.5.2); in a
            # process, several start events are alternatives: the first that fires wins.
            plain_subprocess_starts = local_name(self.node) != "process" and not any(
                event_definitions(node) for node in start_nodes)
            if len(start_nodes) > 1 and not plain_subprocess_starts:
                self._join_start_events()
        else:
            self._start_implicitly()
        for node in self.xpath("./bpmn:subProcess[@triggeredByEvent='true']"):
            self._add_event_subprocess(node)
        # A compensation event subprocess some tools also mark isForCompensation is made above.
        for node in self.xpath("./*[@isForCompensation='true'][not(@triggeredByEvent='true')]"):
            self.parse_node(node)
        self._end_implicitly()

    def _flow_nodes(self):
        """This scope's own flow nodes that take part in the sequence flow."""
        for node in self.node.iterchildren():
            if local_name(node) not in FLOW_NODES or node.get("isForCompensation") == "true":
                continue
            if node.get("triggeredByEvent") == "true" or _is_link(node):
                continue
            yield node

    def _start_implicitly(self):
        """No start event: every flow node without an incoming flow starts (BPMN implicit start)."""
        targets = {flow.get("targetRef") for flow in self.xpath("./bpmn:sequenceFlow")}
        flow_nodes = list(self._flow_nodes())
        if not flow_nodes:
            what = "process" if local_name(self.node) == "process" else "subprocess"
            raise ValidationException(f"the {what} has no activities or events (drawn collapsed, or an empty pool): "
                                      "model its content", node=self.node, file_name=self.filename)
        first_nodes = [node for node in flow_nodes if node.get("id") not in targets]
        if not first_nodes:
            raise ValidationException("no start event, and no activity without an incoming flow to start at: "
                                      "add a start event", node=self.node, file_name=self.filename)
        for node in first_nodes:
            self.spec.start.connect(self.parse_node(node))

    def _end_implicitly(self):
        """A path that stops at a flow node with no outgoing flow ends there (BPMN implicit end)."""
        sources = {flow.get("sourceRef") for flow in self.xpath("./bpmn:sequenceFlow")}
        for node in self._flow_nodes():
            node_id = node.get("id")
            if node_id in sources or local_name(node) == "endEvent":
                continue
            spec = self.spec.task_specs.get(f"{node_id}.BoundaryEventJoin") or self.spec.task_specs.get(node_id)
            if spec is not None and not spec.outputs:
                spec.connect(self.spec.end)

    def _join_start_events(self):
        split = StartEventSplit(self.spec, "StartEventSplit")
        join = StartEventJoin(self.spec, "StartEventJoin", split_task="StartEventSplit", threshold=1, cancel=True)
        for spec in self.spec.start.outputs:
            spec.inputs = [split]
            spec.connect(join)
        split.outputs = self.spec.start.outputs
        self.spec.start.outputs = [split]
        split.inputs = [self.spec.start]

    def _add_event_subprocess(self, node):
        kind, code = event_subprocess_trigger(node, self.parser.errors)
        if kind in ("escalation", "conditional", "none"):
            raise ValidationException(
                f"{kind} event subprocesses are not supported: Maestro would not run them with their BPMN meaning",
                node=node, file_name=self.filename)
        task_spec = self.parse_node(node)
        self.parser.process_parsers[task_spec.spec].get_spec()  # parses the event subprocess's own process
        if kind == "error":
            # Started by the runtime when an error reaches this scope; it then
            # replaces the scope's flow and ends it.
            start_facts = error_facts(node.find(full_tag("startEvent")))  # where the caught code and message go
            annotate(task_spec, trigger={"kind": "error", "code": code}, **start_facts)
            task_spec.connect(self.spec.end)
        elif kind == "compensation":
            handler = copy_spec(task_spec, self.spec, node.get("id") + COMPENSATION_SUFFIX)
            annotate(handler, for_compensation=True)
            del self.spec.task_specs[task_spec.name]
            self.compensation_event_subprocess = handler.name
        else:
            # Message, timer, signal: armed while this scope runs (engine.run.event_subprocesses); never
            # SpiffWorkflow's trigger_specs, which only see the top process and never interrupt.
            start = node.find(full_tag("startEvent"))
            interrupting = start.get("isInterrupting", "true").strip().lower() != "false"
            annotate(task_spec, trigger={"kind": kind, "interrupting": interrupting})
            self.spec.start.connect(task_spec)
            task_spec.connect(self.spec.end)

    def get_spec(self):
        spec = super().get_spec()
        handler = getattr(self, "compensation_event_subprocess", None)
        if handler and self.parent is not None:
            # The subprocess that owns this event subprocess is undone by it.
            for name in (self.bpmn_id, f"{self.bpmn_id} [child]"):
                if name in self.parent.spec.task_specs:
                    annotate(self.parent.spec.task_specs[name], compensation_event_subprocess=handler)
        return spec


class PlainTaskParser(TaskParser):
    """A plain (abstract) task passes through, as BPMN says (13.3.3: "upon activation, the abstract
    Task completes") and Camunda does; SpiffWorkflow would wait for someone to complete it.

    One marked isForCompensation is an undo step: it calls a handler like a service task.
    """

    def create_task(self):
        if self.node.get("isForCompensation") == "true":
            return MaestroServiceTask(self.spec, self.bpmn_id, **self.bpmn_attributes)
        return PassThroughTask(self.spec, self.bpmn_id, **self.bpmn_attributes)


class ManualTaskParser(TaskParser):
    """A manual task is done outside the engine ("not managed by any business process engine",
    BPMN 10.3.3): it passes through, as in Camunda 7 and Flowable. A user task waits for a person."""

    def create_task(self):
        return PassThroughTask(self.spec, self.bpmn_id, **self.bpmn_attributes)


class ReceiveTaskParser(SendTaskParser):
    """A receive task waits for its message; one without a message waits until someone triggers it
    (`maestro complete`, the API or the instance page), as Camunda 7 waits for a signal of its
    execution. SpiffWorkflow would let it pass through."""

    def create_task(self):
        if self.node.get("messageRef") is None and first(self.xpath(MESSAGE_EVENT_XPATH)) is None:
            return NoneTask(self.spec, self.bpmn_id, **self.bpmn_attributes)  # waits to be completed
        return super().create_task()


class EmbeddedSubprocessParser(SubWorkflowParser):
    """Embedded subprocesses and transactions.

    Unlike SpiffWorkflow 3.2 it makes event subprocesses (which it looks for
    with a namespaced triggeredByEvent, never found), and it accepts a
    subprocess without start or end events, or with several plain start
    events, as BPMN does (MaestroProcessParser gives those their meaning).
    """

    def create_task(self):
        parser = self.process_parser.parser
        parser.create_parser(self.node, filename=self.filename, lane=self.lane)
        parser.process_parsers[self.bpmn_id].parent = self.process_parser
        spec_class = MaestroEventSubprocess if self.node.get("triggeredByEvent") == "true" else self.spec_class
        return spec_class(self.spec, self.bpmn_id, subworkflow_spec=self.bpmn_id, **self.bpmn_attributes)


class CompensationThrowParser(IntermediateThrowEventParser):

    def create_task(self):
        definition = compensate_definition(self)
        if definition is None:
            return super().create_task()
        return self._create_task(definition)


class CompensationEndParser(EndEventParser):
    """End events, with compensation, and with signals (SpiffWorkflow 3.2 drops a signal end event's signal)."""

    def create_task(self):
        definition = compensate_definition(self)
        if definition is None:
            definition = self.get_event_definition([
                MESSAGE_EVENT_XPATH, CANCEL_EVENT_XPATH, ERROR_EVENT_XPATH, ESCALATION_EVENT_XPATH,
                TERMINATION_EVENT_XPATH, SIGNAL_EVENT_XPATH])
        task = self._create_task(definition)
        task.connect(self.spec.end)
        return task


class LinkThrowParser(CompensationThrowParser):
    """A link throw event continues at the link catch event of the same name (BPMN 10.5.4), in its scope."""

    def create_task(self):
        link = first(self.xpath("./bpmn:linkEventDefinition"))
        if link is None:
            return super().create_task()
        task = self._create_task(NoneEventDefinition(description="Link"))
        name = link.get("name") or self.node.get("name")
        targets = [
            catch for catch in self.node.getparent().iterchildren(full_tag("intermediateCatchEvent"))
            if any((d.get("name") or catch.get("name")) == name
                   for d in catch.iterchildren(full_tag("linkEventDefinition")))
        ]
        if len(targets) != 1:
            found = "no" if not targets else f"{len(targets)}"
            raise ValidationException(f"link throw event '{name}' has {found} link catch event of that name in its "
                                      "process or subprocess: name exactly one catch event like it",
                                      node=self.node, file_name=self.filename)
        task.connect(self.process_parser.parse_node(targets[0]))
        return task


def compensate_definition(parser):
    found = parser.xpath("./bpmn:compensateEventDefinition")
    if not found:
        return None
    node = found[0]
    parser.event_nodes.append(node)
    activity_ref = node.get("activityRef")
    # engine.read.checks.compensation says which scopes it may name; here it must at least be an element of the file.
    if activity_ref and bpmn_element(node.getroottree().getroot(), activity_ref) is None:
        raise ValidationException(
            f"compensation activityRef '{activity_ref}' names no activity of this file",
            node=parser.node, file_name=parser.filename)
    return CompensateEventDefinition(
        activity_ref=original_id(activity_ref) or None,
        wait_for_completion=node.get("waitForCompletion", "true").lower() != "false",
        description="Compensation",
    )


class MaestroParser(BpmnParser):
    PROCESS_PARSER_CLASS = MaestroProcessParser
    OVERRIDE_PARSER_CLASSES = {
        full_tag("serviceTask"): (TaskParser, MaestroServiceTask),
        full_tag("userTask"): (TaskParser, MaestroUserTask),
        full_tag("task"): (PlainTaskParser, NoneTask),
        full_tag("manualTask"): (ManualTaskParser, NoneTask),
        full_tag("receiveTask"): (ReceiveTaskParser, ReceiveTask),
        full_tag("subProcess"): (EmbeddedSubprocessParser, SubWorkflowTask),
        full_tag("transaction"): (EmbeddedSubprocessParser, TransactionSubprocess),
        full_tag("intermediateThrowEvent"): (LinkThrowParser, MaestroThrowEvent),
        full_tag("endEvent"): (CompensationEndParser, MaestroEndEvent),
    }

    def __init__(self, force_executable=False):
        self.force_executable = force_executable
        super().__init__(namespaces=dict(NSMAP))

    def _get_parser_class(self, tag):
        node_parser, spec_class = super()._get_parser_class(tag)
        if node_parser is not None:
            node_parser = _with_maestro_specs(node_parser)
        return node_parser, spec_class

    def add_document(self, root: etree._Element, filename: str) -> None:
        """Adds a parsed file whose exports are normalised (engine.read.exports), through a copy
        SpiffWorkflow can name its specs from (element_ids.spec_safe_copy); raises ValidationException."""
        self.add_bpmn_xml(etree.ElementTree(spec_safe_copy(root)), filename)

    def untimed_timers(self, file_name):
        """Ids of the file's timers without a time, which --force-executable made never fire."""
        return sorted({timer for process in self.process_parsers.values() if process.filename == file_name
                       for timer in process.untimed_timers})

    def build(self, process_id):
        """The spec of a process and every spec it can start (subprocesses, called processes)."""
        spec = self.get_spec(process_id)
        subprocess_specs = self.get_subprocess_specs(process_id)
        share_compensation_handlers([spec, *subprocess_specs.values()])
        return spec, subprocess_specs


_PARSERS_WITH_MAESTRO_SPECS = {}


def _parse_timer_event(self, event):
    """Timer values like PT5M are literals, not expressions: quote them for the evaluator (timer_values).

    A timer with no time (no element, or an empty one, as MIWG's C.6.0 has it)
    is refused; with --force-executable it becomes one that never fires.
    """
    times = [e for e in self.xpath(".//bpmn:timeDate | .//bpmn:timeDuration | .//bpmn:timeCycle")
             if (e.text or "").strip()]
    if not times:
        if self.process_parser.parser.force_executable and local_name(self.node) != "startEvent":
            self.process_parser.untimed_timers.append(self.node.get("id"))
            return UntimedTimerEventDefinition(self.node.get("name", self.node.get("id")),
                                               description=self.get_event_description(event))
        raise ValidationException(UNTIMED_TIMER, node=self.node, file_name=self.filename)
    for element in times:
        value = timer_values.literal(local_name(element), element.text)
        if value is not None:
            element.text = repr(value)
    return EventDefinitionParser.parse_timer_event(self, event)


def _parse_message_event(self, message_event):
    """A message event without a message is matched by its event's name, as the diagram shows it:
    line breaks a modeler put into the label for layout are read as spaces."""
    definition = EventDefinitionParser.parse_message_event(self, message_event)
    if message_event.get("messageRef") is None and definition.name:
        definition.name = " ".join(definition.name.split())
    for name, value in message_details(message_event, message_event.get("messageRef")).items():
        setattr(definition, name, value)
    install_throw(definition)
    return definition


def _parse_signal_event(self, signal_event):
    """A signal event; thrown, it is broadcast to other instances too (engine.run.outbound)."""
    definition = EventDefinitionParser.parse_signal_event(self, signal_event)
    install_throw(definition)
    return definition


def _add_boundary_event(self, children):
    """The boundary events of an activity, between a split before it and a join after it, as
    SpiffWorkflow has them; a cancel boundary event may also sit on a multi-instance or loop
    transaction (each iteration is a transaction; SpiffWorkflow refuses all but a plain one)."""
    split = BoundaryEventSplit(self.spec, f"{self.bpmn_id}.BoundaryEventSplit", lane=self.task.lane)
    join = BoundaryEventJoin(self.spec, f"{self.bpmn_id}.BoundaryEventJoin", lane=self.task.lane,
                             split_task=split.name, cancel=True)
    split.connect(self.task)
    self.task.connect(join)
    activity = self.spec.task_specs.get(getattr(self.task, "task_spec", None), self.task)
    for event in children:
        boundary = self.process_parser.parse_node(event)
        if isinstance(boundary.event_definition, CancelEventDefinition) and \
                not isinstance(activity, TransactionSubprocess):
            self.raise_validation_exception("a cancel boundary event can only be attached to a transaction")
        split.connect(boundary)
        boundary.connect(join)
    return split


def _connect_outgoing(node_parser):
    def connect_outgoing(self, outgoing_task, sequence_flow_node, is_default):
        if conditional_flows.needs_split(self):
            conditional_flows.connect_through_split(self, outgoing_task, sequence_flow_node, is_default)
        else:
            node_parser.connect_outgoing(self, outgoing_task, sequence_flow_node, is_default)
    return connect_outgoing


def _with_maestro_specs(node_parser):
    """The node parser, making Maestro's loop and event subprocess specs, and splitting as BPMN does.

    SpiffWorkflow picks those classes from attributes of its TaskParser; a
    subclass per parser keeps the choice to Maestro's parser alone.
    """
    if node_parser not in _PARSERS_WITH_MAESTRO_SPECS:
        overrides = {
            "SEQUENTIAL_MI_CLASS": MaestroSequentialMultiInstance,
            "PARALLEL_MI_CLASS": MaestroParallelMultiInstance,
            "EVENT_SUBPROCESS_CLASS": MaestroEventSubprocess,
            # BPMN: several unconditional flows out of an activity or event are an
            # implicit parallel split (SpiffWorkflow refuses them); conditional ones
            # are chosen by engine.run.conditional_flows (SpiffWorkflow would take them all).
            "handles_multiple_outgoing": lambda self: True,
            "connect_outgoing": _connect_outgoing(node_parser),
            "_add_boundary_event": _add_boundary_event,
        }
        if issubclass(node_parser, EventDefinitionParser):
            overrides["parse_timer_event"] = _parse_timer_event
            overrides["parse_message_event"] = _parse_message_event
            overrides["parse_signal_event"] = _parse_signal_event
        _PARSERS_WITH_MAESTRO_SPECS[node_parser] = type(node_parser.__name__, (node_parser,), overrides)
    return _PARSERS_WITH_MAESTRO_SPECS[node_parser]


def copy_spec(spec, wf_spec, name=None):
    """A disconnected copy of a task spec in another process spec (undo tasks run anywhere)."""
    duplicate = copy.copy(spec)
    duplicate._wf_spec = wf_spec
    duplicate.name = name or spec.name
    duplicate._inputs, duplicate._outputs = [], []
    for event in ("update_event", "ready_event", "completed_event", "error_event", "cancelled_event", "run_event"):
        setattr(duplicate, event, Event())
    wf_spec.task_specs[duplicate.name] = duplicate
    return duplicate


def share_compensation_handlers(specs):
    """Puts every compensation activity into every process spec of one instance.

    An undo runs as a child of the event that threw the compensation, which can
    sit in an outer scope (compensating a completed subprocess undoes its inner
    activities), so the outer process spec must know the inner handlers.
    """
    handlers = {}
    for spec in specs:
        for name, task_spec in spec.task_specs.items():
            if maestro_info(task_spec).get("for_compensation"):
                handlers.setdefault(name, task_spec)
    for spec in specs:
        for name, task_spec in handlers.items():
            if name not in spec.task_specs:
                copy_spec(task_spec, spec)
        for task_spec in spec.task_specs.values():
            if maestro_info(task_spec).get("for_compensation") and not task_spec._inputs:
                # SpiffWorkflow refuses to ready a task with no input; an undo
                # has none in the diagram, so it nominally hangs off the start.
                task_spec._inputs = [spec.start.name]
