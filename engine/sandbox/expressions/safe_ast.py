"""The one AST every dialect compiles to, and the check that keeps it safe.

Each parser (python_like, juel, feel) produces a Python `ast.Expression`;
validate() then refuses any node, name, attribute, literal or call outside
the whitelist before the evaluator ever sees the tree. The evaluator checks
names and attributes again as it runs, so a tree that slipped past here
still could not reach anything private.
"""
from __future__ import annotations

import ast

import simpleeval

from .errors import Invalid
from .functions import ALL_FUNCTIONS, PUBLIC_FUNCTIONS
from .limits import MAX_DEPTH, string_limit
from .operators import OPERATORS

__all__ = ["validate", "describe", "column_of", "kind"]

_ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.UnaryOp, ast.Compare,
    ast.IfExp, ast.Call, ast.keyword, ast.Name, ast.Load, ast.Constant, ast.Attribute,
    ast.Subscript, ast.Slice, ast.List, ast.Tuple, ast.Dict, ast.Set,
) + tuple(OPERATORS)

# How a refused node is named in the error (the node's class name otherwise).
_FRIENDLY = {
    ast.Lambda: "lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.JoinedStr: "an f-string",
    ast.FormattedValue: "an f-string",
    ast.NamedExpr: "':=' assignment",
    ast.Starred: "'*' unpacking",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.LShift: "'<<'",
    ast.RShift: "'>>'",
    ast.MatMult: "'@'",
}

_KINDS = {bool: "a boolean", int: "a number", float: "a number", str: "a string",
          list: "a list", tuple: "a list", set: "a set", type(None): "null"}


def kind(value) -> str:
    """What a value is, in words for an error message: 'a number', 'a list', 'null'."""
    return _KINDS.get(type(value), f"a {type(value).__name__} value")


def describe(node: ast.AST, limit: int = 60) -> str:
    """The node as source text, shortened, for an error message."""
    try:
        text = ast.unparse(node)
    except Exception:  # pragma: no cover - unparse of our own nodes should not fail
        text = type(node).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def column_of(node: ast.AST) -> int | None:
    """The node's 1-based column in the source text, or None."""
    col = getattr(node, "col_offset", None)
    return None if col is None else col + 1


def validate(tree: ast.Expression) -> None:
    """Refuse anything outside the whitelist; return nothing, raise Invalid."""
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise Invalid("expression is too deeply nested", column_of(node))
        if not isinstance(node, _ALLOWED_NODES):
            what = _FRIENDLY.get(type(node), type(node).__name__)
            raise Invalid(f"{what} is not allowed in expressions", column_of(node))
        if isinstance(node, ast.Call):
            _check_call(node)
            # the function name itself is not a variable: check only arguments
            stack.extend((child, depth + 1) for child in node.args)
            stack.extend((kw.value, depth + 1) for kw in node.keywords)
            continue
        _check_leaf(node)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _check_leaf(node):
    """Names, attributes, literals and dicts: the nodes with rules of their own besides calls."""
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise Invalid(f"names starting with '_' are not allowed: '{node.id}'", column_of(node))
    elif isinstance(node, ast.Attribute):
        if node.attr.startswith("_") or node.attr in simpleeval.DISALLOW_METHODS:
            raise Invalid(f"attribute '{node.attr}' is not allowed", column_of(node))
    elif isinstance(node, ast.Constant):
        value = node.value
        if not isinstance(value, (str, int, float, bool, type(None))):
            raise Invalid(f"literal {describe(node)} is not allowed", column_of(node))
        if isinstance(value, str) and len(value) > string_limit():
            raise Invalid("string literal is too long", column_of(node))
    elif isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):
            raise Invalid("'**' unpacking is not allowed in expressions", column_of(node))


def _check_call(node):
    """Only whitelisted functions, called by plain name, without '**' arguments."""
    func = node.func
    if isinstance(func, ast.Name) and func.id.startswith("_"):
        raise Invalid(f"names starting with '_' are not allowed: '{func.id}'", column_of(node))
    if isinstance(func, ast.Attribute):
        raise Invalid(f"method calls are not allowed: '{describe(node)}'", column_of(node))
    if not isinstance(func, ast.Name):
        raise Invalid(f"cannot call '{describe(func)}'", column_of(node))
    if func.id not in ALL_FUNCTIONS:
        allowed = ", ".join(sorted(PUBLIC_FUNCTIONS))
        raise Invalid(f"unknown function '{func.id}' (allowed: {allowed})", column_of(node))
    for kw in node.keywords:
        if kw.arg is None or kw.arg.startswith("_"):
            raise Invalid("'**' arguments are not allowed", column_of(node))
