"""The refusal of a request an instance cannot honour, in a module of its own: the database commands
(`maestro start`, `instances`...) name it without importing the step loop and SpiffWorkflow."""


class InstanceError(Exception):
    """A request an instance cannot honour in its current state (e.g. retry when not failed)."""
