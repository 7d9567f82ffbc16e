"""What a script's operators may build: `+`, `*`, `**`, `<<` and `%` (and their in-place
forms), `*` unpacking and f-string values go through these guards (policy rewrites them into
calls), which refuse results past MAX_SIZE items or characters or MAX_INT_BITS bits."""
from __future__ import annotations

import itertools
import operator

from engine.sandbox.sizes import weight

from .errors import ScriptError
from .limits import MAX_INT_BITS, MAX_SIZE


def refuse(message):
    return ScriptError(message)


def check_text_size(value, what):
    if weight(value, MAX_SIZE) > MAX_SIZE:
        raise refuse(f"{what}: the value is too large to turn into text")
    return value


def _sized(value):
    return isinstance(value, (str, bytes, list, tuple))


def _add(a, b):
    if _sized(a) and _sized(b) and len(a) + len(b) > MAX_SIZE:
        raise refuse("result of '+' would be too large")
    return a + b


def _mult(a, b):
    for seq, n in ((a, b), (b, a)):
        if _sized(seq) and isinstance(n, int) and n > 0 and n * len(seq) > MAX_SIZE:
            raise refuse("result of '*' would be too large")
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
        raise refuse("result of '*' would be too large a number")
    return a * b


def power(a, b, mod=None):
    if mod is None and isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
        if b > MAX_INT_BITS or a.bit_length() * b > MAX_INT_BITS:
            raise refuse("result of '**' would be too large a number")
    if mod is None:
        return a ** b
    return pow(a, b, mod)


def _lshift(a, b):
    if isinstance(a, int) and isinstance(b, int) and b > 0 and a.bit_length() + b > MAX_INT_BITS:
        raise refuse("result of '<<' would be too large a number")
    return a << b


def _mod(a, b):
    if isinstance(a, (str, bytes)):
        raise refuse("'%' string formatting is not allowed in scripts (use an f-string)")
    return a % b


_BINOPS = {"+": _add, "*": _mult, "**": power, "<<": _lshift, "%": _mod}


def binop(symbol, a, b):
    return _BINOPS[symbol](a, b)


def grow_list(target, items):
    if not hasattr(items, "__len__"):
        items = list(itertools.islice(items, MAX_SIZE + 1))
    if len(target) + len(items) > MAX_SIZE:
        raise refuse("list would grow too large")
    return items


def _inplace_add(x, y):
    if isinstance(x, list):
        y = grow_list(x, y)
        x += y
        return x
    return _add(x, y)


def _inplace_mult(x, y):
    if isinstance(x, list):
        _mult(x, y)  # size check only
        x *= y
        return x
    return _mult(x, y)


_INPLACE = {
    "+=": _inplace_add, "-=": operator.isub, "*=": _inplace_mult, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": _mod, "**=": power, "<<=": _lshift,
    ">>=": operator.irshift, "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor,
}


def inplacevar(op, x, y):
    try:
        function = _INPLACE[op]
    except KeyError:
        raise refuse(f"operator '{op}' is not allowed in scripts") from None
    return function(x, y)


def star(value):
    if not hasattr(value, "__len__"):
        value = list(itertools.islice(value, MAX_SIZE + 1))
    if len(value) > MAX_SIZE:
        raise refuse("'*' unpacking of too many items")
    return value


def format_value(value):
    return check_text_size(value, "f-string")

