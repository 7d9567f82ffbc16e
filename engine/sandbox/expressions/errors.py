"""What goes wrong with an expression, and how it is reported.

ExpressionError is the one error callers see. The parsers and the evaluator
raise two internal ones that carry a position, which the package turns into
an ExpressionError naming the source text: Invalid (a node the safe AST or
the evaluator refuses, with a 1-based column) and SyntaxProblem (a JUEL or
FEEL parser's complaint, with a 0-based offset into the text it parsed).
"""
from __future__ import annotations


class ExpressionError(Exception):
    """A condition or expression that can't be compiled or evaluated.

    .expression is the source text, .message says what is wrong,
    .column (1-based, or None) points at the problem when it is known.
    """

    def __init__(self, message, expression="", column=None):
        super().__init__(message)
        self.message = message
        self.expression = expression
        self.column = column

    def __str__(self):
        if self.expression:
            return f"{self.message} (in expression {self.expression!r})"
        return self.message


class Invalid(Exception):
    """A node outside what is allowed, found while checking or evaluating the AST."""

    def __init__(self, message: str, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.column = column


class SyntaxProblem(Exception):
    """A JUEL or FEEL parser's complaint; pos is an offset into the body it was given."""

    def __init__(self, pos: int, detail: str):
        super().__init__(detail)
        self.pos = pos
        self.detail = detail


def syntax_error(text: str, offset: int, detail: str) -> ExpressionError:
    """The ExpressionError for a syntax problem at offset in the whole source text."""
    line, column = _position(text, offset)
    where = f"column {column}" if line == 1 else f"line {line}, column {column}"
    return ExpressionError(f"syntax error at {where}: {detail}", text, column)


def _position(text, offset):
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column
