"""Where a check's problem is: the element it names and that element's line."""
from engine.problems import Problem


def problem_at(file_name, node, message, element=None):
    """A problem on `node`'s line, about `element` (by default `node`'s own id)."""
    return Problem(file_name, node.sourceline or 0, element if element is not None else node.get("id", ""), message)


def owner(node):
    """The nearest element with an id holding `node` (an extension or a definition has none)."""
    holder = node.getparent()
    while holder.get("id") is None and holder.getparent() is not None:
        holder = holder.getparent()
    return holder
