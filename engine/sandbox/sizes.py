"""Size of untrusted values, shared by the expression evaluator and the script sandbox."""
from collections.abc import Mapping


def weight(value, budget):
    """Rough size of a value (container items + string characters), counting shared
    references each time they occur; stops counting as soon as budget is exceeded."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (str, bytes)):
            total += len(item) + 1
        elif isinstance(item, Mapping):
            total += 1 + len(item)
            if total <= budget:
                stack.extend(item.keys())
                stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 1 + len(item)
            if total <= budget:
                stack.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            total += 1 + item.bit_length() // 64
        else:
            total += 1
        if total > budget:
            return total
    return total
