"""SpiffWorkflow's workflow log records, built only when they will be logged.

Workflow.collect_log_extras walks the whole task tree (to list every task's id)
whenever its logger has no level of its own, and it runs for every workflow
created, completed or cancelled even when nothing logs INFO: a walk of the
tree per instance for a record nobody reads.
"""
import logging

from SpiffWorkflow.workflow import Workflow
from SpiffWorkflow.workflow import logger as spiff_workflow_logger

_collect_log_extras = Workflow.collect_log_extras


def _collect_when_logged(workflow, dct=None):
    if not spiff_workflow_logger.isEnabledFor(logging.INFO):
        return dct or {}
    return _collect_log_extras(workflow, dct)


Workflow.collect_log_extras = _collect_when_logged
