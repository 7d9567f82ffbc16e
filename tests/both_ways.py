"""Runs one diagram in memory and through the durable worker, so a test asserts both.

    outcome = both_ways(tmp_path, XML, ["a", "b"])
    assert outcome.calls == ["a", "b"]            # the same in memory and durably (checked)
    assert outcome.memory.data == {...}           # the in-memory Instance
    assert outcome.durable["data"] == {...}       # what `maestro show` says of the durable one

`steps` act on both instances between runs: ("publish", name, correlation, data),
("complete", task_ref, data), ("cancel",) or ("sleep", seconds): time passes, then the in-memory
instance runs what fell due (the durable worker waits for due timers by itself, see drain).
"""
import time
from dataclasses import dataclass

from conftest import make_recorder
from durable_helpers import assert_read_model_agrees, drain, fresh_maestro

import engine
from engine.run import messages


@dataclass
class Outcome:
    memory: engine.Instance
    durable: dict
    calls: list
    maestro: object
    durable_id: str


def both_ways(tmp_path, source, topics=(), data=None, steps=(), make_handlers=None, **recorder_options):
    """(in-memory instance, durable show) of the same diagram run the same way; their handler calls
    must agree. `source` is XML text or a path; `make_handlers()` returns (handlers, calls)."""
    make_handlers = make_handlers or (lambda: make_recorder(*topics, **recorder_options))
    sources = [("diagram.bpmn", source.encode())] if isinstance(source, str) else [(str(source), source.read_bytes())]

    handlers, memory_calls = make_handlers()
    memory = engine.Instance.create(engine.load(sources), handlers, data).run()
    for step in steps:
        _act_in_memory(memory, step)

    handlers, durable_calls = make_handlers()
    tmp_path.mkdir(parents=True, exist_ok=True)
    maestro = fresh_maestro(tmp_path, handlers)
    key = maestro.deploy(sources)[0]["key"]
    instance_id = maestro.start(key, data)["id"]
    drain(maestro)
    for step in steps:
        _act_durably(maestro, instance_id, step)
        drain(maestro)
    shown = maestro.show(instance_id)
    assert_read_model_agrees(maestro, instance_id)
    assert durable_calls == memory_calls, f"durable {durable_calls} != in memory {memory_calls}"
    return Outcome(memory, shown, memory_calls, maestro, instance_id)


def _act_in_memory(instance, step):
    kind, *args = step
    if kind == "publish":
        name, correlation, data = (list(args) + [None, None])[:3]
        if messages.correlates(correlation, instance.data, instance.business_key):
            messages.deliver(instance, name, data)
        instance.run()
    elif kind == "complete":
        instance.complete_task(*args)
    elif kind == "cancel":
        instance.cancel()
    elif kind == "sleep":
        time.sleep(*args)
        instance.run()
    else:
        raise ValueError(f"unknown step {kind}")


def _act_durably(maestro, instance_id, step):
    kind, *args = step
    if kind == "publish":
        name, correlation, data = (list(args) + [None, None])[:3]
        maestro.publish(name, correlation, data)
    elif kind == "complete":
        maestro.complete_task(instance_id, *args)
    elif kind == "cancel":
        maestro.cancel(instance_id)
    elif kind == "sleep":
        time.sleep(*args)
