"""Which dialect a text is in, decided in one place, and its compilation to a checked tree.

`${...}` or `#{...}` is JUEL (Camunda 7), `=...` is FEEL (Camunda 8), and
anything else is the Python-like dialect. Leading and trailing white space
is ignored for the choice, but every column reported counts it.
"""
from __future__ import annotations

import ast

from .errors import ExpressionError, Invalid, SyntaxProblem, syntax_error
from .evaluator import CompiledExpression
from .feel import parse_feel
from .juel import parse_juel
from .limits import MAX_EXPRESSION_LENGTH
from .parsing import shift_columns
from .python_like import parse_python
from .safe_ast import validate

__all__ = ["compile_text"]


def compile_text(text: str) -> CompiledExpression:
    """Parse text in its dialect and check the tree; raises ExpressionError."""
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"expression is too long ({len(text)} characters, at most {MAX_EXPRESSION_LENGTH})",
            text[:80] + "...")
    stripped = text.strip()
    if not stripped:
        raise ExpressionError("empty expression", text)
    lead = len(text) - len(text.lstrip())
    dialect = _dialect(stripped)
    try:
        tree = _parse(text, stripped, lead, dialect)
        validate(tree)
    except Invalid as exc:
        raise ExpressionError(exc.message, text, exc.column) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("expression is too deeply nested", text) from None
    return CompiledExpression(text, dialect, tree)


def _dialect(stripped):
    if stripped[:2] in ("${", "#{"):
        return "juel"
    if stripped.startswith("="):
        return "feel"
    return "python"


def _parse(text, stripped, lead, dialect):
    """The text's tree, columns counted from the start of text."""
    if dialect == "python":
        return parse_python(text, lead)
    if dialect == "juel":
        if not stripped.endswith("}"):
            raise syntax_error(text, lead + len(stripped), "missing closing '}'")
        body, base, parse = stripped[2:-1], lead + 2, parse_juel
    else:
        body, base, parse = stripped[1:], lead + 1, parse_feel
    try:
        node = parse(body)
    except SyntaxProblem as exc:
        raise syntax_error(text, base + exc.pos, exc.detail) from None
    shift_columns(node, base)
    return ast.Expression(body=node)
