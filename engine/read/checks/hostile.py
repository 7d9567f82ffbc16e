"""Deploy-time checks for diagrams that would hold a worker forever (issue 11, item 5).

What can be known from the file alone is refused here, with the element and what
to change: a loop nothing can leave (of elements that never wait, or of any
elements: SpiffWorkflow predicts such a loop round and round when an instance is
created, which never ends), a process that calls itself
(directly or through others), a timer cycle whose interval is zero, and a
multi-instance activity whose literal cardinality is above the iteration cap.
What depends on data is bounded while running instead (engine.run.instance_limits).
"""
from collections.abc import Iterable, Iterator

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.namespaces import NSMAP, event_definitions, local_name
from engine.problems import Problem
from engine.read import timer_values
from engine.read.elements import FLOW_NODES
from engine.run import instance_limits

from .located import problem_at

BPMN = NSMAP["bpmn"]

# Elements that run and pass on at once: a loop made only of these never gives a worker back.
# Service tasks are not among them (a retry loop through a service task is legitimate, and its
# handler's time is bounded while running); nor are waits, subprocesses and call activities.
PASSING = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "complexGateway", "scriptTask", "task",
           "manualTask", "intermediateThrowEvent"}
CHOICES = {"exclusiveGateway", "inclusiveGateway", "complexGateway", "eventBasedGateway"}


def check_hostile(root, file_name: str) -> Iterator[Problem]:
    """Every problem of one file that would keep an instance running without end."""
    yield from _loops_without_way_out(root, file_name)
    yield from _zero_timer_cycles(root, file_name)
    yield from _oversized_cardinalities(root, file_name)


# -- calls -------------------------------------------------------------------

def calls_that_recurse(roots: dict) -> Iterator[Problem]:
    """Call activities through which a process calls itself, directly or through others, across
    the files {name: root} (deployed together, or with the deployed files they call)."""
    calls, callers = [], {}
    for file_name, root in roots.items():
        for call in root.iter(f"{{{BPMN}}}callActivity"):
            process = next(call.iterancestors(f"{{{BPMN}}}process"), None)
            if process is not None and call.get("calledElement"):
                calls.append((file_name, call, process.get("id"), call.get("calledElement").strip()))
                callers.setdefault(process.get("id"), []).append(call.get("calledElement").strip())
    successors = {caller: [c for c in called if c in callers] for caller, called in callers.items()}
    component_of = {member: tuple(sorted(component)) for component in strongly_connected(successors)
                    for member in component}
    for file_name, call, caller, called in calls:
        if called == caller or (called in component_of and component_of[called] == component_of[caller]):
            cycle = " → ".join([caller] + _call_path(successors, called, caller))
            yield problem_at(file_name, call, f"this call activity makes process '{caller}' call itself ({cycle}): "
                                              "the calls would never end; call another process, or loop inside "
                                              "the process with a gateway")


def _call_path(successors, start, goal):
    """A shortest chain of calls from `start` to `goal` (both in one cycle), as a list of process ids."""
    paths, seen = [[start]], {start}
    while paths:
        path = paths.pop(0)
        if path[-1] == goal:
            return path
        for following in successors.get(path[-1], []):
            if following not in seen:
                seen.add(following)
                paths.append(path + [following])
    return [start]


# -- loops -------------------------------------------------------------------

def _loops_without_way_out(root, file_name):
    """Loops no gateway or condition can leave. Those that never wait would hold a worker forever;
    the others (a user task and back, a parallel split looping back) cannot run at all: SpiffWorkflow
    predicts every task a loop without a choice on it will run, round and round, when an instance is
    created (a loop with a choice on it is predicted only a few steps ahead)."""
    nodes = {node.get("id"): node for node in root.iter(f"{{{BPMN}}}*")
             if local_name(node) in FLOW_NODES and node.get("id") is not None}
    # Only the flows taken for certain: a loop of those is one no choice can leave (even if a choice
    # elsewhere on a larger loop could).
    successors, every_flow = {node_id: [] for node_id in nodes}, {node_id: [] for node_id in nodes}
    for source, target, chosen in _flows(root):
        if source in nodes and target in nodes:
            every_flow[source].append(target)
            if not chosen and local_name(nodes[source]) not in CHOICES:
                successors[source].append(target)
    reached = _reachable(every_flow)
    for cycle in strongly_connected(successors):
        if len(cycle) == 1 and cycle[0] not in successors[cycle[0]] or not reached.intersection(cycle):
            continue  # a loop nothing leads into never runs (what is missing then is a start event)
        ordered = sorted(cycle, key=lambda node_id: nodes[node_id].sourceline or 0)
        names = " → ".join(ordered[:6]) + (" → …" if len(ordered) > 6 else "")
        if all(_passes_at_once(nodes[node_id]) for node_id in cycle):
            yield problem_at(file_name, nodes[ordered[0]],
                             f"this loop ({names}) never waits and nothing chooses to leave it: it would run "
                             "forever and hold a worker; let a gateway's condition lead out of it, or put a user "
                             "task, receive task, timer or message catch event on it")
        else:
            yield problem_at(file_name, nodes[ordered[0]],
                             f"this loop ({names}) has no way out: no gateway or condition on it leads out of it "
                             "(a boundary event or parallel split does not count), and Maestro cannot run a loop "
                             "that never ends; let an exclusive or event-based gateway on it lead out")


def _reachable(successors):
    """The elements a token can reach from where tokens start: elements no flow leads into (start
    events, boundary events, BPMN's implicit starts)."""
    entered = {target for targets in successors.values() for target in targets}
    todo = [node_id for node_id in successors if node_id not in entered]
    reached = set(todo)
    while todo:
        for following in successors[todo.pop()]:
            if following not in reached:
                reached.add(following)
                todo.append(following)
    return reached


def _passes_at_once(node):
    name = local_name(node)
    if name == "intermediateCatchEvent":  # a link's target passes on; other catches wait
        return [local_name(d) for d in event_definitions(node)] == ["linkEventDefinition"]
    return name in PASSING and node.get("id") is not None


def _flows(root):
    """(source id, target id, whether it is chosen) of every sequence flow and of every link (a link
    throw event jumps to the catch event of the same name in its scope). A flow is chosen when it has
    a condition or is its source's default flow: it may not be taken."""
    defaults = {node.get("default") for node in root.iter(f"{{{BPMN}}}*") if node.get("default")}
    for flow in root.iter(f"{{{BPMN}}}sequenceFlow"):
        chosen = flow.find(f"{{{BPMN}}}conditionExpression") is not None or flow.get("id") in defaults
        yield flow.get("sourceRef"), flow.get("targetRef"), chosen
    catches = {}
    for event in root.iter(f"{{{BPMN}}}intermediateCatchEvent"):
        for link in event.iter(f"{{{BPMN}}}linkEventDefinition"):
            catches[(event.getparent(), link.get("name"))] = event.get("id")
    for event in root.iter(f"{{{BPMN}}}intermediateThrowEvent"):
        for link in event.iter(f"{{{BPMN}}}linkEventDefinition"):
            target = catches.get((event.getparent(), link.get("name")))
            if target:
                yield event.get("id"), target, False


def strongly_connected(successors: dict) -> Iterable[list]:
    """The strongly connected components of a directed graph {node: [successors]} (Tarjan's
    algorithm, iteratively: a process of thousands of elements must not hit the recursion limit)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    for start in successors:
        if start in index:
            continue
        work = [(start, iter(successors[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(successors[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(component)
    return found


# -- timers ------------------------------------------------------------------

def _zero_timer_cycles(root, file_name):
    for cycle in root.iter(f"{{{BPMN}}}timeCycle"):
        value = timer_values.literal("timeCycle", cycle.text or "")
        if value is None:
            continue  # an expression: its value is checked when the timer starts waiting
        try:
            _, _, interval = TimerEventDefinition.parse_iso_recurring_interval(value)
        except Exception:  # timers.timers reports cycles that do not read
            continue
        if interval.total_seconds() <= 0:
            yield problem_at(file_name, cycle.getparent().getparent(),
                             f"timer cycle {value!r} repeats with no time between repetitions: it would fire "
                             "without end and hold a worker; give it an interval (e.g. R/PT1M)")


# -- multi-instance ------------------------------------------------------------

def _oversized_cardinalities(root, file_name):
    cap = instance_limits.max_iterations()
    for characteristics in root.iter(f"{{{BPMN}}}multiInstanceLoopCharacteristics"):
        cardinality = characteristics.find(f"{{{BPMN}}}loopCardinality")
        text = (cardinality.text or "").strip() if cardinality is not None else ""
        number = _literal_number(text)
        if number is not None and number > cap:
            yield problem_at(file_name, characteristics.getparent(),
                             f"multi-instance cardinality {text} is above the cap of {cap} iterations "
                             f"({instance_limits.MAX_ITERATIONS}): lower it, or raise the cap")


def _literal_number(text):
    """The integer a cardinality states literally (`10`, `${10}`, `=10`, `10**9`), or None."""
    bare = text.removeprefix("${").removesuffix("}").removeprefix("=").replace("_", "").strip()
    base, power, exponent = bare.partition("**")
    if base.strip().isdigit() and (not power or exponent.strip().isdigit()):
        if power and len(exponent.strip()) > 4:
            return float("inf")
        return int(base) ** int(exponent) if power else int(base)
    return None
