"""How Camunda 7's JUEL compares and tests values: the coercions of the Expression Language.

A Camunda 7 diagram is written for JUEL, which follows EL 2.2/3.0 (JSR-341,
sections 1.8-1.10 and 1.23): `${approved == 'true'}` is true when `approved`
is the Boolean true, `${count == '1'}` when `count` is the number 1, and
`${2 < '10'}` compares numbers, not text. Python's operators would answer
differently and silently send the token down another path, so the JUEL
dialect of engine.sandbox.expressions (juel.py) compiles its comparisons and its boolean
operators to the functions here. Where EL raises an error (a string that is
not a number compared with a number, a number used as a boolean), so do they:
the diagram would fail in Camunda too.

Python values stand for Java ones: bool for Boolean, int for Long (or
BigInteger), float for Double, str for String, None for null; lists and dicts
are Collections and Maps, which EL neither coerces nor orders.
"""
import operator
import re

__all__ = ["CoercionError", "to_boolean", "equal", "not_equal", "less", "greater", "less_or_equal",
           "greater_or_equal"]

# Java's Long.valueOf and Double.valueOf: what they accept is all a string may be to count as a number.
_LONG = re.compile(r"[+-]?\d+")
_DOUBLE = re.compile(r"[+-]?(?:NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fFdD]?)")


class CoercionError(Exception):
    """An EL coercion that EL itself refuses: the expression fails, as it would in Camunda."""


def _shown(value):
    """A value as an error message shows it, with its EL type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    return f"a {'list' if isinstance(value, (list, tuple)) else type(value).__name__}"


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def to_boolean(value) -> bool:
    """EL 1.23.2: null and "" are false, a string is true when it says "true" (any case), else an error."""
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.lower() == "true"
    raise CoercionError(f"EL cannot use {_shown(value)} as a boolean (only booleans and strings are coerced)")


def _to_whole_number(value, other):
    """EL 1.23.3 to Long: what a whole number is compared with must read as a whole number."""
    if value == "":
        return 0
    if _is_number(value):
        return int(value)
    if isinstance(value, str) and _LONG.fullmatch(value):
        return int(value)
    raise CoercionError(f"EL compares {_shown(other)} with {_shown(value)} as whole numbers, "
                        f"and {_shown(value)} is not one")


def _to_decimal_number(value, other):
    """EL 1.23.3 to Double: what a decimal number is compared with must read as a number."""
    if value == "":
        return 0.0
    if _is_number(value):
        return float(value)
    if isinstance(value, str) and _DOUBLE.fullmatch(value.strip()):
        return float(value.strip().rstrip("fFdD"))
    raise CoercionError(f"EL compares {_shown(other)} with {_shown(value)} as numbers, "
                        f"and {_shown(value)} is not a number")


def _as_numbers(a, b):
    """Both operands as numbers when either is one (EL: Double if either is, else Long), or None."""
    if isinstance(a, float) or isinstance(b, float):
        return _to_decimal_number(a, b), _to_decimal_number(b, a)
    if _is_number(a) or _is_number(b):
        return _to_whole_number(a, b), _to_whole_number(b, a)
    return None


def _to_string(value, other):
    """EL 1.23.1, for the values whose text Camunda and Python agree on: strings and booleans."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    raise CoercionError(f"EL would compare the Java text of {_shown(value)} with {_shown(other)}; "
                        "Maestro does not: compare a property of it instead")


def equal(a, b) -> bool:
    """EL 1.8.2 `==`/`eq`: null equals only null; numbers, then booleans, then strings are coerced."""
    if a is b:
        return True
    if a is None or b is None:
        return False
    numbers = _as_numbers(a, b)
    if numbers is not None:
        return numbers[0] == numbers[1]
    if isinstance(a, bool) or isinstance(b, bool):
        return to_boolean(a) == to_boolean(b)
    if isinstance(a, str) or isinstance(b, str):
        return _to_string(a, b) == _to_string(b, a)
    return a == b


def not_equal(a, b) -> bool:
    """EL 1.8.2 `!=`/`ne`: the negation of `==`."""
    return not equal(a, b)


def _relational(a, b, compare, reflexive):
    """EL 1.8.1: null is neither less nor greater than anything; numbers, then strings are coerced."""
    if a is b and reflexive:
        return True
    if a is None or b is None:
        return False
    numbers = _as_numbers(a, b)
    if numbers is not None:
        return compare(*numbers)
    if isinstance(a, str) or isinstance(b, str):
        return compare(_to_string(a, b), _to_string(b, a))
    if isinstance(a, bool) and isinstance(b, bool):
        return compare(a, b)
    raise CoercionError(f"EL cannot order {_shown(a)} and {_shown(b)}")


def less(a, b) -> bool:
    return _relational(a, b, operator.lt, False)


def greater(a, b) -> bool:
    return _relational(a, b, operator.gt, False)


def less_or_equal(a, b) -> bool:
    return _relational(a, b, operator.le, True)


def greater_or_equal(a, b) -> bool:
    return _relational(a, b, operator.ge, True)
