"""Diagrams in Activiti's namespace, read as Camunda 7 reads them: as camunda: extensions.

Camunda 7 grew out of Activiti 5 and still accepts `activiti:` attributes and
elements (http://activiti.org/bpmn) wherever it accepts `camunda:` ones, so
files from the Activiti Designer, older Camunda Modelers and many tutorials
run there unchanged. Rather than teach every reader of an extension (topics,
forms, retry cycles, multi-instance collections, the deploy checks) a second
spelling, the extensions are renamed into the Camunda namespace before
anything reads them. Where an element says both, the camunda: one wins, as in
Camunda 7.
"""
from engine.namespaces import ACTIVITI, CAMUNDA

_ACTIVITI = f"{{{ACTIVITI}}}"
_CAMUNDA = f"{{{CAMUNDA}}}"


def read_activiti_as_camunda(root) -> None:
    """Renames, in place, every activiti: element and attribute of the document to camunda:."""
    for element in root.iter(f"{_ACTIVITI}*"):
        element.tag = _CAMUNDA + element.tag[len(_ACTIVITI):]
    for element in root.xpath("//*[@*[namespace-uri() = $ns]]", ns=ACTIVITI):
        _rename_attributes(element)


def _rename_attributes(element):
    for name in [name for name in element.attrib if name.startswith(_ACTIVITI)]:
        value = element.attrib.pop(name)
        renamed = _CAMUNDA + name[len(_ACTIVITI):]
        if renamed not in element.attrib:
            element.set(renamed, value)
