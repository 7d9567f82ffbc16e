"""Safe evaluation of BPMN conditions and expressions: Python-like, Camunda 7 JUEL (${...}) and Camunda 8 FEEL (=...).

One small parser per dialect (python_like, juel, feel; dialects chooses
which) turns the text into the same restricted Python AST (safe_ast checks
it), and one evaluator runs it through simpleeval: small, well kept, and it
walks a whitelist of AST nodes (no eval). What an expression may call is in
functions, what its operators do in operators, how large anything may get in
limits. JUEL keeps EL's meaning: its comparisons and boolean operators
coerce as EL does (el_coercion).

Layers, each importing only those above it: errors, limits; operators,
functions (with el_coercion); safe_ast; parsing; python_like, juel, feel;
evaluator; dialects; this module.

The JUEL and FEEL parsers are our own: the FEEL parsers on PyPI evaluate
their own trees (outside this evaluator's limits) and none parses JUEL.
"""
from __future__ import annotations

import functools

from .dialects import compile_text
from .errors import ExpressionError
from .evaluator import CompiledExpression

__all__ = [
    "ExpressionError",
    "CompiledExpression",
    "compile_expression",
    "evaluate",
    "variables_used",
]


@functools.lru_cache(maxsize=4096)
def _compile_cached(text):
    return compile_text(text)


def compile_expression(text: str | CompiledExpression) -> CompiledExpression:
    """Parse and check an expression once (cached by text); raises ExpressionError."""
    if isinstance(text, CompiledExpression):
        return text
    if not isinstance(text, str):
        raise ExpressionError(f"expression must be a string, not {type(text).__name__}",
                              repr(text))
    return _compile_cached(text)


compile_expression.cache_clear = _compile_cached.cache_clear  # type: ignore[attr-defined]


def evaluate(text: str | CompiledExpression, variables=None):
    """Compile (cached) and evaluate an expression; raises ExpressionError."""
    return compile_expression(text).evaluate(variables)


def variables_used(text: str | CompiledExpression) -> set[str]:
    """Top-level variable names an expression reads (for lint): `order.total` gives {'order'}."""
    return compile_expression(text).variables_used()
