"""The bridge SpiffWorkflow calls into: expressions, scripts and Python handlers.

SpiffWorkflow routes every evaluation through its "script engine"; Maestro's
never uses Python's eval: conditions go to engine.sandbox.expressions (a whitelisting
evaluator), scripts to engine.sandbox.scripts (RestrictedPython), service tasks to
the handler bound to their topic.
"""
from dataclasses import replace
from uuid import UUID

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

from engine.handlers import BpmnError, TaskContext
from engine.sandbox.expressions import ExpressionError, compile_expression
from engine.sandbox.scripts import ScriptError, compile_script

from . import compensation, handler_limits, variable_limits
from .copies import deep_copy
from .interruptions import ReplayDiverged, StepAbandoned
from .specs import maestro_info

ATTEMPT = "maestro_attempt"


class HandlerError(Exception):
    """A service task that cannot call its handler (unbound topic, bad return value)."""


class MaestroRuntime(PythonScriptEngine):

    def __init__(self, handlers, instance_id, business_key=None):
        super().__init__()
        self.handlers = handlers
        self.instance_id = instance_id
        self.business_key = business_key
        # task id -> (variables in, result out) of the handler calls not yet recorded in history
        self.calls = {}
        # task id -> outcome of each handler call since the last save: what a replay feeds back
        self.outcomes = {}
        # task id -> recorded outcome while a loaded instance replays its logged steps (engine.durable.replay)
        self.replaying = None
        # What makes a span of each handler call (engine.durable.tracing's InstanceTrace); None: not traced
        self.tracing = None

    def evaluate(self, task, expression, external_context=None):
        variables = {**(external_context or {}), **task.data}
        try:
            return compile_expression(expression).evaluate(variables)
        except ExpressionError as error:
            raise WorkflowTaskException(f"expression {expression!r}: {error.message}", task=task) from error

    def validate(self, expression):
        compile_expression(expression)

    def execute(self, task, script, external_context=None):
        try:
            result = compile_script(script).run(dict(task.data))
        except ScriptError as error:
            where = f" (line {error.line})" if error.line else ""
            raise WorkflowTaskException(f"script{where}: {error.message}", task=task) from error
        try:  # NaN or a NUL would fail the commit of the whole batch on PostgreSQL: fail the task instead
            task.data = variable_limits.storable(result, "the variables the script set")
        except variable_limits.VariablesRefused as error:
            raise WorkflowTaskException(f"script: {error}", task=task) from error
        return True

    # -- service tasks ---------------------------------------------------

    def call_handler(self, task):
        if self.replaying is not None:  # needs no handler: `maestro show` replays without any
            return self._replayed(task)
        topic, function = self.resolve(task)
        if function is None:
            raise HandlerError(f"no handler is bound to topic '{topic}' (service task '{task.task_spec.bpmn_id}')")
        attempt = _count_attempt(task)
        context = TaskContext(
            data=deep_copy(task.data),  # the handler's own: it may change it
            instance_id=self.instance_id,
            business_key=self.business_key,
            task_id=str(task.id),
            task_name=task.task_spec.bpmn_name or task.task_spec.bpmn_id,
            attempt=attempt,
            idempotency_key=f"{self.instance_id}:{task.id}",
            topic=topic,
        )
        if self.tracing is None:
            return self._call(task, topic, function, context)
        with self.tracing.handler_call(context, task.task_spec.bpmn_id):
            return self._call(task, topic, function, context)

    def _call(self, task, topic, function, context):
        task_id = str(task.id)
        self.calls[task_id] = (context.data, None)
        handler = f"the handler for topic '{topic}' (task '{context.task_name}')"
        try:
            limit = handler_limits.limit_for(maestro_info(task.task_spec), self.handlers.timeout_for(topic, function))
            # A call abandoned at its limit runs on: it gets data of its own, not the dict history records.
            argument = context if limit is None else replace(context, data=deep_copy(context.data))
            result = handler_limits.call(function, argument, limit, handler)
        except BpmnError as error:
            variables = _json_dict(error.variables, f"the variables of the BpmnError raised by {handler}")
            self.calls[task_id] = (context.data, variables or None)
            self.outcomes[task_id] = {"bpmn_error": [error.code, error.message, variables]}
            raise
        except Exception:
            raise
        except BaseException as error:  # SystemExit, KeyboardInterrupt...: a failure of the task, not the worker's end
            if isinstance(error, StepAbandoned):
                raise  # the worker is stopping (SIGTERM) and gives this step up
            detail = f": {error}" if str(error) else ""
            raise HandlerError(f"{handler} raised {type(error).__name__}{detail}") from error
        result = _json_dict({} if result is None else result, f"what {handler} returned")
        self.calls[task_id] = (context.data, result)  # only now: history rows must be JSON too
        self.outcomes[task_id] = {"result": result}
        return result

    def _replayed(self, task):
        """What the handler call gave when it first ran: its result, or the BPMN error it raised."""
        recorded = self.replaying.pop(str(task.id), None)
        if recorded is None:
            raise ReplayDiverged(f"task '{task.task_spec.bpmn_id}' ({task.id}) called no handler in the logged step")
        _count_attempt(task)
        if "bpmn_error" in recorded:
            raise BpmnError(*recorded["bpmn_error"])
        return recorded["result"]

    def take_outcomes(self):
        """The handler outcomes since the last call (for the step log), clearing them."""
        outcomes, self.outcomes = self.outcomes, {}
        return outcomes

    def resolve(self, task):
        """(topic, function) for a service task; function is None when nothing is bound."""
        info = maestro_info(task.task_spec)
        if info.get("for_compensation") and not info.get("topic"):
            undo = self._undo_handler(task)
            if undo is not None:
                return undo
        return resolve_topic(info, self.handlers.task_for)

    def _undo_handler(self, task):
        undone_id = task.internal_data.get(compensation.UNDO_OF)
        if undone_id is None:
            return None
        undone = task.workflow.top_workflow.get_task_from_id(UUID(undone_id))
        info = maestro_info(undone.task_spec) if undone else {}
        for topic in [info.get("topic"), *info.get("fallbacks", [])]:
            if topic and self.handlers.undo_for(topic):
                return topic, self.handlers.undo_for(topic)
        return None


def _json_dict(value, what):
    """`value` if it may become process variables (engine.run.variable_limits): a dict of JSON values
    within the size limit.

    Anything else is a technical failure of the handler (HandlerError: retried, then an
    incident), so that it never reaches the saved instance.
    """
    try:
        return variable_limits.checked(value, what)
    except variable_limits.VariablesRefused as error:
        raise HandlerError(str(error)) from None


def _count_attempt(task):
    attempt = task.internal_data.get(ATTEMPT, 0) + 1
    task.internal_data[ATTEMPT] = attempt
    return attempt


def resolve_topic(info, lookup):
    """The explicit topic if any, else the first of id / snake_case name that is bound."""
    if info.get("topic"):
        return info["topic"], lookup(info["topic"])
    fallbacks = info.get("fallbacks") or ["?"]
    for topic in fallbacks:
        if lookup(topic):
            return topic, lookup(topic)
    return fallbacks[0], None
