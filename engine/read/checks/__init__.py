"""Static checks over BPMN documents: what Maestro cannot run, found before running.

Each check yields every problem it finds (the parser stops at the first), so
lint can list them all with their lines. `check_document` (document) runs the
checks of one file, grouped by subject: what Maestro does not run (support),
compensation, conditions (expressions), timers, scripts, task settings (retry
cycles, time limits), events and what they name (events), and diagrams that
would run without end (hostile). Across the files, `calls_that_recurse`
(hostile) finds processes that call themselves; `check_bindings` (bindings)
checks handlers against the service tasks (lint of a processes folder), and
`unbound_service_tasks` only that each task is bound (deploy through a server,
which runs them). `unset_variables` finds what scripts and conditions read that
nothing in the diagram sets: warnings for the editor, never a refusal.
"""
from .bindings import check_bindings, unbound_service_tasks
from .document import check_document
from .hostile import calls_that_recurse
from .unset_variables import unset_variables

__all__ = ["calls_that_recurse", "check_bindings", "check_document", "unbound_service_tasks", "unset_variables"]
