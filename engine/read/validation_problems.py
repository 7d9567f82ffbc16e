"""SpiffWorkflow's refusals (ValidationExceptions) as Maestro's problems.

A refusal is located (file, line and element id, as the file has them, even
where the parser read a renamed id: engine.read.exports.element_ids) and said
with what to change, for the refusals users meet most.
"""
import re

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from engine.namespaces import NSMAP
from engine.problems import Problem
from engine.read.exports.element_ids import bpmn_element, in_original_words, original_id

UNTIMED_TIMER = "timer event without a time"  # the parser refuses with it; _MESSAGES says it in full


def problem_from_validation(error: ValidationException, roots: dict[str, etree._Element],
                            file_name: str | None = None) -> Problem:
    """The problem a refusal stands for; `roots` are the parsed files by name, `file_name` the one
    being read when the refusal names none."""
    name = error.file_name or file_name or next(iter(roots), "")
    element = original_id(getattr(error, "id", "") or "")
    said = in_original_words(str(error).split("\n")[0].strip())
    line = 0
    root = roots.get(name)
    if element and root is not None:
        found = bpmn_element(root, element)
        if found is not None:
            line = found.sourceline or 0
    elif not element:
        name, line, element = _locate(said, roots, name)
    return Problem(name, line, element, _in_maestro_words(said))


# SpiffWorkflow refusals that name no element, and where to find the element they are about.
_UNLOCATED = [
    (re.compile(r"The process '([^']*)' was not found"), "//bpmn:callActivity[@calledElement=$found]"),
    (re.compile(r"Correlation is missing correlation property retrieval expressions: (\S+?)\.?$"),
     "//bpmn:correlationProperty[@id=$found]"),
]


def _locate(message, roots, name):
    """(file, line, element id) of the element an unlocated message is about, else (name, 0, "")."""
    for pattern, xpath in _UNLOCATED:
        match = pattern.match(message)
        for file_name, root in roots.items() if match else ():
            nodes = root.xpath(xpath, namespaces=NSMAP, found=match.group(1))
            if nodes:
                return file_name, nodes[0].sourceline or 0, nodes[0].get("id", "")
    return name, 0, ""


# SpiffWorkflow's most frequent refusals, said with what to change.
_MESSAGES = [
    ("Non-default exclusive outgoing sequence flow without condition",
     "this flow leaves a gateway without a condition and is not the gateway's default flow: "
     "add a condition, or make it the default flow"),
    ("Exactly one start event is required in a SubWorkflow Task",
     "a subprocess needs exactly one start event: add one (or remove the extra ones)"),
    (UNTIMED_TIMER, "timer event without a time: give it a date, a duration or a cycle "
                    "(--force-executable deploys it as a timer that never fires, except on a start event)"),
    ("No start event found", "the process has no start event: add one"),
    ("The process '", "this call activity calls a process that is neither in the deployed files nor deployed "
                      "before: deploy the called process first, or together with this file"),
    ("Correlation is missing correlation property retrieval expressions",
     "correlation property without a retrieval expression: add one per message it correlates"),
    ("Invalid Script Task.  No Script Provided", "script task without a script: write the script, "
                                                  "or make it a plain task"),
    ("A loopMaximum or loopCondition must be specified",
     "loop activity without a loop condition or maximum: set loopCondition or loopMaximum"),
    ("Data Store name is missing", "data stores are not supported: remove the data store reference"),
    ("Data Store with name", "data stores are not supported: remove the data store reference"),
    ("A multiinstance task must specify a cardinality or a loop input data reference",
     "multi-instance activity without a cardinality or an input collection: set one of them"),
    ('No "calledElement" attribute for Call Activity', "call activity without a called process: "
                                                        "set calledElement to the id of the process to call"),
    ("Cannot resolve dataInputAssociation", "a data input association refers to something Maestro cannot "
                                            "resolve (a data store, or an object of another scope): remove it"),
    ("Cannot resolve dataOutputAssociation", "a data output association refers to something Maestro cannot "
                                             "resolve (a data store, or an object of another scope): remove it"),
]


def _in_maestro_words(message):
    for start, said in _MESSAGES:
        if message.startswith(start):
            return said
    return message
