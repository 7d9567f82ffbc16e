"""Correlation keys: the value a message reaches a waiting catch by (DESIGN.md, "Messages between processes").

A message's diagram may give its correlation key: Camunda 8's `zeebe:subscription correlationKey`
on the message (an expression, `=orderId`), or BPMN correlation properties (each a retrieval
expression). A catch's key is that expression evaluated over its instance's variables when it
starts waiting; a thrown message's is the same expression over the thrower's variables and the
message's payload. Neither given, a message reaches a catch by the business key.
"""
import hashlib
import json
from typing import Any

from engine.sandbox.expressions import ExpressionError, compile_expression

# Longer keys are stored as their digest, which compares the same for sender and receiver.
MAX_KEY_LENGTH = 255


def key_text(value: Any) -> str | None:
    """The stored form of a key: a string as it is, any other value as JSON (42 -> "42"), one longer than
    MAX_KEY_LENGTH as "sha256:" and its digest; None stays None."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= MAX_KEY_LENGTH else "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def diagram_key(definition, variables: dict) -> str | None:
    """The key the message's diagram gives, over `variables`; None when it gives none or it names
    no value there (the business key then decides)."""
    expression = getattr(definition, "correlation_key", None)
    try:
        if expression:
            return key_text(compile_expression(expression).evaluate(variables))
        properties = getattr(definition, "correlation_properties", None) or []
        values = {prop.name: compile_expression(prop.retrieval_expression).evaluate(variables)
                  for prop in properties if prop.retrieval_expression}
    except ExpressionError:
        return None  # a variable it names is not set (yet): reached by the business key meanwhile
    values = {name: value for name, value in values.items() if value is not None}
    if not values:
        return None
    return key_text(next(iter(values.values()))) if len(values) == 1 else key_text(values)
