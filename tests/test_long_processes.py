"""Long processes (issue 10, item 15): a straight process of 5,000 service tasks deploys and runs.

SpiffWorkflow parses a diagram and walks its task tree recursively, one Python
call per step of a path, so a straight process of ~320 tasks was refused with
RecursionError('maximum recursion depth exceeded'). engine.read.long_flows parses
long paths from a work list; engine.run.spiff.deep_trees walks deep task trees without
recursion. These tests generate their diagrams.

Durably the process is 2,000 tasks long (six times the old limit): 5,000
takes ~20 s through the worker (deploy, start, run, show) on 2 cores, too long
for one test.
"""
import json
import time

import pytest
from conftest import make_recorder, once
from durable_helpers import drain, fresh_maestro
from sqlalchemy import func, select

import engine
from engine.cli import main as maestro
from engine.durable.replay import MAX_LOGGED_STEPS
from engine.durable.store.models import InstanceStep
from engine.run.interruptions import StepAbandoned

LENGTH = 5_000
DURABLE_LENGTH = 2_000
LENGTH_AROUND_JOINS = 1_200
BRANCHES = 1_000

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="http://maestro.test/long">\n'
        '<bpmn:process id="{process_id}" isExecutable="true">\n<bpmn:startEvent id="start"/>\n')
TAIL = "</bpmn:process>\n</bpmn:definitions>\n"


def topics(count, prefix="step"):
    return [f"{prefix}_{number}" for number in range(count)]


def steps(count, after, prefix="step"):
    """(XML of `count` service tasks in a row after the node `after`, the last one's id)."""
    parts = []
    for topic in topics(count, prefix):
        parts.append(f'<bpmn:serviceTask id="{topic}" camunda:type="external" camunda:topic="{topic}"/>\n'
                     f'<bpmn:sequenceFlow id="to_{topic}" sourceRef="{after}" targetRef="{topic}"/>\n')
        after = topic
    return "".join(parts), after


def diagram(body, process_id="long_process"):
    return HEAD.format(process_id=process_id) + body + TAIL


def flow(source, target, condition=None):
    expression = f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression>" if condition else ""
    return f'<bpmn:sequenceFlow id="{source}_to_{target}" sourceRef="{source}" targetRef="{target}">{expression}' \
           f'</bpmn:sequenceFlow>\n'


def straight_process(length, process_id="long_process"):
    """Start, `length` service tasks (topics step_0...), a closing service task "close", end."""
    chain, last = steps(length, "start")
    return diagram(chain + '<bpmn:serviceTask id="close" camunda:type="external" camunda:topic="close"/>\n'
                   + flow(last, "close") + '<bpmn:endEvent id="end"/>\n' + flow("close", "end"), process_id)


def wide_process(branches):
    """A parallel gateway splitting into `branches` service tasks and joining them again."""
    body = '<bpmn:parallelGateway id="split"/>\n<bpmn:parallelGateway id="join"/>\n' + flow("start", "split")
    for topic in topics(branches, "branch"):
        body += f'<bpmn:serviceTask id="{topic}"/>\n' + flow("split", topic) + flow(topic, "join")
    return diagram(body + '<bpmn:endEvent id="end"/>\n' + flow("join", "end"), "wide_process")


def recorder(length, **options):
    """Recording handlers for the straight process; "close" also sets a variable."""
    handlers, calls = make_recorder(*topics(length), **options)
    handlers.task("close")(lambda ctx: calls.append("close") or {"closed": True})
    return handlers, calls


@pytest.fixture(scope="module")
def long_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("long") / "long_process.bpmn"
    path.write_text(straight_process(LENGTH))
    return path


def test_a_long_and_a_wide_process_lint_clean(long_file, tmp_path, capsys):
    """Both parse, in seconds (each flow node is parsed once); no time is asserted."""
    wide = tmp_path / "wide_process.bpmn"
    wide.write_text(wide_process(BRANCHES))
    assert maestro(["lint", str(long_file), str(wide)]) == 0
    assert capsys.readouterr().out.strip() == "2 file(s): no problems"


def test_a_5000_task_process_deploys_from_the_command_line(long_file, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MAESTRO_DATABASE_URL", f"sqlite:///{tmp_path / 'maestro.db'}")
    assert maestro(["deploy", str(long_file)]) == 0
    assert capsys.readouterr().out.strip() == "long_process version 1"


def test_a_5000_task_process_runs_in_memory_and_resumes_after_a_save(long_file):
    library = engine.load(long_file)
    handlers, calls = recorder(LENGTH)
    instance = engine.Instance.create(library, handlers, {"order_id": "o-1"})
    assert instance.run_until(lambda task: task.task_spec.bpmn_id == "step_2499") is True
    saved = instance.serialize()

    restored = engine.Instance.from_state(json.loads(saved), *library.build("long_process"), handlers).run()

    assert calls == topics(LENGTH) + ["close"]
    assert restored.status == "completed"
    assert restored.data == {"order_id": "o-1", "closed": True}
    ran = [task["bpmn_id"] for task in restored.tasks() if task["state"] == "COMPLETED"]
    assert ran == ["start", *topics(LENGTH), "close", "end"]


class WorkerDied(StepAbandoned):
    """Raised in a handler: unwinds the worker like a kill, past the engine's error handling (any other
    BaseException from a handler is a failure of its task; this is how a stopping worker abandons a step)."""


def test_a_long_process_runs_durably_through_a_retry_and_a_takeover(tmp_path, monkeypatch, capsys):
    """A task fails once (the worker that retries it restores the saved instance); later the worker
    dies in a task, and the next one replays the steps logged since the last snapshot before running
    that task again. `maestro show` replays the last logged steps too."""
    monkeypatch.setenv("MAESTRO_RETRY_BASE_SECONDS", "0")
    # The retry starts from a snapshot: half the steps logged between two snapshots later, the worker dies.
    flaky, fatal = f"step_{DURABLE_LENGTH // 2}", f"step_{DURABLE_LENGTH // 2 + MAX_LOGGED_STEPS // 2}"
    failures = {flaky: once(RuntimeError("flaky")), fatal: once(WorkerDied())}
    handlers, calls = recorder(DURABLE_LENGTH, raise_on=failures)
    first = fresh_maestro(tmp_path, handlers, lease_seconds=0.5)
    key = first.deploy([("long_process.bpmn", straight_process(DURABLE_LENGTH).encode())])[0]["key"]
    instance_id = first.start(key, {"order_id": "o-2"})["id"]
    with pytest.raises(WorkerDied):
        drain(first, patience=120)
    with first.Session() as session:
        assert session.scalar(select(func.count()).select_from(InstanceStep)
                              .where(InstanceStep.instance_id == instance_id)), "steps were logged since the snapshot"
    time.sleep(0.6)  # the dead worker's lease runs out
    drain(fresh_maestro(tmp_path, handlers), patience=120)

    expected = topics(DURABLE_LENGTH)
    for twice in (flaky, fatal):  # a failed or interrupted try, then the next
        expected.insert(expected.index(twice), twice)
    assert calls == expected + ["close"]
    monkeypatch.setenv("MAESTRO_DATABASE_URL", f"sqlite:///{tmp_path / 'maestro.db'}")
    assert maestro(["show", instance_id, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "completed"
    assert shown["data"] == {"order_id": "o-2", "closed": True}
    completed = [entry["bpmn_id"] for entry in shown["history"]
                 if entry["state"] == "COMPLETED" and entry["type"] == "serviceTask"]
    assert completed == topics(DURABLE_LENGTH) + ["close"]


def joins_after_a_long_path():
    """A long path, then an inclusive and a parallel split and join; then another long path."""
    before, last = steps(LENGTH_AROUND_JOINS, "start", "before")
    after, end_of_after = steps(LENGTH_AROUND_JOINS, "parallel_join", "after")
    body = before + flow(last, "inclusive_split") + (
        '<bpmn:inclusiveGateway id="inclusive_split"/>\n<bpmn:inclusiveGateway id="inclusive_join"/>\n'
        '<bpmn:serviceTask id="left"/>\n<bpmn:serviceTask id="right"/>\n'
        '<bpmn:parallelGateway id="parallel_split"/>\n<bpmn:parallelGateway id="parallel_join"/>\n'
        '<bpmn:serviceTask id="up"/>\n<bpmn:serviceTask id="down"/>\n<bpmn:endEvent id="end"/>\n')
    body += flow("inclusive_split", "left", "True") + flow("inclusive_split", "right", "True")
    body += flow("left", "inclusive_join") + flow("right", "inclusive_join") + flow("inclusive_join", "parallel_split")
    body += flow("parallel_split", "up") + flow("parallel_split", "down")
    body += flow("up", "parallel_join") + flow("down", "parallel_join")
    return diagram(body + after + flow(end_of_after, "end"))


def test_joins_after_a_long_path():
    topics_run = topics(LENGTH_AROUND_JOINS, "before") + ["left", "right", "up", "down"]
    handlers, calls = make_recorder(*topics_run, *topics(LENGTH_AROUND_JOINS, "after"))
    instance = engine.run(joins_after_a_long_path(), handlers)
    assert instance.status == "completed"
    assert calls == topics_run + topics(LENGTH_AROUND_JOINS, "after")


def test_an_error_caught_at_the_start_drops_a_long_future():
    chain, last = steps(LENGTH_AROUND_JOINS, "first")
    body = ('<bpmn:serviceTask id="first"/>\n' + flow("start", "first") + chain + '<bpmn:endEvent id="end"/>\n'
            + flow(last, "end") + '<bpmn:boundaryEvent id="declined" attachedToRef="first">'
            '<bpmn:errorEventDefinition/></bpmn:boundaryEvent>\n<bpmn:serviceTask id="apologise"/>\n'
            + flow("declined", "apologise") + '<bpmn:endEvent id="declined_end"/>\n'
            + flow("apologise", "declined_end"))
    handlers, calls = make_recorder("first", "apologise", *topics(LENGTH_AROUND_JOINS),
                                    raise_on={"first": engine.BpmnError("DECLINED")})
    instance = engine.run(diagram(body), handlers)
    assert instance.status == "completed"
    assert calls == ["first", "apologise"]


def test_compensation_undoes_activities_all_along_a_long_path():
    chain, last = steps(LENGTH_AROUND_JOINS, "start")
    undo = "".join(
        f'<bpmn:boundaryEvent id="{step}_undone" attachedToRef="{step}"><bpmn:compensateEventDefinition/>'
        f'</bpmn:boundaryEvent>\n<bpmn:serviceTask id="undo_{step}" isForCompensation="true"/>\n'
        f'<bpmn:association id="{step}_undo" sourceRef="{step}_undone" targetRef="undo_{step}"/>\n'
        for step in ("step_0", last))
    body = chain + undo + '<bpmn:intermediateThrowEvent id="compensate"><bpmn:compensateEventDefinition/>' \
        '</bpmn:intermediateThrowEvent>\n<bpmn:endEvent id="end"/>\n' + flow(last, "compensate") \
        + flow("compensate", "end")
    handlers, calls = make_recorder(*topics(LENGTH_AROUND_JOINS), "undo_step_0", f"undo_{last}")
    instance = engine.run(diagram(body), handlers)
    assert instance.status == "completed"
    assert calls == topics(LENGTH_AROUND_JOINS) + [f"undo_{last}", "undo_step_0"]


def test_an_instance_waiting_after_a_long_path_is_cancelled_whole():
    before, last = steps(LENGTH_AROUND_JOINS, "start", "before")
    after, end_of_after = steps(LENGTH_AROUND_JOINS, "approve", "after")
    body = before + '<bpmn:userTask id="approve"/>\n' + flow(last, "approve") + after \
        + '<bpmn:endEvent id="end"/>\n' + flow(end_of_after, "end")
    handlers, calls = make_recorder(*topics(LENGTH_AROUND_JOINS, "before"), *topics(LENGTH_AROUND_JOINS, "after"))
    instance = engine.run(diagram(body), handlers)
    assert instance.status == "waiting"
    assert [task["bpmn_id"] for task in instance.waiting_tasks()] == ["approve"]

    instance.cancel()
    assert instance.status == "cancelled"
    assert not instance.waiting_tasks()
    assert calls == topics(LENGTH_AROUND_JOINS, "before")


def test_a_loop_that_goes_round_a_thousand_times():
    body = ('<bpmn:scriptTask id="count" scriptFormat="python"><bpmn:script>rounds = rounds + 1</bpmn:script>'
            '</bpmn:scriptTask>\n<bpmn:serviceTask id="work"/>\n<bpmn:exclusiveGateway id="again" default="done"/>\n'
            '<bpmn:endEvent id="end"/>\n<bpmn:sequenceFlow id="done" sourceRef="again" targetRef="end"/>\n'
            + flow("start", "count") + flow("count", "work") + flow("work", "again")
            + flow("again", "count", "rounds &lt; 1000"))
    handlers, calls = make_recorder("work")
    instance = engine.run(diagram(body), handlers, {"rounds": 0})
    assert instance.status == "completed"
    assert instance.data == {"rounds": 1000}
    assert calls == ["work"] * 1000
    # Each round's tasks sit below the last round's: the tree is 3,000 deep, and all of it is listed.
    assert [task["bpmn_id"] for task in instance.tasks()].count("work") == 1000
