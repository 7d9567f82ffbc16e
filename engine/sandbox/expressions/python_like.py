"""The Python-like dialect (any text without `${` or `=` in front), parsed by Python's own parser.

ast.parse only parses; safe_ast.validate then decides what of Python may
stay. Conditions copied from XML often span lines, so a text that does not
parse as it is gets a second try inside parentheses.
"""
from __future__ import annotations

import ast

from .errors import syntax_error
from .parsing import shift_columns

__all__ = ["parse_python"]


def parse_python(text: str, lead: int) -> ast.Expression:
    """text (which starts with lead characters of white space) as an ast.Expression."""
    body = text.strip()
    try:
        tree = ast.parse(body, mode="eval")
        shift = lead
    except SyntaxError as first:
        try:  # conditions copied from XML often span lines: allow that
            tree = ast.parse("(" + body + "\n)", mode="eval")
            shift = lead - 1
        except SyntaxError:
            raise _first_error(text, lead, body, first) from None
    shift_columns(tree, shift)
    return tree


def _first_error(text, lead, body, first):
    """The ExpressionError for Python's first SyntaxError, placed in the whole text."""
    lines = body.split("\n")
    line = min(max(first.lineno or 1, 1), len(lines))
    detail = first.msg
    if not first.offset:  # Python reports errors at the end of the input with offset 0
        offset = len(lines[line - 1])
        if detail == "invalid syntax":
            detail = "unexpected end of expression"
    else:
        offset = min(first.offset - 1, len(lines[line - 1]))
    absolute = lead + sum(len(x) + 1 for x in lines[: line - 1]) + offset
    return syntax_error(text, absolute, detail)
