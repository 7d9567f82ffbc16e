"""What a script may touch: the attributes of plain data (a whitelist by type, with str methods
that could build something huge wrapped to check the size first), dict keys as attributes, and
writes to dicts and lists only. RestrictedPython rewrites every attribute, item and write into
calls to these guards."""
from __future__ import annotations

import functools
import itertools

from .limits import MAX_SIZE
from .operators import grow_list, refuse

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
            raise refuse(f"str.{what}(): width is too large")
        return method(width, *args)
    return guarded


def _str_method(text, name, method):
    if name in ("center", "ljust", "rjust", "zfill"):
        return _width_guard(method, name)
    if name == "expandtabs":
        def expandtabs(tabsize=8):
            if isinstance(tabsize, int) and len(text) + text.count("\t") * tabsize > MAX_SIZE:
                raise refuse("str.expandtabs(): result would be too large")
            return method(tabsize)
        return expandtabs
    if name == "replace":
        def replace(old, new, count=-1):
            if isinstance(old, str) and isinstance(new, str) and len(new) > len(old):
                hits = text.count(old) if old else len(text) + 1
                if count >= 0:
                    hits = min(hits, count)
                if len(text) + hits * (len(new) - len(old)) > MAX_SIZE:
                    raise refuse("str.replace(): result would be too large")
            return method(old, new, count)
        return replace
    if name == "join":
        def join(iterable):
            items = list(itertools.islice(iterable, MAX_SIZE + 1))
            size = len(text) * max(len(items) - 1, 0)
            for item in items:
                size += len(item) if isinstance(item, str) else 0
                if size > MAX_SIZE:
                    raise refuse("str.join(): result would be too large")
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


def guarded_getattr(obj, name, *default):
    if not isinstance(name, str) or name.startswith("_"):
        raise AttributeError(f"attribute {name!r} is not allowed in scripts")
    if name in _allowed_attributes(obj):
        value = getattr(obj, name)
        if isinstance(obj, str):
            return _str_method(obj, name, value)
        if isinstance(obj, list) and name == "extend":
            return lambda items: obj.extend(grow_list(obj, items))
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
                raise refuse("list would grow too large")
        target[key] = value

    def __delitem__(self, key):
        del self._target[key]

    def __setattr__(self, name, value):
        raise AttributeError("cannot set attributes on a list")

    __delattr__ = __setattr__


def guarded_write(obj):
    if isinstance(obj, dict):
        return _DictWriter(obj)
    if isinstance(obj, list):
        return _ListWriter(obj)
    raise TypeError(f"{_kind(obj)} cannot be changed in scripts (only dicts and lists can)")


def guarded_getitem(obj, key):
    return obj[key]


def apply(function, *args, **kwargs):
    return function(*args, **kwargs)


def rethrow_memory_error(error):
    if isinstance(error, MemoryError):
        raise error
