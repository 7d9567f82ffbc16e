"""`maestro lint`: every problem in a set of files, each with file, line and element."""
from pathlib import Path

from lxml import etree

from .checks import check_bindings, check_document
from .loader import load
from .parser import safe_xml_parser
from .problems import DeployError, Problem


def lint_files(paths, handlers=None):
    problems, roots = [], {}
    for path in map(str, paths):
        try:
            roots[path] = etree.fromstring(Path(path).read_bytes(), safe_xml_parser())
        except OSError as error:
            problems.append(Problem(path, 0, "", f"cannot read file: {error.strerror}"))
        except etree.XMLSyntaxError as error:
            problems.append(Problem(path, error.lineno or 0, "", f"not well-formed XML: {error.msg}"))
    for path, root in roots.items():
        problems.extend(check_document(root, path))
    if roots:
        try:
            load(list(roots))
        except DeployError as error:
            problems.extend(error.problems)
    if handlers is not None:
        problems.extend(check_bindings(roots, handlers))
    return _unique(problems)


def _unique(problems):
    """The static checks and the parser may both report one fault; keep the first."""
    seen, unique = set(), []
    for problem in problems:
        key = (problem.file, problem.element, problem.message)
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return unique
