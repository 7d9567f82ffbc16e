"""Reading BPMN, top to bottom: the passes that take bytes to specs, and every problem on the way.

Each file, in the order given:
  1. parse the untrusted bytes (untrusted_xml),
  2. normalise what modeling tools export (exports),
  3. hand it to SpiffWorkflow's parser (parser), which indexes its processes
     and refuses some files already,
  4. check the document (checks.check_document).
A file refused by one of steps 1-3 gets that one problem and no more steps:
its later steps would read a tree that is not what it means.
Then, across the files:
  5. check that no process calls itself (checks.calls_that_recurse),
  6. when nothing is wrong so far, check that the files have processes to
     run, then build every process's specs (SpiffWorkflow builds lazily:
     building now reports at deploy what would otherwise fail at start),
  7. with handlers (lint), check they bind the service tasks and nothing else
     (checks.check_bindings).

`load`, `inspect` (loader), `maestro lint` (lint) and deploy
(engine.durable.store.definitions) all read through `read_bpmn`.
"""
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from engine.handlers import Handlers
from engine.namespaces import NSMAP
from engine.problems import Problem
from engine.sources import BpmnSources

from .checks import calls_that_recurse, check_bindings, check_document
from .exports import normalise_exports
from .library import Library
from .parser import MaestroParser
from .sources import read_sources
from .untrusted_xml import UnsafeXml, parse_untrusted
from .validation_problems import problem_from_validation


def read_bpmn(sources: BpmnSources, force_executable: bool = False, check: bool = True,
              handlers: Handlers | None = None) -> tuple[Library, list[Problem]]:
    """(library, problems): the files as far as they read, and everything wrong with them.

    With `force_executable`, processes marked isExecutable="false" (what most
    modeling tools export by default) are treated as executable. `check=False`
    skips the document checks: for files deployed before, which must go on
    running even when a later Maestro refuses what they contain. With
    `handlers`, the service tasks' bindings are checked too.
    """
    library = Library(MaestroParser(force_executable))
    problems = []
    for name, data in read_sources(sources):
        problems += _read_file(library, name, data, force_executable, check)
    if check:
        problems += calls_that_recurse(library.roots)
    if not problems:
        problems += _files_without_executable_process(library)
    if not problems:
        problems += _build_every_process(library)
    if handlers is not None:
        problems += check_bindings(library.roots, handlers)
    return library, problems


def _read_file(library: Library, name: str, data: bytes, force_executable: bool, check: bool) -> list[Problem]:
    """Steps 1-4 for one file; a file that reaches step 4 joins library.roots."""
    try:
        root = parse_untrusted(data)
        normalise_exports(root)
        library.parser.add_document(root, name)
    except etree.XMLSyntaxError as error:
        return [Problem(name, error.lineno or 0, "", f"not well-formed XML: {error.msg}")]
    except ValidationException as error:
        # Placed in the file as written: a normaliser may have stopped halfway through `root`.
        return [problem_from_validation(error, {**library.roots, name: parse_untrusted(data)}, name)]
    except UnsafeXml as error:
        return [Problem(name, error.line, "", str(error))]
    library.roots[name] = root
    return check_document(root, name, force_executable) if check else []


def _files_without_executable_process(library: Library) -> list[Problem]:
    """Files whose processes are all marked isExecutable="false" (and not forced to run)."""
    problems = []
    for name, root in library.roots.items():
        processes = root.findall(f"{{{NSMAP['bpmn']}}}process")
        if processes and not any(library.parser.process_parsers[p.get("id")].process_executable
                                 for p in processes if p.get("id") in library.parser.process_parsers):
            first = processes[0]
            problems.append(Problem(name, first.sourceline or 0, first.get("id", ""),
                                    'no executable process: every process is marked isExecutable="false" '
                                    "(set it to true in the modeler, or deploy anyway with --force-executable)"))
    return problems


def _build_every_process(library: Library) -> list[Problem]:
    """What SpiffWorkflow refuses, or crashes on, while building each executable process's specs."""
    problems = []
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
