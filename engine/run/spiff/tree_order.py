"""Which of two tasks of one task tree comes first depth first, without walking the tree.

SpiffWorkflow's iterators yield tasks depth first (a task, then each child's
subtree in the order of its `_children`). Maestro picks, among several ready
or waiting tasks, the first in that order; finding it by a walk from the root
costs the whole tree at every step. Two tasks compare instead at their
nearest common ancestor: the one that is that ancestor comes first, else the
one below its earlier child. Children are only ever appended or removed, so
the order of two tasks never changes while both are in the tree.
"""
from functools import cmp_to_key

_RANKS = "maestro_sibling_ranks"


def first(tasks):
    """The task of `tasks` (all of one workflow's tree) that a depth-first walk meets first."""
    return min(tasks, key=order_key)


def compare(one, other) -> int:
    """-1 if `one` comes before `other` depth first, 1 if after, 0 for the same task."""
    if one is other:
        return 0
    below_one, below_other = _branches_at_common_ancestor(one, other)
    if below_one is None:
        return -1  # `one` is the common ancestor: a task comes before its descendants
    if below_other is None:
        return 1
    return -1 if _sibling_rank(below_one) < _sibling_rank(below_other) else 1


order_key = cmp_to_key(compare)


def _branches_at_common_ancestor(one, other):
    """(the child of the nearest common ancestor above `one`, the same for `other`); None for the side
    that is the ancestor itself. Climbs both sides in turn, so it costs the distance to that ancestor."""
    tasks = one.workflow.tasks
    # task id -> the task's child on the way up from the start (None for the start itself)
    came_from_one, came_from_other = {one.id: None}, {other.id: None}
    a, b = one, other
    while True:
        if a is not None:
            if a.id in came_from_other:
                return came_from_one[a.id], came_from_other[a.id]
            parent = tasks.get(a._parent)
            if parent is not None:
                came_from_one[parent.id] = a
            a = parent
        if b is not None:
            if b.id in came_from_one:
                return came_from_one[b.id], came_from_other[b.id]
            parent = tasks.get(b._parent)
            if parent is not None:
                came_from_other[parent.id] = b
            b = parent
        if a is None and b is None:
            raise ValueError(f"{one} and {other} are not in one task tree")


def _sibling_rank(task):
    """The task's position among its parent's children, numbered when first asked for.

    Children are appended, never inserted, so the ones without a number yet
    are the newest: they are numbered after the last numbered one, walking
    back from the end of the list only as far as they go.
    """
    ranks = task.workflow.__dict__.setdefault(_RANKS, {})
    rank = ranks.get(task.id)
    if rank is None:
        children = task.workflow.tasks[task._parent]._children
        position = len(children)
        while position and children[position - 1] not in ranks:
            position -= 1
        after = ranks[children[position - 1]] + 1 if position else 0
        ranks.update((child_id, after + offset) for offset, child_id in enumerate(children[position:]))
        rank = ranks[task.id]
    return rank
