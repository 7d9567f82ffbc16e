"""Shared helpers for the acceptance tests.

`recorder(...)` builds a `Handlers` whose handlers only record that they ran,
so a test can assert the exact order of handler calls:

    handlers, calls = recorder("A", "B", "undoA")
    inst = engine.run(FIXTURES / "compensation_sequence.bpmn", handlers)
    assert calls == ["A", "B", "undoA"]

A call is recorded *before* the handler raises, so a failed attempt shows up
in `calls` as well (a retried task appears twice).
"""
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # plain `pytest` from a checkout, without `pip install -e .`
    sys.path.insert(0, str(ROOT))

from engine.handlers import Handlers  # noqa: E402  (the class `engine` re-exports)

FIXTURES = Path(__file__).parent / "fixtures"


def once(exc):
    """Raise `exc` on the first call of the topic only (a transient failure)."""
    return lambda ctx, n: exc if n == 1 else None


def when(predicate, exc):
    """Raise `exc` whenever `predicate(ctx.data)` is true."""
    return lambda ctx, n: exc if predicate(ctx.data) else None


def make_recorder(*topics, undo=(), raise_on=None, item_key=None):
    """Returns (handlers, calls).

    topics    bound with `@handlers.task(topic)`; each call appends the topic.
    undo      topics bound with `@handlers.undo(topic)`; each call appends "undo:<topic>".
    raise_on  {label: exception | callable(ctx, n) -> exception or None}, where label is
              the recorded label (topic, or "undo:<topic>") and n the 1-based number of
              calls of that label so far. An exception instance or class is raised on
              every call.
    item_key  if given and ctx.data[item_key] is set, the entry is "<label>:<value>"
              (used for multi-instance iterations).
    """
    handlers = Handlers()
    calls = []
    counts = {}
    raise_on = dict(raise_on or {})

    def bind(label, topic, binder):
        def handler(ctx):
            entry = label
            if item_key is not None and ctx.data.get(item_key) is not None:
                entry = f"{label}:{ctx.data[item_key]}"
            calls.append(entry)
            counts[label] = counts.get(label, 0) + 1
            rule = raise_on.get(label)
            if rule is None:
                return None
            if isinstance(rule, BaseException) or (isinstance(rule, type) and issubclass(rule, BaseException)):
                raise rule
            exc = rule(ctx, counts[label])
            if exc is not None:
                raise exc
            return None

        handler.__name__ = f"record_{label}".replace("-", "_").replace(":", "_")
        binder(topic)(handler)

    for topic in topics:
        bind(topic, topic, handlers.task)
    for topic in undo:
        bind(f"undo:{topic}", topic, handlers.undo)
    return handlers, calls


@pytest.fixture
def recorder():
    """The `make_recorder` factory, as a fixture."""
    return make_recorder


def tasks_of(inst, bpmn_id):
    """All task dicts of the instance for one BPMN element id."""
    return [t for t in inst.tasks() if t["bpmn_id"] == bpmn_id]


def completed_count(inst, bpmn_id):
    return sum(1 for t in tasks_of(inst, bpmn_id) if t["state"] == "COMPLETED")


def is_compensated(inst, bpmn_id):
    """True if some completed task of that element is marked compensated."""
    found = tasks_of(inst, bpmn_id)
    assert found, f"no task for BPMN element {bpmn_id!r} in inst.tasks()"
    return any(t["compensated"] for t in found)
