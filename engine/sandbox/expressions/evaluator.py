"""The one safe evaluator: how a compiled expression runs against a process's variables.

simpleeval walks the tree and calls nothing outside its tables (no eval):
here its operators are the guarded ones of operators, its functions those
of functions, names come from the variables (then true/false/null), dotted
access reads dict keys only, and only functions called by plain name run.
Every dialect's tree runs here, so every dialect has the same limits, and
whatever goes wrong becomes an ExpressionError naming the source text.
"""
from __future__ import annotations

import ast
from collections.abc import Mapping

import simpleeval

from . import el_coercion
from .errors import ExpressionError, Invalid
from .functions import ALL_FUNCTIONS, LOWERCASE_CONSTANTS
from .operators import OPERATORS
from .safe_ast import column_of, describe, kind

__all__ = ["CompiledExpression"]

# Node types simpleeval would otherwise run; safe_ast refuses them first, this is the second lock.
_NODES_REMOVED = (ast.ListComp, ast.GeneratorExp, ast.DictComp, ast.JoinedStr, ast.FormattedValue,
                  ast.Assign, ast.AugAssign, ast.Import, ast.Expr)


class _Evaluator(simpleeval.EvalWithCompoundTypes):
    """simpleeval with names from the variables, dict-only dotted access and whitelisted calls."""

    def __init__(self, variables):
        super().__init__(operators=OPERATORS, functions=dict(ALL_FUNCTIONS), names={})
        self.functions = ALL_FUNCTIONS
        self.ATTR_INDEX_FALLBACK = False
        self.variables = variables
        for node_type in _NODES_REMOVED:
            self.nodes.pop(node_type, None)

    def _eval_name(self, node):
        name = node.id
        try:
            return self.variables[name]
        except KeyError:
            pass
        if name in LOWERCASE_CONSTANTS:
            return LOWERCASE_CONSTANTS[name]
        raise Invalid(f"unknown variable '{name}'", column_of(node))

    def _eval_attribute(self, node):
        attr = node.attr
        if attr.startswith("_") or attr in simpleeval.DISALLOW_METHODS:
            raise Invalid(f"attribute '{attr}' is not allowed", column_of(node))
        base = self._eval(node.value)
        if isinstance(base, Mapping):
            try:
                return base[attr]
            except KeyError:
                raise Invalid(f"'{describe(node.value)}' has no key '{attr}'", column_of(node)) from None
        raise Invalid(f"cannot read '.{attr}' of '{describe(node.value)}': it is {kind(base)}, "
                      "and dotted access only works on objects (dicts)", column_of(node))

    def _eval_subscript(self, node):
        container = self._eval(node.value)
        key = self._eval(node.slice)
        try:
            return container[key]
        except KeyError:
            raise Invalid(f"'{describe(node.value)}' has no key {key!r}", column_of(node)) from None
        except IndexError:
            raise Invalid(f"index {key!r} is out of range for '{describe(node.value)}'",
                          column_of(node)) from None

    def _eval_call(self, node):
        func = node.func
        if not isinstance(func, ast.Name) or func.id not in self.functions:
            raise Invalid(f"cannot call '{describe(func)}'", column_of(node))
        function = self.functions[func.id]
        args = [self._eval(a) for a in node.args]
        kwargs = {k.arg: self._eval(k.value) for k in node.keywords}
        return function(*args, **kwargs)


class CompiledExpression:
    """A checked expression, ready to evaluate against a dict of variables."""

    __slots__ = ("source", "dialect", "_tree")

    def __init__(self, source: str, dialect: str, tree: ast.Expression):
        self.source = source
        self.dialect = dialect  # 'python', 'juel' or 'feel'
        self._tree = tree

    def __repr__(self):
        return f"CompiledExpression({self.source!r}, dialect={self.dialect!r})"

    @property
    def tree(self) -> ast.Expression:
        return self._tree

    def evaluate(self, variables: Mapping | None = None):
        """The expression's value with these variables; raises ExpressionError."""
        if variables is None:
            variables = {}
        if not isinstance(variables, Mapping):
            raise ExpressionError("variables must be a dict", self.source)
        evaluator = _Evaluator(variables)
        try:
            return evaluator.eval(self.source, previously_parsed=self._tree.body)
        except Exception as exc:
            raise _evaluation_error(exc, self.source) from None

    def variables_used(self) -> set[str]:
        """Top-level variable names the expression reads (function names are not variables)."""
        names = set()
        stack: list[ast.AST] = [self._tree]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Call):
                stack.extend(node.args)
                stack.extend(k.value for k in node.keywords)
                continue
            if isinstance(node, ast.Name):
                if not (self.dialect == "python" and node.id in LOWERCASE_CONSTANTS):
                    names.add(node.id)
            stack.extend(ast.iter_child_nodes(node))
        return names


def _evaluation_error(exc: Exception, source: str) -> ExpressionError:
    """What to tell the author when evaluating source raised exc."""
    if isinstance(exc, Invalid):
        return ExpressionError(exc.message, source, exc.column)
    if isinstance(exc, (simpleeval.InvalidExpression, el_coercion.CoercionError)):
        return ExpressionError(str(exc), source)
    if isinstance(exc, ZeroDivisionError):
        return ExpressionError("division by zero", source)
    if isinstance(exc, RecursionError):
        return ExpressionError("expression or data is too deeply nested", source)
    if isinstance(exc, MemoryError):
        return ExpressionError("expression needs too much memory", source)
    if isinstance(exc, TypeError):
        return ExpressionError(f"type error: {exc}", source)
    return ExpressionError(f"{type(exc).__name__}: {exc}", source)  # anything else the operands raise
