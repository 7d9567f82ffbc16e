"""`maestro lint`: every problem in a set of files, each with file, line and element."""
from .checks import check_bindings
from .loader import inspect


def lint_files(paths, handlers=None, force_executable=False):
    library, problems = inspect([str(path) for path in paths], force_executable)
    if handlers is not None:
        problems.extend(check_bindings(library.roots, handlers))
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
