"""What goes wrong with a script, and which of its lines it happened on.

ScriptError is the one error callers see. Compiled scripts carry FILENAME, so
the frames of a traceback that are the script's own can be told from the
sandbox's, and script_line() finds the line to report."""
from __future__ import annotations

FILENAME = "<script>"


class ScriptError(Exception):
    """A script that does not compile, breaks a sandbox rule or fails while running.

    .message says what is wrong; .line is the 1-based line in the script, or None.
    """

    def __init__(self, message, line=None):
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self):
        return f"line {self.line}: {self.message}" if self.line else self.message


def script_line(exc: BaseException) -> int | None:
    """The last line of the script in the traceback of exc, None if the script is not in it."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
