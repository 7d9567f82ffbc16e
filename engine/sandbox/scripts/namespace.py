"""What a script's globals hold: the builtins it may call (some wrapped to limit sizes),
`print` (logged, not written out), and the guard functions RestrictedPython's rewritten code
calls by name."""
from __future__ import annotations

import logging

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence

from .guards import apply, guarded_getattr, guarded_getitem, guarded_write, rethrow_memory_error
from .limits import MAX_INT_BITS, MAX_SIZE
from .operators import binop, check_text_size, format_value, inplacevar, power, refuse, star

_log = logging.getLogger("maestro.scripts")


class _PrintCollector:
    """`print` in scripts: goes to the 'maestro.scripts' logger at DEBUG level."""

    def __init__(self, _getattr_=None):
        pass

    def __call__(self):  # the `printed` variable
        return ""

    def _call_print(self, *objects, **kwargs):
        text = " ".join(_safe_str(o) for o in objects)
        _log.debug("script print: %s", text[:1000])


# ---------------------------------------------------------------------------
# Builtins


def _safe_str(*args):
    if args:
        check_text_size(args[0], "str()")
    return str(*args)


def _safe_repr(value):
    return repr(check_text_size(value, "repr()"))


def _safe_range(*args):
    result = range(*args)
    if len(result) > MAX_SIZE:
        raise refuse(f"range() is limited to {MAX_SIZE} numbers")
    return result


def _safe_sum(iterable, start=0):
    if not isinstance(start, (int, float)):
        raise TypeError("sum() only adds numbers in scripts")
    total = start
    for item in iterable:
        if not isinstance(item, (int, float)):
            raise TypeError("sum() only adds numbers in scripts")
        total = total + item
        if isinstance(total, int) and total.bit_length() > MAX_INT_BITS:
            raise refuse("sum() would be too large a number")
    return total


def _safe_round(number, ndigits=None):
    if ndigits is None:
        return round(number)
    if not isinstance(ndigits, int) or abs(ndigits) > 300:
        raise ValueError("round(): ndigits out of range")
    return round(number, ndigits)


_TYPE_ALIASES = {id(_safe_str): str, id(_safe_range): range}


def _safe_isinstance(obj, classinfo):
    """isinstance() that understands the guarded `str` and `range` builtins."""
    if isinstance(classinfo, tuple):
        classinfo = tuple(_TYPE_ALIASES.get(id(c), c) for c in classinfo)
    else:
        classinfo = _TYPE_ALIASES.get(id(classinfo), classinfo)
    return isinstance(obj, classinfo)


_EXCEPTIONS = [
    ArithmeticError, AssertionError, AttributeError, Exception, IndexError, KeyError,
    LookupError, NameError, NotImplementedError, OverflowError, RecursionError, RuntimeError,
    StopIteration, TypeError, UnicodeError, ValueError, ZeroDivisionError,
]

_BUILTINS = {
    "None": None, "True": True, "False": False,
    "abs": abs, "all": all, "any": any, "bool": bool, "chr": chr, "dict": dict,
    "divmod": divmod, "enumerate": enumerate, "filter": filter, "float": float,
    "frozenset": frozenset, "hex": hex, "int": int, "isinstance": _safe_isinstance, "len": len,
    "list": list, "map": map, "max": max, "min": min, "oct": oct, "ord": ord, "pow": power,
    "range": _safe_range, "repr": _safe_repr, "reversed": reversed, "round": _safe_round,
    "set": set, "slice": slice, "sorted": sorted, "str": _safe_str, "sum": _safe_sum,
    "tuple": tuple, "zip": zip,
    **{e.__name__: e for e in _EXCEPTIONS},
}

GUARDS = {
    "__builtins__": _BUILTINS,
    "__name__": "maestro_script",
    "_getattr_": guarded_getattr,
    "_getitem_": guarded_getitem,
    "_getiter_": iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": guarded_write,
    "_inplacevar_": inplacevar,
    "_apply_": apply,
    "_print_": _PrintCollector,
    "_maestro_binop_": binop,
    "_maestro_fmt_": format_value,
    "_maestro_star_": star,
    "_maestro_exception_": Exception,
    "_maestro_rethrow_": rethrow_memory_error,
}
