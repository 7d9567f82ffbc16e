"""What the durable engine raises when it refuses a request on an instance or process."""
from engine.run.instance_errors import InstanceError


class NotFound(Exception):
    pass


class Busy(Exception):
    """A worker is advancing the instance right now; try again in a moment."""


class InvalidDraft(Exception):
    """A draft the engine will not keep: XML that is not well-formed or not safe, a key that is not its process's."""


class Suspended(InstanceError):
    """The instance is suspended: resume it first (cancelling it is allowed)."""


class Stale(InstanceError):
    """The instance changed since the person's page showed it: their edit is of what it was then."""


class NotYours(Exception):
    """A person asked to act on a user task that is not theirs to act on (someone else's to give back)."""


class TaskTaken(Exception):
    """A user task that cannot be claimed or worked now: someone else has it, or it no longer waits."""
