"""`maestro lint`: every problem in a set of files, each with file, line and element."""
import os
from collections.abc import Iterable

from engine.handlers import Handlers
from engine.problems import Problem

from .pipeline import read_bpmn


def lint_files(paths: Iterable[str | os.PathLike[str]], handlers: Handlers | None = None,
               force_executable: bool = False) -> list[Problem]:
    """Every problem of the files, each once (the same pipeline as deploy, plus bindings when handlers are given)."""
    _, problems = read_bpmn([str(path) for path in paths], force_executable, handlers=handlers)
    return unique(problems)


def unique(problems: list[Problem]) -> list[Problem]:
    """The static checks and the parser may both report one fault; keep the first."""
    seen: set[tuple[str, str, str]] = set()
    unique: list[Problem] = []
    for problem in problems:
        key = (problem.file, problem.element, problem.message)
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return unique
