"""The handlers this server loaded, as the editor offers them: a catalog, and Camunda 7 element templates.

Choosing a template in bpmn-js's properties panel writes the task's
camunda:type="external" and camunda:topic, which is how Maestro binds a
service task to a handler (DESIGN.md, "Topic of a service task").
"""
import inspect

from engine.handlers import Handlers, TaskHandler

TEMPLATE_SCHEMA = "https://unpkg.com/@camunda/element-templates-json-schema/resources/schema.json"
TEMPLATE_ID_PREFIX = "maestro.handler."


def handler_catalog(handlers: Handlers) -> list[dict]:
    """[{topic, name, doc, undo, undo_doc}] per task handler, by topic: what the handler is called,
    the first paragraph of its docstring ("" without one) and whether an undo is bound to its topic."""
    catalog = []
    for topic, binding in sorted(handlers.tasks.items()):
        undo = handlers.undos.get(topic)
        catalog.append({"topic": topic, "name": getattr(binding.function, "__name__", topic),
                        "doc": first_paragraph(binding.function), "undo": undo is not None,
                        "undo_doc": first_paragraph(undo.function) if undo is not None else None})
    return catalog


def first_paragraph(function: TaskHandler) -> str:
    """The docstring's first paragraph on one line ("" when the function has none)."""
    doc = inspect.getdoc(function) or ""
    return " ".join(doc.strip().split("\n\n")[0].split())


def element_templates(handlers: Handlers) -> list[dict]:
    """A Camunda 7 element template per task handler: applied to a service task, it binds it."""
    return [_template(entry) for entry in handler_catalog(handlers)]


def _template(entry: dict) -> dict:
    description = entry["doc"] or f"Runs the handler {entry['name']} of this server."
    if entry["undo"]:
        description += " Has an undo" + (f": {entry['undo_doc']}" if entry["undo_doc"] else ".")
    return {
        "$schema": TEMPLATE_SCHEMA,
        "id": TEMPLATE_ID_PREFIX + entry["topic"],
        "name": _label(entry["name"]),
        "description": description,
        "version": 1,
        "appliesTo": ["bpmn:ServiceTask"],
        "properties": [
            {"type": "Hidden", "value": "external", "binding": {"type": "property", "name": "camunda:type"}},
            {"label": "Topic", "type": "String", "value": entry["topic"], "editable": False,
             "description": "the handler's topic on this server",
             "binding": {"type": "property", "name": "camunda:topic"}},
        ],
    }


def _label(function_name: str) -> str:
    """`release_stock` reads as "Release stock"."""
    words = function_name.replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else function_name
