"""What callers hand over to be read (paths, (name, bytes) pairs, XML text), as (name, bytes) pairs."""
import os
from pathlib import Path

from engine.problems import DeployError, Problem
from engine.sources import BpmnSources


def read_sources(sources: BpmnSources) -> list[tuple[str, bytes]]:
    """(name, bytes) pairs from a path, a list of paths or of (name, bytes) pairs, or XML text."""
    if isinstance(sources, (str, bytes)) and _looks_like_xml(sources):
        data = sources.encode() if isinstance(sources, str) else sources
        return [("<string>", data)]
    if isinstance(sources, (str, os.PathLike)):
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
