"""Sandboxed Python for BPMN script tasks, with size, time and memory limits added by Maestro.
RestrictedPython (the maintained Zope sandbox) rewrites every attribute, item, iteration and write into
guard calls we control.

CompiledScript.run() runs the script in a sandbox process (engine.sandbox.script_process), where the
time and memory limits hold even against work done in C; run_in_process() is the sandbox itself,
which that process calls."""
from __future__ import annotations

import ast
import copy
import functools
import itertools
import logging
import operator
import re
import textwrap
import time
from collections.abc import Mapping

from RestrictedPython import compile_restricted_exec
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import RestrictingNodeTransformer, copy_locations

from .script_limits import MB, ScriptLimits
from .sizes import weight

__all__ = ["ScriptError", "CompiledScript", "compile_script", "current_limits"]

FILENAME = "<script>"
MAX_SCRIPT_LENGTH = 200_000  # characters
MAX_STEPS = 1_000_000  # statements, calls and comprehension items before "script ran too long"
MAX_SECONDS = 10.0  # wall clock (default of MAESTRO_SCRIPT_SECONDS), checked every CHECK_EVERY steps
MAX_MEMORY_GROWTH = 512 * MB  # bytes a run may allocate (default of MAESTRO_SCRIPT_MEMORY_MB)
MAX_RESULT_BYTES = 16 * MB  # the variables a script leaves, as JSON (default of MAESTRO_SCRIPT_RESULT_MB)
CHECK_EVERY = 8
MAX_SIZE = 1_000_000  # items or characters one operation may produce
MAX_INT_BITS = 100_000  # largest integer an operation may produce (~30,000 digits)
MAX_RESULT_NODES = 2_000_000  # values inspected when checking the result is JSON
MAX_RESULT_DEPTH = 500
MAX_FORMAT_NUMBER = 1000  # widths/precisions in f-string format specs

_log = logging.getLogger("maestro.scripts")


class ScriptError(Exception):
    """A script that does not compile, breaks a sandbox rule or fails while running.

    .message says what is wrong; .line is the 1-based line in the script, or None.
    """

    def __init__(self, message, line=None):
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self):
        return f"line {self.line}: {self.message}" if self.line else self.message


class _Abort(BaseException):
    """Raised when a limit is hit. Not an Exception, and scripts have no name that matches it."""

    def __init__(self, message, line):
        super().__init__(message)
        self.message = message
        self.line = line


# ---------------------------------------------------------------------------
# Compile-time checks (before RestrictedPython's own)

FORBIDDEN_NAMES = frozenset([
    "exec", "eval", "open", "compile", "getattr", "setattr", "delattr", "hasattr", "globals",
    "locals", "vars", "type", "dir", "__import__", "input", "breakpoint", "help", "memoryview",
    "object", "super", "classmethod", "staticmethod", "property", "exit", "quit",
    "BaseException", "SystemExit", "KeyboardInterrupt", "GeneratorExit", "__builtins__",
])
FORBIDDEN_ATTRIBUTES = frozenset(["format", "format_map", "mro"])


class _Checker(ast.NodeVisitor):
    def __init__(self):
        self.problem = None

    def fail(self, node, message):
        if self.problem is None:
            self.problem = ScriptError(message, getattr(node, "lineno", None))

    def visit_Import(self, node):
        self.fail(node, "import is not allowed in scripts")

    visit_ImportFrom = visit_Import

    def visit_ClassDef(self, node):
        self.fail(node, "class definitions are not allowed in scripts")

    def visit_With(self, node):
        self.fail(node, "'with' is not allowed in scripts")

    visit_AsyncWith = visit_With

    def visit_TryStar(self, node):  # pragma: no cover - Python 3.11+ syntax, rarely used
        self.fail(node, "'except*' is not allowed in scripts")

    def visit_Name(self, node):
        if node.id in FORBIDDEN_NAMES:
            self.fail(node, f"'{node.id}' is not allowed in scripts")

    def visit_Attribute(self, node):
        if node.attr.startswith("_"):
            self.fail(node, f"'{node.attr}': names starting with '_' are not allowed in scripts")
        elif node.attr in FORBIDDEN_ATTRIBUTES:
            hint = " (use an f-string)" if node.attr.startswith("format") else ""
            self.fail(node, f"'.{node.attr}' is not allowed in scripts{hint}")
        self.generic_visit(node)

    def visit_FormattedValue(self, node):
        spec = node.format_spec
        if spec is not None:
            parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
            if not all(isinstance(p, ast.Constant) and isinstance(p.value, str) for p in parts):
                self.fail(node, "f-string format specs must be constant")
            else:
                text = "".join(p.value for p in parts)
                if any(int(n) > MAX_FORMAT_NUMBER for n in re.findall(r"\d+", text)):
                    self.fail(node, "f-string width or precision is too large")
        self.visit(node.value)


def _side_effect_free(node):
    if isinstance(node, (ast.Name, ast.Constant)):
        return True
    if isinstance(node, ast.Attribute):
        return _side_effect_free(node.value)
    if isinstance(node, ast.Subscript):
        return _side_effect_free(node.value) and _side_effect_free(node.slice)
    if isinstance(node, ast.UnaryOp):
        return _side_effect_free(node.operand)
    if isinstance(node, ast.Tuple):
        return all(_side_effect_free(e) for e in node.elts)
    return False


def _tick_call(at):
    call = ast.Call(func=ast.Name("_maestro_tick_", ast.Load()), args=[], keywords=[])
    copy_locations(call, at)
    return call


# guard calls that may build something large count as a step (so memory is checked often)
_COUNTED_GUARDS = frozenset(["_maestro_binop_", "_maestro_star_", "_maestro_fmt_", "_apply_"])


class _Ticks(ast.NodeTransformer):
    """Count a step before every statement, call, comprehension item and lambda call, so any
    loop or recursion (even `while True: pass`) reaches the step limit, and the time and memory
    checks run even inside one long statement."""

    def visit_Call(self, node):
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Name) and func.id.startswith("_"):
            slicing = (func.id == "_getitem_" and len(node.args) == 2
                       and isinstance(node.args[1], ast.Slice))
            if func.id not in _COUNTED_GUARDS and not slicing:
                return node
        counted = ast.BoolOp(op=ast.And(), values=[_tick_call(node), node])
        copy_locations(counted, node)
        return counted

    def generic_visit(self, node):
        super().generic_visit(node)
        for field in ("body", "orelse", "finalbody"):
            statements = getattr(node, field, None)
            if isinstance(statements, list) and statements and isinstance(statements[0], ast.stmt):
                ticked = []
                for statement in statements:
                    tick = ast.Expr(value=_tick_call(statement))
                    copy_locations(tick, statement)
                    ticked.extend((tick, statement))
                setattr(node, field, ticked)
        return node

    def visit_Lambda(self, node):
        self.generic_visit(node)
        body = ast.BoolOp(op=ast.And(), values=[_tick_call(node.body), node.body])
        copy_locations(body, node.body)
        node.body = body
        return node

    def visit_comprehension(self, node):
        self.generic_visit(node)
        node.ifs.insert(0, _tick_call(node.iter))
        return node


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus guarded arithmetic, unpacking and f-string values,
    bare except narrowed to Exception, and step counting."""

    _GUARDED = {ast.Add: "+", ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<", ast.Mod: "%"}

    def visit_Module(self, node):
        node = super().visit_Module(node)
        return _Ticks().visit(node)

    def visit_AugAssign(self, node):
        """`d[k] += 1` and `d.total -= 5` (refused by RestrictedPython) become
        `d[k] = d[k] + 1`, when evaluating the target twice has no side effects."""
        target = node.target
        if isinstance(target, (ast.Subscript, ast.Attribute)) and _side_effect_free(target):
            load = copy.deepcopy(target)
            load.ctx = ast.Load()
            assign = ast.Assign(targets=[target],
                                value=ast.BinOp(left=load, op=node.op, right=node.value))
            copy_locations(assign, node)
            copy_locations(assign.value, node)
            return self.visit(assign)
        return super().visit_AugAssign(node)

    def visit_BinOp(self, node):
        node = super().visit_BinOp(node)
        symbol = self._GUARDED.get(type(node.op))
        if symbol is None:
            return node
        call = ast.Call(func=ast.Name("_maestro_binop_", ast.Load()),
                        args=[ast.Constant(symbol), node.left, node.right], keywords=[])
        copy_locations(call, node)
        return call

    def visit_Starred(self, node):
        node = super().visit_Starred(node)
        if isinstance(node.ctx, ast.Load):
            call = ast.Call(func=ast.Name("_maestro_star_", ast.Load()), args=[node.value],
                            keywords=[])
            copy_locations(call, node.value)
            node.value = call
        return node

    def visit_Dict(self, node):
        node = super().visit_Dict(node)
        for i, key in enumerate(node.keys):
            if key is None:  # {**mapping}
                call = ast.Call(func=ast.Name("_maestro_star_", ast.Load()),
                                args=[node.values[i]], keywords=[])
                copy_locations(call, node.values[i])
                node.values[i] = call
        return node

    def visit_FormattedValue(self, node):
        node = super().visit_FormattedValue(node)
        call = ast.Call(func=ast.Name("_maestro_fmt_", ast.Load()), args=[node.value], keywords=[])
        copy_locations(call, node.value)
        node.value = call
        return node

    def visit_ExceptHandler(self, node):
        node = super().visit_ExceptHandler(node)
        if node.type is None:  # bare 'except:' catches Exception only
            node.type = ast.Name("_maestro_exception_", ast.Load())
            copy_locations(node.type, node)
        # MemoryError is how the sandbox process's memory limit shows: no script may swallow it
        if node.name is None:
            node.name = "_maestro_caught_"
        rethrow = ast.Expr(ast.Call(func=ast.Name("_maestro_rethrow_", ast.Load()),
                                    args=[ast.Name(node.name, ast.Load())], keywords=[]))
        copy_locations(rethrow, node)
        node.body.insert(0, rethrow)
        return node


# ---------------------------------------------------------------------------
# Size guards


def _refuse(message):
    return ScriptError(message)


def _check_text_size(value, what):
    if weight(value, MAX_SIZE) > MAX_SIZE:
        raise _refuse(f"{what}: the value is too large to turn into text")
    return value


def _sized(value):
    return isinstance(value, (str, bytes, list, tuple))


def _add(a, b):
    if _sized(a) and _sized(b) and len(a) + len(b) > MAX_SIZE:
        raise _refuse("result of '+' would be too large")
    return a + b


def _mult(a, b):
    for seq, n in ((a, b), (b, a)):
        if _sized(seq) and isinstance(n, int) and n > 0 and n * len(seq) > MAX_SIZE:
            raise _refuse("result of '*' would be too large")
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
        raise _refuse("result of '*' would be too large a number")
    return a * b


def _power(a, b, mod=None):
    if mod is None and isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
        if b > MAX_INT_BITS or a.bit_length() * b > MAX_INT_BITS:
            raise _refuse("result of '**' would be too large a number")
    if mod is None:
        return a ** b
    return pow(a, b, mod)


def _lshift(a, b):
    if isinstance(a, int) and isinstance(b, int) and b > 0 and a.bit_length() + b > MAX_INT_BITS:
        raise _refuse("result of '<<' would be too large a number")
    return a << b


def _mod(a, b):
    if isinstance(a, (str, bytes)):
        raise _refuse("'%' string formatting is not allowed in scripts (use an f-string)")
    return a % b


_BINOPS = {"+": _add, "*": _mult, "**": _power, "<<": _lshift, "%": _mod}


def _binop(symbol, a, b):
    return _BINOPS[symbol](a, b)


def _grow_list(target, items):
    if not hasattr(items, "__len__"):
        items = list(itertools.islice(items, MAX_SIZE + 1))
    if len(target) + len(items) > MAX_SIZE:
        raise _refuse("list would grow too large")
    return items


def _inplace_add(x, y):
    if isinstance(x, list):
        y = _grow_list(x, y)
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
    "//=": operator.ifloordiv, "%=": _mod, "**=": _power, "<<=": _lshift,
    ">>=": operator.irshift, "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor,
}


def _inplacevar(op, x, y):
    try:
        function = _INPLACE[op]
    except KeyError:
        raise _refuse(f"operator '{op}' is not allowed in scripts") from None
    return function(x, y)


def _star(value):
    if not hasattr(value, "__len__"):
        value = list(itertools.islice(value, MAX_SIZE + 1))
    if len(value) > MAX_SIZE:
        raise _refuse("'*' unpacking of too many items")
    return value


def _format_value(value):
    return _check_text_size(value, "f-string")


# ---------------------------------------------------------------------------
# Attribute, item and write guards

_STR_ATTRS = frozenset([
    "capitalize", "casefold", "center", "count", "encode", "endswith", "expandtabs", "find",
    "index", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier", "islower",
    "isnumeric", "isprintable", "isspace", "istitle", "isupper", "join", "ljust", "lower",
    "lstrip", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex", "rjust",
    "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase",
    "title", "upper", "zfill",
])
_NUMBER_ATTRS = frozenset(["real", "imag", "conjugate", "bit_length", "is_integer",
                           "numerator", "denominator", "as_integer_ratio"])
_SET_READ = frozenset(["copy", "difference", "intersection", "isdisjoint", "issubset",
                       "issuperset", "symmetric_difference", "union"])
_SAFE_ATTRS = {
    bool: frozenset(),
    int: _NUMBER_ATTRS,
    float: _NUMBER_ATTRS,
    str: _STR_ATTRS,
    bytes: frozenset(["decode"]),
    list: frozenset(["append", "clear", "copy", "count", "extend", "index", "insert", "pop",
                     "remove", "reverse", "sort"]),
    tuple: frozenset(["count", "index"]),
    dict: frozenset(["clear", "copy", "get", "items", "keys", "pop", "popitem", "setdefault",
                     "update", "values"]),
    set: _SET_READ | {"add", "clear", "discard", "pop", "remove", "update",
                      "difference_update", "intersection_update",
                      "symmetric_difference_update"},
    frozenset: _SET_READ,
}


def _width_guard(method, what):
    @functools.wraps(method)
    def guarded(width, *args):
        if isinstance(width, int) and width > MAX_SIZE:
            raise _refuse(f"str.{what}(): width is too large")
        return method(width, *args)
    return guarded


def _str_method(text, name, method):
    if name in ("center", "ljust", "rjust", "zfill"):
        return _width_guard(method, name)
    if name == "expandtabs":
        def expandtabs(tabsize=8):
            if isinstance(tabsize, int) and len(text) + text.count("\t") * tabsize > MAX_SIZE:
                raise _refuse("str.expandtabs(): result would be too large")
            return method(tabsize)
        return expandtabs
    if name == "replace":
        def replace(old, new, count=-1):
            if isinstance(old, str) and isinstance(new, str) and len(new) > len(old):
                hits = text.count(old) if old else len(text) + 1
                if count >= 0:
                    hits = min(hits, count)
                if len(text) + hits * (len(new) - len(old)) > MAX_SIZE:
                    raise _refuse("str.replace(): result would be too large")
            return method(old, new, count)
        return replace
    if name == "join":
        def join(iterable):
            items = list(itertools.islice(iterable, MAX_SIZE + 1))
            size = len(text) * max(len(items) - 1, 0)
            for item in items:
                size += len(item) if isinstance(item, str) else 0
                if size > MAX_SIZE:
                    raise _refuse("str.join(): result would be too large")
            return method(items)
        return join
    return method


_KINDS = {bool: "a boolean", int: "a number", float: "a number", str: "a string",
          list: "a list", tuple: "a tuple", dict: "a dict", set: "a set", type(None): "None"}


def _kind(value):
    return _KINDS.get(type(value), f"a {type(value).__name__} value")


def _allowed_attributes(obj):
    for klass in type(obj).__mro__:
        if klass in _SAFE_ATTRS:
            return _SAFE_ATTRS[klass]
    return frozenset()


def _guarded_getattr(obj, name, *default):
    if not isinstance(name, str) or name.startswith("_"):
        raise AttributeError(f"attribute {name!r} is not allowed in scripts")
    if name in _allowed_attributes(obj):
        value = getattr(obj, name)
        if isinstance(obj, str):
            return _str_method(obj, name, value)
        if isinstance(obj, list) and name == "extend":
            return lambda items: obj.extend(_grow_list(obj, items))
        return value
    if isinstance(obj, dict):  # dotted access to dict keys, like in expressions
        try:
            return obj[name]
        except KeyError:
            pass
        if default:
            return default[0]
        raise AttributeError(f"dict has no key or method '{name}'")
    if default:
        return default[0]
    raise AttributeError(f"'.{name}' is not allowed on {_kind(obj)} in scripts")


class _DictWriter:
    __slots__ = ("_target",)

    def __init__(self, target):
        object.__setattr__(self, "_target", target)

    def __setitem__(self, key, value):
        self._target[key] = value

    def __delitem__(self, key):
        del self._target[key]

    def __setattr__(self, name, value):
        if name.startswith("_"):
            raise AttributeError(f"attribute {name!r} is not allowed in scripts")
        self._target[name] = value

    def __delattr__(self, name):
        try:
            del self._target[name]
        except KeyError:
            raise AttributeError(name) from None


class _ListWriter:
    __slots__ = ("_target",)

    def __init__(self, target):
        object.__setattr__(self, "_target", target)

    def __setitem__(self, key, value):
        target = self._target
        if isinstance(key, slice):
            value = list(itertools.islice(value, MAX_SIZE + 1))
            removed = len(range(*key.indices(len(target))))
            if len(target) - removed + len(value) > MAX_SIZE:
                raise _refuse("list would grow too large")
        target[key] = value

    def __delitem__(self, key):
        del self._target[key]

    def __setattr__(self, name, value):
        raise AttributeError("cannot set attributes on a list")

    __delattr__ = __setattr__


def _guarded_write(obj):
    if isinstance(obj, dict):
        return _DictWriter(obj)
    if isinstance(obj, list):
        return _ListWriter(obj)
    raise TypeError(f"{_kind(obj)} cannot be changed in scripts (only dicts and lists can)")


def _guarded_getitem(obj, key):
    return obj[key]


def _apply(function, *args, **kwargs):
    return function(*args, **kwargs)


def _rethrow_memory_error(error):
    if isinstance(error, MemoryError):
        raise error


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
        _check_text_size(args[0], "str()")
    return str(*args)


def _safe_repr(value):
    return repr(_check_text_size(value, "repr()"))


def _safe_range(*args):
    result = range(*args)
    if len(result) > MAX_SIZE:
        raise _refuse(f"range() is limited to {MAX_SIZE} numbers")
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
            raise _refuse("sum() would be too large a number")
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
    "list": list, "map": map, "max": max, "min": min, "oct": oct, "ord": ord, "pow": _power,
    "range": _safe_range, "repr": _safe_repr, "reversed": reversed, "round": _safe_round,
    "set": set, "slice": slice, "sorted": sorted, "str": _safe_str, "sum": _safe_sum,
    "tuple": tuple, "zip": zip,
    **{e.__name__: e for e in _EXCEPTIONS},
}

_GUARDS = {
    "__builtins__": _BUILTINS,
    "__name__": "maestro_script",
    "_getattr_": _guarded_getattr,
    "_getitem_": _guarded_getitem,
    "_getiter_": iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": _guarded_write,
    "_inplacevar_": _inplacevar,
    "_apply_": _apply,
    "_print_": _PrintCollector,
    "_maestro_binop_": _binop,
    "_maestro_fmt_": _format_value,
    "_maestro_star_": _star,
    "_maestro_exception_": Exception,
    "_maestro_rethrow_": _rethrow_memory_error,
}


# ---------------------------------------------------------------------------
# Running: step/time/memory limits, data copied in, JSON checked out


def current_limits() -> ScriptLimits:
    """The limits scripts run under now: MAESTRO_SCRIPT_* settings, else this module's defaults."""
    try:
        return ScriptLimits.from_environment(MAX_SECONDS, MAX_MEMORY_GROWTH, MAX_RESULT_BYTES)
    except ValueError as error:
        raise ScriptError(str(error)) from None


class _Steps:
    """Per-run step counter behind `_maestro_tick_`; once a limit is hit every later step
    raises again, so no script code can get past it. Memory is not checked here: the sandbox
    process's address-space limit holds it, also inside C functions that never tick."""

    __slots__ = ("count", "deadline", "limits", "stopped")

    def __init__(self, limits):
        self.count = 0
        self.deadline = time.monotonic() + limits.seconds
        self.limits = limits
        self.stopped = None

    def tick(self):
        self.count += 1
        if self.stopped is not None:
            raise _Abort(self.stopped, None)
        if self.count > MAX_STEPS:
            self.stop("script ran too long")
        if not self.count % CHECK_EVERY and time.monotonic() > self.deadline:
            self.stop(self.limits.too_long())
        return True

    def stop(self, reason):
        self.stopped = reason
        raise _Abort(reason, None)


def _copy_in(value, foreign, memo):
    """Copy dicts/lists/tuples so a failed script leaves the caller's data untouched;
    other objects are passed as they are and remembered as allowed in the result."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    key = id(value)
    if key in memo:
        return memo[key]
    if isinstance(value, dict):
        clone = memo[key] = {}
        for k, v in value.items():
            clone[k] = _copy_in(v, foreign, memo)
        return clone
    if isinstance(value, list):
        clone = memo[key] = []
        clone.extend(_copy_in(v, foreign, memo) for v in value)
        return clone
    if isinstance(value, tuple):
        clone = memo[key] = tuple(_copy_in(v, foreign, memo) for v in value)
        return clone
    foreign.add(key)
    return value


class _TooLarge(Exception):
    """A result too big to check (nodes, depth, cycles), or with in_bytes, too big to keep."""

    def __init__(self, in_bytes=False):
        super().__init__()
        self.in_bytes = in_bytes


def _is_json(value, foreign, budget):
    """True if value is JSON (or data that came in as it is); False to drop it.
    budget is [values left to inspect, bytes left]: the bytes are counted roughly as JSON
    text, each time a shared value occurs, as storing the variables will write it."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        budget[0] -= 1
        if budget[0] < 0 or depth > MAX_RESULT_DEPTH:
            raise _TooLarge
        if isinstance(item, str):
            budget[1] -= len(item) + 3
        elif isinstance(item, int):  # bool too
            budget[1] -= item.bit_length() // 3 + 2
        elif item is None or isinstance(item, float) or id(item) in foreign:
            budget[1] -= 8
        elif isinstance(item, dict):
            budget[1] -= 2 + 12 * len(item)  # punctuation, and keys that are not text
            for k, v in item.items():
                if not (k is None or isinstance(k, (str, int, float, bool))):
                    return False
                if isinstance(k, str):
                    budget[1] -= len(k)
                stack.append((v, depth + 1))
        elif isinstance(item, (list, tuple)):
            budget[1] -= 2 + len(item)
            stack.extend((v, depth + 1) for v in item)
        else:
            return False
        if budget[1] < 0:
            raise _TooLarge(in_bytes=True)
    return True


def _script_line(exc):
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


class CompiledScript:
    """A checked, restricted script; run() it with a dict of variables."""

    def __init__(self, source, code):
        self.source = source
        self._code = code

    def __repr__(self):
        first = self.source.strip().splitlines()[0] if self.source.strip() else ""
        return f"CompiledScript({first[:40]!r})"

    def run(self, variables: Mapping | None = None) -> dict:
        """The variables after running the script in a sandbox process under current_limits()."""
        from .script_process import run_in_sandbox  # imports this module: imported when first used
        return run_in_sandbox(self, _checked(variables), current_limits())

    def run_in_process(self, variables: Mapping | None = None,
                       limits: ScriptLimits | None = None) -> dict:
        """The variables after running the script here: the sandbox process's part of run().
        Its time limit holds only while script code runs, and memory is not limited here."""
        variables = _checked(variables)
        limits = limits or current_limits()
        foreign = set()
        try:
            memo = {}
            data = {name: _copy_in(value, foreign, memo) for name, value in variables.items()}
        except RecursionError:
            raise ScriptError("variables are nested too deeply") from None
        namespace = {name: value for name, value in data.items() if not name.startswith("_")}
        namespace.update(_GUARDS)
        namespace["_maestro_tick_"] = _Steps(limits).tick
        try:
            exec(self._code, namespace)
        except _Abort as abort:
            raise ScriptError(abort.message, abort.line or _script_line(abort)) from None
        except ScriptError as error:
            raise ScriptError(error.message, error.line or _script_line(error)) from None
        except RecursionError as error:
            raise ScriptError("script calls nest too deeply (recursion)",
                              _script_line(error)) from None
        except MemoryError as error:
            raise ScriptError(limits.too_much_memory(), _script_line(error)) from None
        except Exception as error:
            raise ScriptError(f"{type(error).__name__}: {error}", _script_line(error)) from None
        return self._result(namespace, data, foreign, limits)

    @staticmethod
    def _result(namespace, data, foreign, limits):
        result = {}
        budget = [MAX_RESULT_NODES, limits.result_bytes]
        for name, value in namespace.items():
            if name.startswith("_"):
                continue
            bytes_left = budget[1]
            try:
                keep = _is_json(value, foreign, budget)
            except _TooLarge as too_large:
                if too_large.in_bytes:
                    raise ScriptError(limits.too_large(name)) from None
                raise ScriptError(f"variable '{name}' is too large, too deeply nested "
                                  "or refers to itself") from None
            if keep:
                result[name] = value
            else:  # dropped: it will not be stored
                budget[1] = bytes_left
        for name, value in data.items():  # invisible to scripts: carried through unchanged
            if name.startswith("_"):
                result[name] = value
        return result


def _checked(variables):
    if variables is None:
        return {}
    if not isinstance(variables, Mapping):
        raise ScriptError("variables must be a dict")
    return variables


_LINE_MESSAGE = re.compile(r"^Line (\d+): (.*)$", re.S)


def _compile(text):
    if len(text) > MAX_SCRIPT_LENGTH:
        raise ScriptError(
            f"script is too long ({len(text)} characters, at most {MAX_SCRIPT_LENGTH})")
    source = textwrap.dedent(text.replace("\r\n", "\n"))
    try:
        tree = ast.parse(source, FILENAME, "exec")
    except SyntaxError as error:
        raise ScriptError(f"syntax error: {error.msg}", error.lineno) from None
    except (RecursionError, MemoryError, ValueError) as error:
        raise ScriptError(f"script cannot be parsed: {error}") from None
    checker = _Checker()
    try:
        checker.visit(tree)
        if checker.problem is not None:
            raise checker.problem
        result = compile_restricted_exec(tree, filename=FILENAME, policy=_Policy)
    except (RecursionError, MemoryError):
        raise ScriptError("script is too deeply nested") from None
    if result.errors:
        match = _LINE_MESSAGE.match(result.errors[0])
        if match:
            raise ScriptError(match.group(2), int(match.group(1)))
        raise ScriptError(result.errors[0])
    if result.code is None:  # pragma: no cover - RestrictedPython always reports why
        raise ScriptError("script does not compile")
    return CompiledScript(text, result.code)


@functools.lru_cache(maxsize=1024)
def _compile_cached(text):
    return _compile(text)


def compile_script(text: str) -> CompiledScript:
    """Parse, check and compile a script once (cached by text); raises ScriptError."""
    if not isinstance(text, str):
        raise ScriptError(f"script must be a string, not {type(text).__name__}")
    return _compile_cached(text)


compile_script.cache_clear = _compile_cached.cache_clear
