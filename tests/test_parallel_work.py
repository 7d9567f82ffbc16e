"""Wide parallel work (issue 14, target 4): many branches, many multi-instance iterations.

The runtime finds the next ready task, the waiting tasks and whether a parallel
join fires from indexes kept from the state changes (engine.run.spiff.live_tasks,
parallel_joins), and a snapshot writes only what changed (store.task_rows).
These tests hold them to what the tree walks they replace decided: each
diagram runs with every decision checked against the walk, in memory and
durably, and a snapshot read back equals the instance that wrote it.
"""
import pytest
from both_ways import both_ways
from conftest import make_recorder
from durable_helpers import drain, fresh_maestro
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.util.task import TaskIterator, TaskState
from SpiffWorkflow.workflow import Workflow

import engine
from engine import BpmnError, Handlers
from engine.run import compensation, messages
from engine.run.instance import Instance
from engine.run.interruptions import StepAbandoned
from engine.run.spiff import deep_trees, live_tasks
from engine.run.spiff.tree_order import order_key

NS = ('xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" targetNamespace="t"')


def diagram(body, definitions=""):
    return f'<definitions {NS}>{definitions}<process id="p" isExecutable="true">{body}</process></definitions>'


def service(element_id, inner=""):
    return f'<serviceTask id="{element_id}" camunda:topic="{element_id}">{inner}</serviceTask>'


def flow(source, target, condition=None):
    expression = f"<conditionExpression>{condition}</conditionExpression>" if condition else ""
    return f'<sequenceFlow id="{source}_{target}" sourceRef="{source}" targetRef="{target}">{expression}</sequenceFlow>'


def branches(count, kind="parallelGateway"):
    """s -> split -> b0 ... b{count-1} -> join -> e."""
    body = f'<startEvent id="s"/><{kind} id="split"/><{kind} id="join"/><endEvent id="e"/>'
    body += flow("s", "split") + flow("join", "e")
    for number in range(count):
        body += service(f"b{number}") + flow("split", f"b{number}") + flow(f"b{number}", "join")
    return diagram(body)


def multi_instance(inner="", before=None, after=None):
    """s -> (before) -> "work" over `items`, all at once -> (after) -> e; before and after are
    (element id, element XML)."""
    loop = ('<multiInstanceLoopCharacteristics isSequential="false" camunda:collection="items" '
            f'camunda:elementVariable="item">{inner}</multiInstanceLoopCharacteristics>')
    path = ["s", *([before[0]] if before else []), "work", *([after[0]] if after else []), "e"]
    extra = (before[1] if before else "") + (after[1] if after else "")
    return diagram('<startEvent id="s"/>' + service("work", loop) + extra + '<endEvent id="e"/>'
                   + "".join(flow(a, b) for a, b in zip(path, path[1:], strict=False)))


# -- every decision checked against the walk it replaces ------------------------------------

def ready_by_walking(instance):
    """The task the runtime ran next before the index: found by scanning and walking the tree."""
    top = instance.workflow
    for workflow in sorted(top.get_active_subprocesses(), key=lambda w: w.depth, reverse=True) + [top]:
        ready = [t for t in workflow.tasks.values() if t._state == TaskState.READY and not t.task_spec.manual]
        if len(ready) == 1:
            return ready[0]
        if ready:
            for task in ready:
                if isinstance(task.task_spec, BoundaryEvent) and task.task_spec.cancel_activity:
                    return task
            return next(t for t in workflow.get_tasks_iterator(state=TaskState.READY, skip_subprocesses=True)
                        if not t.task_spec.manual)
    return compensation.pending_undo(top)


def receiver_by_walking(top, event):
    """The catch a message went to before the index: of those waiting (found by walking each workflow's
    tree), the one waiting longest, the first met on a tie."""
    catching = [task for part in (top, *top.subprocesses.values())
                for task in part.get_tasks_iterator(state=TaskState.WAITING, skip_subprocesses=True)
                if isinstance(task.task_spec, CatchingEvent) and task.task_spec.catches(task, event)]
    return min(catching, key=lambda task: task.last_state_change, default=None)


@pytest.fixture
def checked(monkeypatch):
    """Checks every next task, join decision, set of waiting tasks and message receiver against the
    walks; counts them."""
    counts = {"ready": 0, "join": 0, "waiting": 0, "receiver": 0}
    indexed_ready, indexed_receiver = Instance._ready_task, messages.receiver
    indexed_join = ParallelGateway._check_threshold_unstructured
    indexed_waiting = Workflow.update_waiting_tasks

    def ready(instance):
        expected, found = ready_by_walking(instance), indexed_ready(instance)
        assert found is expected, f"ran {found}, the walk would run {expected}"
        counts["ready"] += found is not None
        return found

    def join(spec, task):
        expected = deep_trees.parallel_join_may_fire(spec, task)
        assert indexed_join(spec, task) == expected, f"join {spec.name} at {task}: the walk says {expected}"
        counts["join"] += 1
        return expected

    def waiting(workflow):
        walked = list(TaskIterator(workflow.task_tree, state=TaskState.WAITING))
        assert sorted(live_tasks.of(workflow).waiting_tasks(), key=order_key) == walked
        counts["waiting"] += len(walked) > 1
        return indexed_waiting(workflow)

    def receiver(workflow, event, key=None):
        expected = receiver_by_walking(workflow, event)
        assert key is None, "these diagrams give no correlation key"
        assert indexed_receiver(workflow, event, key) is expected
        counts["receiver"] += 1
        return expected

    monkeypatch.setattr(messages, "receiver", receiver)
    monkeypatch.setattr(Instance, "_ready_task", ready)
    monkeypatch.setattr(ParallelGateway, "_check_threshold_unstructured", join)
    monkeypatch.setattr(Workflow, "update_waiting_tasks", waiting)
    return counts


def test_forty_branches_run_in_diagram_order_and_join_once(tmp_path, checked):
    topics = [f"b{n}" for n in range(40)]
    outcome = both_ways(tmp_path, branches(40), topics)
    assert outcome.calls == topics
    assert outcome.durable["status"] == "completed" and outcome.memory.status == "completed"
    joined = [entry for entry in outcome.durable["history"] if entry["bpmn_id"] == "join"]
    assert [entry["state"] for entry in joined].count("COMPLETED") == 1
    assert checked["join"] >= 80 and checked["ready"] >= 80


def test_a_parallel_multi_instance_runs_its_items_in_order(tmp_path, checked):
    outcome = both_ways(tmp_path, multi_instance(), ["work"], data={"items": list(range(60))}, item_key="item")
    assert outcome.calls == [f"work:{n}" for n in range(60)]
    assert outcome.durable["data"] == {"items": list(range(60))} == outcome.memory.data
    assert checked["ready"] >= 120


def test_a_completion_condition_stops_the_other_iterations(tmp_path, checked):
    source = multi_instance("<completionCondition>${item == 7}</completionCondition>")
    outcome = both_ways(tmp_path, source, ["work"], data={"items": list(range(20))}, item_key="item")
    assert outcome.calls == [f"work:{n}" for n in range(8)]
    states = [task["state"] for task in outcome.durable["tasks"] if task["bpmn_id"] == "work"]
    assert states.count("COMPLETED") == 9 and states.count("CANCELLED") == 12  # the activity and 8 iterations


def test_an_error_in_one_iteration_interrupts_the_activity_through_its_boundary_event(tmp_path, checked):
    boundary = ('<boundaryEvent id="failed" attachedToRef="work"><errorEventDefinition/></boundaryEvent>'
                + service("apologise") + '<endEvent id="e2"/>' + flow("failed", "apologise") + flow("apologise", "e2"))
    outcome = both_ways(tmp_path, multi_instance().replace("</process>", boundary + "</process>"),
                        ["work", "apologise"], data={"items": list(range(10))}, item_key="item",
                        raise_on={"work": lambda ctx, n: BpmnError("NO") if ctx.data["item"] == 3 else None})
    assert outcome.calls == ["work:0", "work:1", "work:2", "work:3", "apologise"]
    assert outcome.durable["status"] == "completed"


def test_a_parallel_join_in_a_loop_waits_for_each_round(tmp_path, checked):
    body = ('<startEvent id="s"/><parallelGateway id="split"/><parallelGateway id="join"/>'
            + service("left") + service("right") + service("count")
            + '<exclusiveGateway id="again" default="again_e"/><endEvent id="e"/>'
            + flow("s", "split") + flow("split", "left") + flow("split", "right") + flow("left", "join")
            + flow("right", "join") + flow("join", "count") + flow("count", "again")
            + flow("again", "split", "${rounds &lt; 3}") + flow("again", "e"))

    def make_handlers():
        handlers, calls = Handlers(), []
        for topic in ("left", "right"):
            handlers.task(topic)(lambda ctx, topic=topic: calls.append(topic))

        @handlers.task("count")
        def count(ctx):
            calls.append("count")
            return {"rounds": ctx.data.get("rounds", 0) + 1}
        return handlers, calls

    outcome = both_ways(tmp_path, diagram(body), make_handlers=make_handlers)
    assert outcome.calls == ["left", "right", "count"] * 3
    assert outcome.durable["data"] == {"rounds": 3}


def test_branches_waiting_for_messages_are_released_one_by_one(tmp_path, checked):
    definitions = '<message id="m_go" name="go"/>'
    body = '<startEvent id="s"/><parallelGateway id="split"/><parallelGateway id="join"/><endEvent id="e"/>'
    body += flow("s", "split") + flow("join", "e")
    for number in range(5):
        body += (f'<intermediateCatchEvent id="w{number}"><messageEventDefinition messageRef="m_go"/>'
                 f'</intermediateCatchEvent>' + service(f"b{number}")
                 + flow("split", f"w{number}") + flow(f"w{number}", f"b{number}") + flow(f"b{number}", "join"))
    steps = [("publish", "go", None, {"n": n}) for n in range(5)]
    outcome = both_ways(tmp_path, diagram(body, definitions), [f"b{n}" for n in range(5)], steps=steps,
                        item_key="n")
    assert outcome.calls == [f"b{n}:{n}" for n in range(5)]  # the catch that has waited longest first
    assert outcome.durable["status"] == "completed"
    assert checked["waiting"] > 0 and checked["receiver"] == 10  # in memory and durably


def test_iterations_that_are_subprocesses_each_run_their_own_branches(tmp_path, checked):
    inner = ('<startEvent id="is"/><parallelGateway id="isplit"/><parallelGateway id="ijoin"/><endEvent id="ie"/>'
             + service("x") + service("y") + flow("is", "isplit") + flow("isplit", "x") + flow("isplit", "y")
             + flow("x", "ijoin") + flow("y", "ijoin") + flow("ijoin", "ie"))
    body = ('<startEvent id="s"/><subProcess id="each"><multiInstanceLoopCharacteristics isSequential="false" '
            'camunda:collection="items" camunda:elementVariable="item"/>' + inner + '</subProcess>'
            '<endEvent id="e"/>' + flow("s", "each") + flow("each", "e"))
    outcome = both_ways(tmp_path, diagram(body), ["x", "y"], data={"items": [1, 2, 3, 4]}, item_key="item")
    # A subworkflow with a ready task goes before its parent's: each iteration runs to its end first.
    assert outcome.calls == ["x:1", "y:1", "x:2", "y:2", "x:3", "y:3", "x:4", "y:4"]
    assert outcome.durable["status"] == "completed"


# -- snapshots written from what changed ----------------------------------------------------

class WorkerDied(StepAbandoned):
    """Raised in a handler: unwinds the worker like a kill (see test_replay)."""


def test_snapshots_of_a_wide_instance_read_back_as_the_instance_that_wrote_them(tmp_path):
    """A worker killed in the first task (the next one loads the instance and compares it whole with
    storage at its first write), then 200 iterations (snapshots every 50 steps, each writing only what
    changed), then a user task: the snapshot written then, read back, holds every task exactly as an
    in-memory run of the same instance has it."""
    source = multi_instance(before=("first", service("first")), after=("review", '<userTask id="review"/>'))
    items = list(range(200))

    def make_handlers(die=False):
        handlers, calls = Handlers(), []

        @handlers.task("first")
        def first(ctx):
            calls.append("first")
            if die and calls.count("first") == 1:
                raise WorkerDied()

        @handlers.task("work")
        def work(ctx):
            calls.append(ctx.data["item"])
            return {"seen": ctx.data["item"]}
        return handlers, calls

    handlers, durable_calls = make_handlers(die=True)
    first = fresh_maestro(tmp_path, handlers, lease_seconds=0.3)
    first.deploy([("d.bpmn", source.encode())])
    instance_id = first.start("p", {"items": items})["id"]
    with pytest.raises(WorkerDied):
        drain(first)
    drain(fresh_maestro(tmp_path, handlers), patience=20)
    assert durable_calls == ["first", "first", *items]

    handlers, memory_calls = make_handlers()
    library = engine.load([("d.bpmn", source.encode())])
    memory = engine.Instance.create(library, handlers, {"items": items}, instance_id=instance_id).run()
    assert memory.status == "waiting" and memory_calls == ["first", *items]

    maestro = fresh_maestro(tmp_path, handlers)
    with maestro.Session() as session:
        stored, _ = maestro._context.load(session, maestro._context.row(session, instance_id))
    assert task_states(stored) == task_states(memory)
    assert stored.data == memory.data


def test_a_worker_that_takes_over_a_running_multi_instance_activity_finishes_it(tmp_path):
    """Killed at iteration 60, after the snapshot of step 50: the next worker parses the process anew,
    loads that snapshot, replays the steps after it and hears the remaining iterations complete."""
    handlers, calls = Handlers(), []

    @handlers.task("work")
    def work(ctx):
        calls.append(ctx.data["item"])
        if ctx.data["item"] == 60 and calls.count(60) == 1:
            raise WorkerDied()

    first = fresh_maestro(tmp_path, handlers, lease_seconds=0.3)
    first.deploy([("d.bpmn", multi_instance().encode())])
    instance_id = first.start("p", {"items": list(range(120))})["id"]
    with pytest.raises(WorkerDied):
        drain(first)
    second = fresh_maestro(tmp_path, handlers)
    drain(second, patience=20)
    assert calls == [*range(61), *range(60, 120)]
    assert second.show(instance_id)["status"] == "completed"


def task_states(instance):
    """Every task of the instance as its saved form holds it (when it last changed aside)."""
    return {task.id: (task.task_spec.name, task.state, task._parent, tuple(task._children), task.data,
                      {key: value for key, value in task.internal_data.items() if key != "maestro_attempt"})
            for workflow in (instance.workflow, *instance.workflow.subprocesses.values())
            for task in workflow.tasks.values()}


def test_branches_and_joins_run_with_a_recorder_for_plain_handlers():
    """The in-memory runtime alone: 200 branches, each run once, in order."""
    topics = [f"b{n}" for n in range(200)]
    handlers, calls = make_recorder(*topics)
    instance = engine.run(branches(200), handlers)
    assert instance.status == "completed" and calls == topics
