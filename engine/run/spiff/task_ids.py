"""Task ids numbered per instance, so that running the same steps again makes the same ids.

A worker that takes an instance over rebuilds it by replaying the steps logged
since its last snapshot (see store.steps). The tasks it re-creates must get the
ids they had: history rows name them, and a handler's idempotency key is made
from the task id, so a step that is re-run after a crash must present the key
of its first attempt. SpiffWorkflow draws every new task id from uuid4();
while Maestro runs an instance, the ids come from that instance's counter.
"""
import uuid
from contextlib import contextmanager
from contextvars import ContextVar

import SpiffWorkflow.task as spiff_task

_issuing = ContextVar("maestro_task_ids", default=None)


_NODE = (1 << 48) - 1  # the low 48 bits of a UUID (its "node" field)


class TaskIds:
    """The ids of one instance's tasks: the namespace UUID with n = 1, 2, ... added to its node field.

    Counting in the node field keeps the version and variant bits (and so a
    valid UUID); ids of different instances differ in the other 74 random bits.
    """

    def __init__(self, namespace, issued=0):
        self.namespace, self.issued = namespace, issued

    @classmethod
    def for_new_instance(cls, instance_id):
        try:
            namespace = uuid.UUID(instance_id)
        except (TypeError, ValueError):
            namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"maestro:{instance_id}")
        return cls(namespace)

    @classmethod
    def restore(cls, saved):
        """From `saved()`; None (saved before ids were numbered) gives a fresh, random namespace,
        which can never repeat an id the instance already has."""
        if saved is None:
            return cls(uuid.uuid4())
        return cls(uuid.UUID(saved["namespace"]), saved["issued"])

    def saved(self):
        return {"namespace": str(self.namespace), "issued": self.issued}

    def next(self):
        self.issued += 1
        base = self.namespace.int
        return uuid.UUID(int=(base & ~_NODE) | ((base + self.issued) & _NODE))


@contextmanager
def issuing(task_ids):
    """New SpiffWorkflow tasks made inside this block take their ids from `task_ids`."""
    token = start_issuing(task_ids)
    try:
        yield
    finally:
        stop_issuing(token)


def start_issuing(task_ids):
    """Like `issuing`, without a context manager's cost (it wraps every step): returns a token."""
    return _issuing.set(task_ids)


def stop_issuing(token):
    _issuing.reset(token)


def _next_task_id():
    task_ids = _issuing.get()
    return task_ids.next() if task_ids is not None else uuid.uuid4()


spiff_task.uuid4 = _next_task_id  # the name SpiffWorkflow's Task.__init__ calls
