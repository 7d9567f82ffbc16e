"""What Maestro reads BPMN from: the forms `load`, `run`, `Instance.start` and `Instance.restore` accept."""
import os
from collections.abc import Iterable

# XML text or bytes; a file path; or several paths and (name, XML) pairs (engine.read.sources.read_sources).
BpmnSources = str | bytes | os.PathLike[str] | Iterable[str | os.PathLike[str] | tuple[str, str | bytes]]
