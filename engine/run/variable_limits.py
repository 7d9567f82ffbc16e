"""What may become process variables: JSON values, finite numbers, within a size limit.

Every way in — start data, a handler's result or BpmnError variables, a
message's data, the data completing a user task — goes through `checked`, so
that a value the database would refuse (a set, a datetime, NaN, which
PostgreSQL's JSONB rejects) or one that would bloat it (a 45 MB start copied
into every task row) is refused before anything is written, naming the
variable.
"""
import json
import math
import os

DEFAULT_MAX_BYTES = 1024 * 1024
LIMIT_SETTING = "MAESTRO_MAX_VARIABLES_BYTES"
# Made once: json.dumps with any non-default option builds a new encoder per call (this is per handler call).
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)


class VariablesRefused(ValueError):
    """Values that cannot become process variables; `too_large` tells a size refusal apart."""

    def __init__(self, message: str, too_large: bool = False):
        super().__init__(message)
        self.too_large = too_large


def max_bytes() -> int:
    """The limit on one set of values (MAESTRO_MAX_VARIABLES_BYTES, default 1 MiB)."""
    setting = os.environ.get(LIMIT_SETTING)
    if not setting:
        return DEFAULT_MAX_BYTES
    try:
        return int(setting)
    except ValueError:
        raise VariablesRefused(f"{LIMIT_SETTING} must be a whole number of bytes, not {setting!r}") from None


def checked(values: object, source: str) -> dict:
    """`values` if it is a dict of JSON values within the limit; VariablesRefused naming `source`
    (e.g. "what the handler for topic 'charge' returned") and the variable otherwise."""
    if not isinstance(values, dict):
        raise VariablesRefused(f"{source} is a {type(values).__name__}, not a dict of variables")
    try:
        text = _ENCODER.encode(values)
        size = len(text.encode("utf-8"))
        problem = _first_problem(values) if "\\u0000" in text else None  # NUL: PostgreSQL refuses it
    except (TypeError, ValueError, RecursionError):  # a lone surrogate's UnicodeEncodeError is a ValueError
        problem = _first_problem(values) or "the values cannot be stored as JSON"
    if problem:
        raise VariablesRefused(f"{source}: {problem}")
    limit = max_bytes()
    if size > limit:
        raise VariablesRefused(f"{source} is {_amount(size)} of JSON, over the limit of {_amount(limit)} "
                               f"({LIMIT_SETTING}){_largest(values)}", too_large=True)
    return values


def storable(values: dict, source: str) -> dict:
    """`values` if the database can store every one (JSON, finite, no NUL); VariablesRefused naming the
    variable otherwise. No size limit: a script's variables are bounded by the sandbox's own."""
    problem = _first_problem(values)
    if problem:
        raise VariablesRefused(f"{source}: {problem}")
    return values


def _first_problem(values):
    """Which variable holds what JSON (or PostgreSQL) cannot store: the path to it and why; None if none."""
    if _bad_key(values) is not None:
        return f"the variable name {_bad_key(values)!r} is of type {type(_bad_key(values)).__name__}, not a string"
    stack = [(f"variable '{name}'", value) for name, value in reversed(values.items())]
    seen = set()
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return f"{path} contains a NUL character (\\u0000), which PostgreSQL cannot store"
            if not value.isascii() and _has_lone_surrogate(value):
                return f"{path} contains a lone surrogate, which is not text UTF-8 can store"
            continue
        if isinstance(value, float) and not math.isfinite(value):
            return f"{path} is {value}, which JSON (and PostgreSQL) cannot store; use null or a string"
        if isinstance(value, (int, float, bool)) or value is None:
            continue
        if id(value) in seen:
            return f"{path} contains itself"
        seen.add(id(value))
        if isinstance(value, dict):
            if _bad_key(value) is not None:
                return f"{path} has a key {_bad_key(value)!r} of type {type(_bad_key(value)).__name__}; " \
                       "keys must be strings"
            stack.extend((f"{path}[{key!r}]", item) for key, item in reversed(value.items()))
        elif isinstance(value, (list, tuple)):
            stack.extend((f"{path}[{index}]", item) for index, item in reversed(list(enumerate(value))))
        else:
            return f"{path} is of type {type(value).__name__}, which is not a JSON value (use a string, " \
                   "number, boolean, null, list or dict)"
    return None


def _bad_key(mapping):
    """A key JSON cannot write (it writes numbers, booleans and null as strings), or None."""
    return next((key for key in mapping if key is not None and not isinstance(key, (str, int, float, bool))), None)


def _has_lone_surrogate(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _largest(values):
    if not values:
        return ""
    name, size = max(((name, len(json.dumps(value, ensure_ascii=False))) for name, value in values.items()),
                     key=lambda pair: pair[1])
    return f"; the largest variable is '{name}' ({_amount(size)})"


def _amount(size):
    for unit, factor in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} bytes"
