"""What may stop a step from outside the diagram: the durable wing raises these, the step loop lets them pass.

Both unwind past every `except Exception` (a handler's, SpiffWorkflow's,
Maestro's own) or are never caught as a task's failure: they say that the step
must not be committed, not that the task failed.
"""


class StepAbandoned(BaseException):
    """The worker is stopping and gives up the step in flight (it is not committed)."""


class ReplayDiverged(Exception):
    """Running the logged steps again did not retrace them (a Maestro bug, never a user's)."""
