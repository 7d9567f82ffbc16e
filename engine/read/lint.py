"""`maestro lint`: every problem in a set of files, each with file, line and element."""
from .pipeline import read_bpmn


def lint_files(paths, handlers=None, force_executable=False):
    _, problems = read_bpmn([str(path) for path in paths], force_executable, handlers=handlers)
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
