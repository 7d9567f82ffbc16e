"""What the durable engine raises when it refuses a request on an instance or process."""


class NotFound(Exception):
    pass


class Busy(Exception):
    """A worker is advancing the instance right now; try again in a moment."""
