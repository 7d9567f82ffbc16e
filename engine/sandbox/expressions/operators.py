"""The operators an expression may use, each guarded against huge results.

Python's own operators would let `'a' * 10**9` or `9 ** 9 ** 9` eat the
worker's memory or time; these check the size first (on top of simpleeval's
safe_add / safe_mult / safe_power) and refuse '%' string formatting.
Every dialect's AST uses exactly these operator nodes.
"""
from __future__ import annotations

import ast
import operator

import simpleeval

from engine.sandbox.sizes import weight

from .limits import MAX_INT_BITS, string_limit, too_big

__all__ = ["OPERATORS"]


def _safe_add(a, b):
    return simpleeval.safe_add(a, b)


def _safe_mult(a, b):
    for seq, n in ((a, b), (b, a)):
        if isinstance(seq, (str, bytes, list, tuple)) and isinstance(n, int):
            if n > 0 and n * weight(seq, string_limit()) > string_limit():
                raise too_big("repeating that sequence")
    if isinstance(a, int) and isinstance(b, int):
        if a.bit_length() + b.bit_length() > MAX_INT_BITS:
            raise simpleeval.NumberTooHigh("Sorry, that number would be too large.")
    return simpleeval.safe_mult(a, b)


def _safe_pow(a, b):
    if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
        if b > MAX_INT_BITS or a.bit_length() * b > MAX_INT_BITS:
            raise simpleeval.NumberTooHigh(f"Sorry! I don't want to evaluate {a} ** {b}")
    return simpleeval.safe_power(a, b)


def _safe_mod(a, b):
    if isinstance(a, (str, bytes)):
        raise simpleeval.FeatureNotAvailable("'%' string formatting is not allowed")
    return a % b


OPERATORS = {
    ast.Add: _safe_add,
    ast.Sub: operator.sub,
    ast.Mult: _safe_mult,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: _safe_mod,
    ast.Pow: _safe_pow,
    ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda x, y: operator.contains(y, x),
    ast.NotIn: lambda x, y: not operator.contains(y, x),
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.Not: operator.not_,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Invert: operator.invert,
}
