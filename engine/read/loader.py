"""The entry points for reading BPMN files: `load` (refusing them on any problem) and `inspect`.

Both read through engine.read.pipeline.
"""
from engine.problems import DeployError, Problem
from engine.sources import BpmnSources

from .library import Library
from .pipeline import read_bpmn

__all__ = ["Library", "inspect", "load"]


def load(sources: BpmnSources, force_executable: bool = False) -> Library:
    """Parses files into a Library; raises DeployError naming every problem found."""
    library, problems = read_bpmn(sources, force_executable)
    if problems:
        raise DeployError(problems)
    return library


def inspect(sources: BpmnSources, force_executable: bool = False, check: bool = True) -> tuple[Library, list[Problem]]:
    """(library, problems): the files as far as they parse, and everything wrong with them
    (engine.read.pipeline.read_bpmn says what `force_executable` and `check` change)."""
    return read_bpmn(sources, force_executable, check)
