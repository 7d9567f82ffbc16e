"""The diagrams a new process starts from in the editor (/processes/new?template=NAME).

Blank, blank for Camunda 8 and approval are this package's files; the saga is the seed process itself
(bpmn/order_fulfillment), read from the checkout so the two never drift apart. A
template whose file is missing (e.g. an install without bpmn/) is not offered.
"""
from pathlib import Path
from typing import NamedTuple

_HERE = Path(__file__).resolve().parent


class Template(NamedTuple):
    name: str
    title: str
    path: Path


TEMPLATES = (
    Template("blank", "Blank (start → end)", _HERE / "templates_bpmn" / "blank.bpmn"),
    Template("saga", "Saga with compensation (the seed, bpmn/order_fulfillment)",
             _HERE.parent / "bpmn" / "order_fulfillment" / "order_fulfillment.bpmn"),
    Template("approval", "Approval by a person (user task with a form)", _HERE / "templates_bpmn" / "approval.bpmn"),
    Template("blank_camunda8", "Blank for Camunda 8 (start → end; the editor writes zeebe: extensions)",
             _HERE / "templates_bpmn" / "blank_camunda8.bpmn"),
)


def available() -> list[Template]:
    return [template for template in TEMPLATES if template.path.is_file()]


def xml_of(name: str) -> str | None:
    """The template's BPMN text, or None when there is no such template."""
    for template in available():
        if template.name == name:
            return template.path.read_text(encoding="utf-8")
    return None
