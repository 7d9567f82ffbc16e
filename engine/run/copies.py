"""Deep copies of process variables, as `copy.deepcopy` makes them, at a fraction of its cost.

Every handler call gets its own copy of the variables (it may change them
freely). Variables are JSON values: dicts, lists, strings, numbers. deepcopy
pays a Python call and a memo entry per value, so a variable holding a
collection of 1,000 items (what a multi-instance activity iterates over) cost
each of its 1,000 iterations about a millisecond to copy. Here strings,
numbers and None are taken as they are without a call, dicts and lists are
copied in a loop; anything else goes to deepcopy with the same memo, so
shared values stay shared in the copy as deepcopy keeps them.
"""
import copy
from typing import Any

_IMMUTABLE = frozenset({str, int, float, bool, type(None), bytes})


def deep_copy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """The same copy as copy.deepcopy(value)."""
    kind = type(value)
    if kind in _IMMUTABLE:
        return value
    if memo is None:
        memo = {}
    copied = memo.get(id(value))
    if copied is not None:
        return copied
    if kind is dict:
        copied = memo[id(value)] = {}
        for key, item in value.items():
            if type(key) not in _IMMUTABLE:
                key = copy.deepcopy(key, memo)
            copied[key] = item if type(item) in _IMMUTABLE else deep_copy(item, memo)
        return copied
    if kind is list:
        copied = memo[id(value)] = []
        append = copied.append
        for item in value:
            append(item if type(item) in _IMMUTABLE else deep_copy(item, memo))
        return copied
    return copy.deepcopy(value, memo)
