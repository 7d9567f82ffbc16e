"""Conditions compiled at deploy, so one that does not parse is refused before an instance reaches it."""
from engine.namespaces import NSMAP
from engine.sandbox.expressions import ExpressionError, compile_expression

from .located import owner, problem_at


def condition_expressions(root, file_name):
    for node in root.iter(f"{{{NSMAP['bpmn']}}}conditionExpression", f"{{{NSMAP['bpmn']}}}condition"):
        text = (node.text or "").strip()
        if not text:
            continue
        holder = owner(node)  # a conditional event's definition has no id
        try:
            compile_expression(text)
        except ExpressionError as error:
            yield problem_at(file_name, node, f"expression {text!r} does not parse: {error.message}",
                             holder.get("id", ""))
