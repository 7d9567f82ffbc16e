"""Static checks over BPMN documents: what Maestro cannot run, found before running.

Each check yields every problem it finds (the parser stops at the first), so
lint can list them all with their lines. `check_document` (document) runs the
checks of one file, grouped by subject: what Maestro does not run (support),
compensation, conditions (expressions), timers, scripts, task settings (retry
cycles, time limits), events and what they name (events), and diagrams that
would run without end (hostile). Across the files, `calls_that_recurse`
(hostile) finds processes that call themselves, and `check_bindings`
(bindings) checks handlers against the service tasks (lint only).
"""
from .bindings import check_bindings
from .document import check_document
from .hostile import calls_that_recurse

__all__ = ["calls_that_recurse", "check_bindings", "check_document"]
