"""What an expression may call, and the names every dialect knows besides its variables.

FUNCTIONS is the public whitelist a Python-like expression can call by name
(JUEL and FEEL reach it too). HELPERS are what the JUEL and FEEL parsers
compile their own operators and built-ins to: their names start with '@',
which no Python-like expression can spell, so only a parser can produce a
call to one. The evaluator runs ALL_FUNCTIONS and nothing else.
"""
from __future__ import annotations

import math
import operator
from collections.abc import Mapping

import simpleeval

from engine.sandbox.sizes import weight

from . import el_coercion
from .limits import MAX_ROUND_DIGITS, check_int, string_limit, too_big

__all__ = ["LOWERCASE_CONSTANTS", "FUNCTIONS", "PUBLIC_FUNCTIONS", "HELPERS", "ALL_FUNCTIONS"]

# true/false/null: keywords in JUEL and FEEL, and names a Python-like expression may use.
LOWERCASE_CONSTANTS = {"true": True, "false": False, "null": None}


# ---------------------------------------------------------------------------
# The public whitelist


def _safe_str(*args):
    if args and weight(args[0], string_limit()) > string_limit():
        raise too_big("converting that value to text")
    return str(*args)


def _safe_round(number, ndigits=None):
    if ndigits is None:
        return round(number)
    if not isinstance(ndigits, int) or abs(ndigits) > MAX_ROUND_DIGITS:
        raise simpleeval.FeatureNotAvailable("round(): ndigits out of range")
    return round(number, ndigits)


def _numbers_only(values, what):
    values = list(values)
    for v in values:
        if not isinstance(v, (int, float)):
            raise TypeError(f"{what}() only works on numbers, got {type(v).__name__}")
    return values


def _safe_sum(iterable, start=0):
    if not isinstance(start, (int, float)):
        raise TypeError("sum() start value must be a number")
    return check_int(sum(_numbers_only(iterable, "sum"), start))


FUNCTIONS = {
    "len": len,
    "str": _safe_str,
    "int": int,
    "float": float,
    "abs": abs,
    "min": min,
    "max": max,
    "round": _safe_round,
    "bool": bool,
    "sum": _safe_sum,
    "any": any,
    "all": all,
    "sorted": sorted,
}
PUBLIC_FUNCTIONS = frozenset(FUNCTIONS)


# ---------------------------------------------------------------------------
# Helpers behind JUEL's and FEEL's operators and built-ins


def _empty(value):
    if value is None:
        return True
    if isinstance(value, (str, bytes, list, tuple, set, frozenset, Mapping)):
        return len(value) == 0
    return False


def _text(value, fn):
    if not isinstance(value, str):
        raise TypeError(f"{fn}() expects a string, got {type(value).__name__}")
    return value


def _args_or_list(args):
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        return list(args[0])
    return list(args)


def _feel_min(*args):
    values = _args_or_list(args)
    return min(values) if values else None


def _feel_max(*args):
    values = _args_or_list(args)
    return max(values) if values else None


def _feel_sum(*args):
    return check_int(sum(_numbers_only(_args_or_list(args), "sum")))


def _feel_index(container, index):
    if isinstance(index, bool) or not isinstance(index, (int, float)):
        if isinstance(container, Mapping) and isinstance(index, str):
            return container.get(index)
        raise TypeError("FEEL filters are not supported; use a numeric index")
    if index != int(index):
        raise TypeError("FEEL list index must be a whole number")
    index = int(index)
    if not isinstance(container, (list, tuple, str)):
        raise TypeError(f"cannot index a {type(container).__name__} value")
    if index > 0 and index <= len(container):
        return container[index - 1]
    if index < 0 and -index <= len(container):
        return container[index]
    return None


def _feel_in(value, tests):
    for test in tests:
        if isinstance(test, (list, tuple, set, frozenset)):
            if value in test:
                return True
        elif value == test:
            return True
    return False


def _feel_range(value, low, high, low_closed, high_closed):
    above = value >= low if low_closed else value > low
    below = value <= high if high_closed else value < high
    return above and below


def _feel_number(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = _text(value, "number").strip()
    if len(text) > 400:
        raise ValueError("number(): text too long")
    try:
        return int(text)
    except ValueError:
        return float(text)


def _feel_string(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _safe_str(value)


def _substring(value, start, length=None):
    text = _text(value, "substring")
    start = int(start)
    begin = start - 1 if start > 0 else len(text) + start
    begin = max(begin, 0)
    if length is None:
        return text[begin:]
    return text[begin:begin + int(length)]


def _decimal(number, scale):
    return _safe_round(number, int(scale))


HELPERS = {
    "@empty": _empty,
    "@not": operator.not_,
    "@strlen": lambda s: len(_text(s, "string length")),
    "@lower": lambda s: _text(s, "lower case").lower(),
    "@upper": lambda s: _text(s, "upper case").upper(),
    "@trim": lambda s: _text(s, "trim").strip(),
    "@contains": lambda s, sub: _text(sub, "contains") in _text(s, "contains"),
    "@startswith": lambda s, p: _text(s, "starts with").startswith(_text(p, "starts with")),
    "@endswith": lambda s, p: _text(s, "ends with").endswith(_text(p, "ends with")),
    "@list_contains": lambda seq, item: item in seq,
    "@count": lambda seq: len(seq),
    "@min": _feel_min,
    "@max": _feel_max,
    "@sum": _feel_sum,
    "@all": lambda *a: all(_args_or_list(a)),
    "@any": lambda *a: any(_args_or_list(a)),
    "@abs": abs,
    "@floor": math.floor,
    "@ceiling": math.ceil,
    "@number": _feel_number,
    "@string": _feel_string,
    "@substring": _substring,
    "@decimal": _decimal,
    "@index": _feel_index,
    "@in": _feel_in,
    "@range": _feel_range,
    # JUEL: EL coercion (el_coercion)
    "@el_bool": el_coercion.to_boolean,
    "@el_eq": el_coercion.equal,
    "@el_ne": el_coercion.not_equal,
    "@el_lt": el_coercion.less,
    "@el_gt": el_coercion.greater,
    "@el_le": el_coercion.less_or_equal,
    "@el_ge": el_coercion.greater_or_equal,
}
ALL_FUNCTIONS = {**FUNCTIONS, **HELPERS}
