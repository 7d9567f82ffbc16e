"""Loads BPMN files into a parser, turning every failure into located problems."""
import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from engine.namespaces import NSMAP
from engine.problems import DeployError, Problem
from engine.read.exports.element_ids import bpmn_element, in_original_words, original_id

from .checks import check_document
from .hostile_diagrams import calls_that_recurse
from .parser import UNTIMED_TIMER, MaestroParser, UnsafeXml, parse_untrusted


@dataclass
class Library:
    """Parsed BPMN files from which instances can be started."""
    parser: MaestroParser
    roots: dict = field(default_factory=dict)  # file name -> XML root

    def executable_process_ids(self):
        return self.parser.get_process_ids()

    def main_process_id(self, process_id=None):
        """The process to start: the one asked for, else the only top-level executable one."""
        ids = self.executable_process_ids()
        if process_id is not None:
            if process_id not in self.parser.process_parsers or process_id not in ids:
                found = ", ".join(ids) or "none"
                raise DeployError([Problem(self._first_file(), 0, process_id,
                                           f"no executable process '{process_id}' (found: {found})")])
            return process_id
        called = set(self.parser.get_process_dependencies())
        top_level = [pid for pid in ids if pid not in called and self._is_top_level(pid)]
        if len(top_level) == 1:
            return top_level[0]
        several = ", ".join(top_level)
        raise DeployError([Problem(self._first_file(), 0, "",
                                   f"several executable processes ({several}): choose one with --process")])

    def build(self, process_id):
        try:
            return self.parser.build(process_id)
        except ValidationException as error:
            raise DeployError([problem_from_validation(error, self.roots)]) from error

    def _is_top_level(self, process_id):
        parser = self.parser.process_parsers[process_id]
        return parser.node.tag == f"{{{NSMAP['bpmn']}}}process"

    def _first_file(self):
        return next(iter(self.roots), "")


def read_sources(sources):
    """(name, bytes) pairs from a path, a list of paths or of (name, bytes) pairs, or XML text."""
    if isinstance(sources, (str, bytes)) and _looks_like_xml(sources):
        data = sources.encode() if isinstance(sources, str) else sources
        return [("<string>", data)]
    if isinstance(sources, (str, Path)):
        sources = [sources]
    pairs = []
    for source in sources:
        if isinstance(source, tuple):
            name, data = source
            pairs.append((name, data.encode() if isinstance(data, str) else data))
            continue
        path = Path(source)
        try:
            pairs.append((str(path), path.read_bytes()))
        except OSError as error:
            raise DeployError([Problem(str(path), 0, "", f"cannot read file: {error.strerror}")]) from error
    return pairs


def _looks_like_xml(text):
    head = text[:200].lstrip()
    return head.startswith("<") if isinstance(head, str) else head.startswith(b"<")


def load(sources, force_executable=False):
    """Parses files into a Library; raises DeployError naming every problem found."""
    library, problems = inspect(sources, force_executable)
    if problems:
        raise DeployError(problems)
    return library


def inspect(sources, force_executable=False, check=True):
    """(library, problems): the files as far as they parse, and everything wrong with them.

    With `force_executable`, processes marked isExecutable="false" (what most
    modeling tools export by default) are treated as executable. `check=False`
    skips the document checks: for files deployed before, which must go on
    running even when a later Maestro refuses what they contain.
    """
    parser = MaestroParser(force_executable)
    library = Library(parser)
    problems = []
    for name, data in read_sources(sources):
        try:
            root = parser.add_bpmn_bytes(data, name)
        except etree.XMLSyntaxError as error:
            problems.append(Problem(name, error.lineno or 0, "", f"not well-formed XML: {error.msg}"))
            continue
        except ValidationException as error:
            # The file is not in library.roots yet; its own tree may be needed to place the problem.
            problems.append(problem_from_validation(error, {**library.roots, name: parse_untrusted(data)}, name))
            continue
        except UnsafeXml as error:
            problems.append(Problem(name, error.line, "", str(error)))
            continue
        library.roots[name] = root
        if check:
            problems.extend(check_document(root, name, force_executable))
    if check:
        problems.extend(calls_that_recurse(library.roots))
    if not problems:
        problems.extend(_parse_every_process(library))
    return library, problems


def _parse_every_process(library):
    """SpiffWorkflow parses lazily; parse everything now so problems show at deploy time."""
    problems = []
    for name, root in library.roots.items():
        processes = root.findall(f"{{{NSMAP['bpmn']}}}process")
        if processes and not any(library.parser.process_parsers[p.get("id")].process_executable
                                 for p in processes if p.get("id") in library.parser.process_parsers):
            first = processes[0]
            problems.append(Problem(name, first.sourceline or 0, first.get("id", ""),
                                    'no executable process: every process is marked isExecutable="false" '
                                    "(set it to true in the modeler, or deploy anyway with --force-executable)"))
    if problems:
        return problems
    for process_id in library.executable_process_ids():
        try:
            library.parser.build(process_id)
        except ValidationException as error:
            problems.append(problem_from_validation(error, library.roots))
        except Exception as error:  # a SpiffWorkflow crash on odd input is still a problem, not a traceback
            process = library.parser.process_parsers[process_id]
            problems.append(Problem(process.filename or "", process.node.sourceline or 0, process_id,
                                    f"cannot parse: {type(error).__name__}: {error}"))
    return problems


def problem_from_validation(error, roots, file_name=None):
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
