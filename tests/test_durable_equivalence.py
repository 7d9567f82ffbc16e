"""Storage round trip: an instance that is reloaded from the database after every commit
(as after a crash) behaves exactly like one run in memory, for every construct."""
import pytest
from conftest import FIXTURES, make_recorder
from durable_helpers import drain, fresh_maestro

import engine
from engine.durable import context as durable
from engine.durable.store import jobs
from engine.run.instance import Instance

CASES = {
    "compensation_sequence": ({}, ("A", "B", "C", "undoA", "undoB", "undoC")),
    "compensation_activity_ref": ({}, ("A", "B", "C", "undoA", "undoB", "undoC")),
    "compensation_twice": ({}, ("A", "B", "C", "undoA", "undoB", "undoC")),
    "compensation_subprocess": ({}, ("A", "X", "Y", "undoA", "undoX", "undoY")),
    "compensation_subprocess_handler": ({}, ("X", "Y", "undoS", "undoX", "undoY")),
    "compensation_parallel": ({}, ("P", "Q", "undoP", "undoQ")),
    "compensation_multi_instance": ({"items": ["a", "b", "c"]}, ("M", "undoM")),
    "compensation_loop": ({}, ("L", "undoL")),
    "compensation_event_subprocess": ({}, ("X", "Y", "undoX", "undoY", "cleanup")),
    "compensation_transaction": ({}, ("X", "Y", "undoX", "undoY", "after_cancel")),
    "compensation_no_wait": ({}, ("A", "B", "C", "undoA", "undoB", "undoC")),
    "errors_event_subprocess": ({}, ("charge", "ship", "handle_error")),
}


def record(topics, item_key=None):
    raise_on = {"ship": engine.BpmnError("SHIP_FAILED", "no truck")}
    return make_recorder(*topics, raise_on=raise_on, item_key=item_key)


@pytest.fixture
def crash_after_every_commit(monkeypatch):
    """A worker dies right after each commit: a loaded instance runs one round, then its
    worker is gone (before any further handler runs) and the next job reloads it."""
    load, run_until = durable.Context.load, Instance.run_until

    def load_once(self, session, row, logged=None):
        instance, writer = load(self, session, row, logged)
        instance.rounds_left = 1
        return instance, writer

    def one_round(self, pause=None):
        if getattr(self, "rounds_left", None) == 0:
            raise jobs.LeaseLost(self.id)
        if hasattr(self, "rounds_left"):
            self.rounds_left -= 1
        return run_until(self, pause)

    monkeypatch.setattr(durable.Context, "load", load_once)
    monkeypatch.setattr(Instance, "run_until", one_round)


@pytest.mark.parametrize("name", sorted(CASES))
def test_reloading_after_every_commit_changes_nothing(name, tmp_path, crash_after_every_commit):
    data, topics = CASES[name]
    item_key = "item" if "multi_instance" in name else None
    path = FIXTURES / f"{name}.bpmn"

    handlers, in_memory_calls = record(topics, item_key)
    in_memory = engine.run(path, handlers, data)

    handlers, durable_calls = record(topics, item_key)
    maestro = fresh_maestro(tmp_path, handlers)
    key = maestro.deploy_paths([path])[0]["key"]
    instance_id = maestro.start(key, data)["id"]
    jobs_run = drain(maestro)
    shown = maestro.show(instance_id)

    assert durable_calls == in_memory_calls
    assert shown["status"] == in_memory.status
    assert shown["data"] == in_memory.data
    assert jobs_run > len(in_memory_calls) // 2, "the instance was really reloaded along the way"
    compensated = sorted(t["bpmn_id"] for t in shown["tasks"] if t["compensated"])
    assert compensated == sorted(t["bpmn_id"] for t in in_memory.tasks() if t["compensated"])


def test_retry_budget_holds_when_the_worker_dies_after_each_failure(tmp_path, crash_after_every_commit, monkeypatch):
    from durable_helpers import DURABLE
    monkeypatch.setenv("MAESTRO_RETRY_BASE_SECONDS", "0")
    handlers, calls = make_recorder("flaky_call", "steady", raise_on={"flaky_call": RuntimeError("timeout")})
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([DURABLE / "flaky.bpmn"])
    instance_id = maestro.start("flaky")["id"]
    drain(maestro)
    shown = maestro.show(instance_id)
    assert calls == ["flaky_call", "flaky_call"]  # R2/PT0S: two tries, crashes or not
    assert shown["status"] == "failed" and shown["incident"]["bpmn_id"] == "flaky_call"


@pytest.mark.parametrize("name", sorted(CASES))
def test_fast_task_serialization_equals_spiffworkflows(name):
    import json

    from engine.durable.store.task_rows import task_body
    from engine.run.serializer import SERIALIZER

    data, topics = CASES[name]
    handlers, _ = record(topics, "item" if "multi_instance" in name else None)
    instance = engine.run(FIXTURES / f"{name}.bpmn", handlers, data)
    top = instance.workflow
    for workflow in (top, *top.subprocesses.values()):
        for task in workflow.tasks.values():
            assert json.loads(task_body(task)) == json.loads(json.dumps(SERIALIZER.registry.convert(task)))
