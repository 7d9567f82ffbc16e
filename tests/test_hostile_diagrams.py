"""Diagrams that would hold a worker forever are refused at deploy or stopped at a cap (issue 11, item 5).

Refused with file, line and element (lint and deploy share the checks): a loop
no gateway or condition can leave (of elements that never wait: it would run
forever; of any elements: its instance could not even be created, SpiffWorkflow
predicting it round and round), a process that calls itself, a
timer cycle of zero, a literal multi-instance cardinality above the cap.
Bounded while running, in memory and by the durable worker alike: steps
without a wait (MAESTRO_MAX_STEPS_WITHOUT_WAIT), multi-instance iterations
(MAESTRO_MAX_ITERATIONS), subprocess and call depth (MAESTRO_MAX_CALL_DEPTH).
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from both_ways import both_ways
from cli_helpers import ROOT, maestro
from conftest import FIXTURES
from durable_helpers import fresh_maestro

import engine
from engine.durable import Maestro
from engine.problems import DeployError

HOSTILE = FIXTURES / "hostile"

REFUSED = [
    (["endless_loop.bpmn"],
     [("endless_loop.bpmn", 7, "count", "this loop (count → again) never waits and nothing chooses to leave it")]),
    (["review_forever.bpmn"],
     [("review_forever.bpmn", 7, "review", "this loop (review → handle) has no way out")]),
    (["reviews_multiply.bpmn"],  # a choice on the larger loop does not help: the split's loop goes on
     [("reviews_multiply.bpmn", 8, "review", "this loop (review → split) has no way out")]),
    (["calls_itself.bpmn"],
     [("calls_itself.bpmn", 7, "again", "makes process 'calls_itself' call itself (calls_itself → calls_itself)")]),
    (["call_ping.bpmn", "call_pong.bpmn"],
     [("call_ping.bpmn", 7, "call_pong", "makes process 'ping' call itself (ping → pong → ping)"),
      ("call_pong.bpmn", 7, "call_ping", "makes process 'pong' call itself (pong → ping → pong)")]),
    (["zero_cycle.bpmn"],
     [("zero_cycle.bpmn", 8, "tick", "timer cycle 'R/PT0S' repeats with no time between repetitions")]),
    (["huge_cardinality.bpmn"],
     [("huge_cardinality.bpmn", 7, "notify",
       "multi-instance cardinality 1000000000 is above the cap of 10000 iterations (MAESTRO_MAX_ITERATIONS)")]),
]


def _located(problems):
    return [(Path(p.file).name, p.line, p.element) for p in problems]


@pytest.mark.parametrize(("files", "expected"), REFUSED, ids=[files[0] for files, _ in REFUSED])
def test_what_is_known_from_the_file_is_refused_by_lint_and_deploy(tmp_path, files, expected):
    paths = [HOSTILE / name for name in files]
    problems = engine.lint(paths)
    assert _located(problems) == [tuple(located) for *located, _ in expected]
    for problem, (*_, said) in zip(problems, expected, strict=True):
        assert said in problem.message

    maestro = fresh_maestro(tmp_path)
    with pytest.raises(DeployError) as refused:
        maestro.deploy_paths(paths)
    assert _located(refused.value.problems) == [tuple(located) for *located, _ in expected]
    assert maestro.definitions() == []


def test_loops_that_wait_or_can_be_left_deploy(tmp_path):
    """Loops a gateway can leave (after a user task, a service task, a message or nothing at all)
    may end: they are bounded while running, not refused."""
    accepted = ["review_loop.bpmn", "polling_loop.bpmn", "gateway_loop.bpmn", "listen_until_silence.bpmn",
                "notify_each.bpmn", "nested_subprocesses.bpmn"]
    assert engine.lint([HOSTILE / name for name in accepted]) == []
    assert [item["key"] for item in fresh_maestro(tmp_path).deploy_paths([HOSTILE / name for name in accepted])] == \
        ["review_loop", "polling_loop", "gateway_loop", "listen_until_silence", "notify_each", "nested_subprocesses"]


def test_the_cli_says_where_a_refused_diagram_is_wrong():
    result = maestro("lint", HOSTILE / "calls_itself.bpmn")
    assert result.returncode == 1
    assert result.stdout.startswith(f"{HOSTILE / 'calls_itself.bpmn'}:7: again: this call activity makes process")
    assert "Traceback" not in result.stdout + result.stderr


def _caps(monkeypatch, **caps):
    for name, value in caps.items():
        monkeypatch.setenv(f"MAESTRO_{name.upper()}", str(value))


def test_a_loop_through_a_service_task_stops_at_the_step_cap(tmp_path, monkeypatch):
    _caps(monkeypatch, max_steps_without_wait=20)
    outcome = both_ways(tmp_path, HOSTILE / "polling_loop.bpmn", ["poll"], data={"done": False})
    # 20 steps: SpiffWorkflow's start, the start event, then Poll and Done? in turn (the 21st would be Poll).
    assert outcome.calls == ["poll"] * 9
    assert outcome.memory.status == "failed"
    assert outcome.memory.error["bpmn_id"] == "poll"
    assert "ran 20 steps without waiting (MAESTRO_MAX_STEPS_WITHOUT_WAIT=20)" in outcome.memory.error["message"]
    assert "stopped before 'Poll' (poll)" in outcome.memory.error["message"]
    assert outcome.durable["status"] == "failed"
    assert outcome.durable["incident"]["bpmn_id"] == "poll"
    assert outcome.durable["incident"]["message"] == outcome.memory.error["message"]


def test_a_loop_of_gateways_stops_at_the_step_cap(tmp_path, monkeypatch):
    """No activity on the loop: the durable worker's step never reaches a commit point without the cap."""
    _caps(monkeypatch, max_steps_without_wait=30)
    outcome = both_ways(tmp_path, HOSTILE / "gateway_loop.bpmn", data={"stop": False})
    assert outcome.memory.status == "failed" and outcome.durable["status"] == "failed"
    assert outcome.durable["incident"]["bpmn_id"] == outcome.memory.error["bpmn_id"] == "check"
    assert "MAESTRO_MAX_STEPS_WITHOUT_WAIT=30" in outcome.durable["incident"]["message"]


def test_a_loop_that_waits_gets_a_fresh_budget_at_every_wait(tmp_path, monkeypatch):
    _caps(monkeypatch, max_steps_without_wait=3)
    rounds = [("complete", "review", {"approved": False})] * 5  # more than 3 steps in all, at most 2 between waits
    outcome = both_ways(tmp_path, HOSTILE / "review_loop.bpmn", steps=rounds)
    assert outcome.memory.status == outcome.durable["status"] == "waiting"
    assert [t["bpmn_id"] for t in outcome.durable["waiting"]] == ["review"]


@pytest.mark.parametrize(("customers", "status", "calls"), [
    (["ann", "bob", "cy"], "completed", ["notify:ann", "notify:bob", "notify:cy"]),
    (["ann", "bob", "cy", "dee"], "failed", []),
])
def test_multi_instance_iterations_are_capped(tmp_path, monkeypatch, customers, status, calls):
    _caps(monkeypatch, max_iterations=3)
    outcome = both_ways(tmp_path, HOSTILE / "notify_each.bpmn", ["notify"], data={"customers": customers},
                        item_key="customer")
    assert sorted(outcome.calls) == calls
    assert outcome.memory.status == outcome.durable["status"] == status
    if status == "failed":
        message = "the multi-instance activity 'Notify' (notify) would run 4 iterations, " \
                  "more than MAESTRO_MAX_ITERATIONS=3 allows"
        assert outcome.memory.error["message"] == outcome.durable["incident"]["message"] == message


@pytest.mark.parametrize(("depth", "status", "calls"), [(2, "completed", ["work"]), (1, "failed", [])])
def test_subprocesses_nested_deeper_than_the_cap_fail(tmp_path, monkeypatch, depth, status, calls):
    _caps(monkeypatch, max_call_depth=depth)
    outcome = both_ways(tmp_path, HOSTILE / "nested_subprocesses.bpmn", ["work"])
    assert outcome.calls == calls
    assert outcome.memory.status == outcome.durable["status"] == status
    if status == "failed":
        assert outcome.durable["incident"]["message"] == outcome.memory.error["message"] == \
            "'Inner' (inner) would run 2 call activities or subprocesses deep, " \
            "more than MAESTRO_MAX_CALL_DEPTH=1 allows"


def test_a_capped_instance_resumes_with_a_fresh_budget_when_retried(monkeypatch):
    _caps(monkeypatch, max_steps_without_wait=20)
    handlers, calls = _polling_handlers(done_after=12)
    instance = engine.run(HOSTILE / "polling_loop.bpmn", handlers, data={"done": False})
    assert instance.status == "failed" and len(calls) == 9
    instance.retry()
    assert instance.status == "completed" and len(calls) == 12


def _polling_handlers(done_after):
    handlers, calls = engine.Handlers(), []

    @handlers.task("poll")
    def poll(ctx):
        calls.append(ctx.task_name)
        return {"done": len(calls) >= done_after}
    return handlers, calls


def test_maestro_run_stops_at_the_cap_with_exit_code_1():
    env = {**os.environ, "MAESTRO_MAX_STEPS_WITHOUT_WAIT": "25"}
    result = subprocess.run([sys.executable, "-m", "engine.cli", "run", str(HOSTILE / "gateway_loop.bpmn"),
                             "--handlers", str(ROOT / "tests" / "data" / "polling_handlers.py"),
                             "--data", '{"stop": false}'], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1
    assert "MAESTRO_MAX_STEPS_WITHOUT_WAIT=25" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_a_worker_process_stops_a_loop_at_the_cap_and_goes_on(tmp_path):
    """A real `maestro worker`: the looping instance fails with an incident, once (it is not retried),
    and the worker finishes the other instance and stops when idle."""
    folder = tmp_path / "processes"
    folder.mkdir()
    shutil.copy(HOSTILE / "polling_loop.bpmn", folder)
    shutil.copy(ROOT / "tests" / "data" / "polling_handlers.py", folder)
    log = tmp_path / "calls.log"
    url = f"sqlite:///{tmp_path / 'maestro.db'}"
    env = {**os.environ, "MAESTRO_DATABASE_URL": url, "MAESTRO_MAX_STEPS_WITHOUT_WAIT": "20",
           "MAESTRO_TEST_LOG": str(log), "PYTHONPATH": str(ROOT)}
    durable = Maestro(url)
    durable.deploy_paths([folder / "polling_loop.bpmn"])
    looping = durable.start("polling_loop", {"done_after": 1000})["id"]
    ending = durable.start("polling_loop", {"done_after": 3})["id"]

    worker = subprocess.run([sys.executable, "-m", "engine.cli", "worker", "--processes", str(folder), "--until-idle"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert worker.returncode == 0, worker.stdout + worker.stderr

    calls = [line.split()[0] for line in log.read_text().splitlines()]
    assert calls.count(looping) == 9 and calls.count(ending) == 3
    shown = durable.show(looping)
    assert shown["status"] == "failed"
    assert "MAESTRO_MAX_STEPS_WITHOUT_WAIT=20" in shown["incident"]["message"]
    assert durable.show(ending)["status"] == "completed"


def test_a_zero_timer_cycle_read_from_a_variable_stops_at_the_step_cap(tmp_path, monkeypatch):
    _caps(monkeypatch, max_steps_without_wait=50)
    outcome = both_ways(tmp_path, HOSTILE / "cycle_from_variable.bpmn", data={"cycle": "R/PT0S"})
    assert outcome.memory.status == outcome.durable["status"] == "failed"
    assert "MAESTRO_MAX_STEPS_WITHOUT_WAIT=50" in outcome.durable["incident"]["message"]


@pytest.mark.parametrize("value", ["lots", "0"])
def test_a_cap_set_wrongly_is_one_line_and_exit_code_2(value):
    env = {**os.environ, "MAESTRO_MAX_ITERATIONS": value}
    result = subprocess.run([sys.executable, "-m", "engine.cli", "lint", str(HOSTILE / "notify_each.bpmn")],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith(f"maestro: MAESTRO_MAX_ITERATIONS='{value}' ")
    assert len(result.stderr.splitlines()) == 1
