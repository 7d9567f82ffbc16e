"""check_document: every check of one parsed file, in the order their problems are listed."""
from collections.abc import Callable, Iterable
from functools import partial

from lxml import etree

from engine.problems import Problem

from .compensation import compensation_activity_flows, compensation_references
from .events import cancel_end_events, dangling_references, error_end_events, event_definition_refs
from .expressions import condition_expressions, message_expressions
from .hostile import check_hostile
from .scripts import script_tasks, spiff_task_scripts
from .support import listeners, unsupported_elements
from .task_settings import message_times_to_live, retry_cycles, time_limits, user_task_assignments
from .timers import timers

Check = Callable[[etree._Element, str], Iterable[Problem]]


def check_document(root: etree._Element, file_name: str, force_executable: bool = False) -> list[Problem]:
    """Every problem of one parsed file; `force_executable` says documentation models will run too."""
    checks: list[Check] = [  # in this order, which lint lists problems in
        unsupported_elements,
        compensation_references,
        condition_expressions,
        message_expressions,
        timers,
        script_tasks,
        spiff_task_scripts,
        retry_cycles,
        time_limits,
        message_times_to_live,
        user_task_assignments,
        dangling_references,
        event_definition_refs,
        compensation_activity_flows,
        cancel_end_events,
        partial(error_end_events, force_executable=force_executable),
        listeners,
        check_hostile,
    ]
    problems: list[Problem] = []
    for check in checks:
        problems.extend(check(root, file_name))
    return problems
