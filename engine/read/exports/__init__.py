"""What modeling tools write, put the way BPMN (and Camunda 7, where BPMN is silent) means it.

Each module takes one tool's habit (Activiti's namespace, Camunda 7's
multi-instance collections, ids SpiffWorkflow cannot take, data plumbing,
event definitions by reference, elements in the wrong container, compensation
activities without their flag) and rewrites the parsed document in place;
`normalise_exports` applies them all, after the XML is parsed and before the
document is checked and parsed into specs. They import only the engine's
shared modules, engine.read.elements and each other.
"""
from lxml import etree

from .activiti import read_activiti_as_camunda
from .compensation_handlers import mark_associated_compensation_handlers
from .data_plumbing import drop_documentation_only_data
from .element_ids import name_unnamed_flows
from .event_definition_refs import inline_event_definition_refs
from .misplaced_elements import put_misplaced_elements_back
from .multi_instance_collections import read_camunda_collections

# In this order, which every deployed file has been read in: each step sees what the ones
# before it wrote. Activiti's names come first so that the rest read camunda: alone.
NORMALISERS = (
    read_activiti_as_camunda,
    read_camunda_collections,
    name_unnamed_flows,
    drop_documentation_only_data,
    inline_event_definition_refs,
    put_misplaced_elements_back,
    mark_associated_compensation_handlers,
)


def normalise_exports(root: etree._Element) -> None:
    """Rewrites, in place, one parsed file as BPMN means it.

    Raises ValidationException (from read_camunda_collections) naming an
    activity whose Camunda meaning Maestro cannot run.
    """
    for normalise in NORMALISERS:
        normalise(root)
