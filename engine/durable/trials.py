"""The trials job: a diagram run in memory, as the editor's "try it" runs it, without deploying it.

The diagram is read as deploy reads it (with the deployed processes it calls),
then one instance runs in memory until it ends, waits or fails: nothing is
written to the database. Each service task runs what the analyst chose for it:
the server's handler ("handler", the default), nothing ("nothing": it completes
setting no variable), a technical failure ("fail": an incident, as a crashed
service makes one) or a BPMN error ("error:CODE": what a handler raising
BpmnError(CODE) does, so that the compensation the diagram catches it with runs).
The server's undo handlers stay bound: a compensation runs them unless its
activity is chosen otherwise too.
"""
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from lxml import etree

from engine.handlers import Binding, BpmnError, Handlers, TaskContext, TaskHandler
from engine.namespaces import NSMAP
from engine.problems import DeployError, Problem
from engine.read.checks import unbound_service_tasks
from engine.read.checks.bindings import service_nodes, task_topics, undo_topics
from engine.run import variable_limits
from engine.run.instance import Instance

from .store import definitions

HANDLER, NOTHING, FAIL, ERROR = "handler", "nothing", "fail", "error:"
FAILURE_MESSAGE = "failed on purpose to try compensation"


class TrialRefused(ValueError):
    """A try the request itself gets wrong: a choice for no service task, or a choice that is none."""


class Trials:
    """Maestro's try method, over its Context (whose handlers are the server's)."""

    def __init__(self, context):
        self.context = context

    def run(self, files: list[tuple[str, bytes]], variables: Mapping[str, Any] | None = None,
            choices: Mapping[str, str] | None = None, force_executable: bool = False) -> dict[str, Any]:
        """{"status", "variables", "tasks" (Instance.tasks), "error"} of one in-memory run of the files'
        process. DeployError for a diagram deploy would refuse; TrialRefused for bad choices."""
        variables = variable_limits.checked(dict(variables or {}), "the variables")
        choices = dict(choices or {})
        with self.context.Session() as session:
            library, problems = definitions.read_to_deploy(session, files, force_executable)
        if problems:
            raise DeployError(problems)
        roots = {name: library.roots[name] for name, _ in files}
        _check_choices(roots, choices)
        running: dict[str, Any] = {}
        handlers = trial_handlers(roots, self.context.handlers, choices, lambda task_id: _element(running, task_id))
        unbound = unbound_service_tasks(roots, handlers)
        if unbound:
            raise DeployError(unbound)
        instance = Instance.create(library, handlers, variables, _process_to_try(library, files))
        running["workflow"] = instance.workflow
        instance.run()
        error = instance.error
        return {"status": instance.status, "variables": instance.data, "tasks": _in_order_run(instance),
                "error": {key: error.get(key) for key in ("bpmn_id", "message", "type")} if error else None}


def trial_handlers(roots: dict[str, etree._Element], server: Handlers, choices: Mapping[str, str],
                   element_of) -> Handlers:
    """The server's bindings, each calling what `choices` ({element id: choice}) says for the task it
    runs (`element_of(task id)` names its element), plus bindings for the tasks chosen to do nothing,
    fail or raise whose topics the server does not bind."""
    trial = Handlers()
    for table, kind in ((server.tasks, "task"), (server.undos, "undo")):
        for topic, binding in table.items():
            getattr(trial, f"{kind}s")[topic] = Binding(topic, _chosen(binding.function, choices, element_of), kind,
                                                        binding.timeout)
    for root in roots.values():
        for node in service_nodes(root):
            if choices.get(node.get("id"), HANDLER) == HANDLER:
                continue
            for table, kind, topics in ((trial.tasks, "task", task_topics(node)),
                                        (trial.undos, "undo", undo_topics(root, node))):
                for topic in topics:
                    table.setdefault(topic, Binding(topic, _chosen(None, choices, element_of), kind))
    return trial


def _chosen(function: TaskHandler | None, choices: Mapping[str, str], element_of) -> TaskHandler:
    def run(context: TaskContext) -> dict[str, Any] | None:
        choice = choices.get(element_of(context.task_id), HANDLER)
        if choice == NOTHING:
            return None
        if choice == FAIL:
            raise RuntimeError(FAILURE_MESSAGE)
        if choice.startswith(ERROR):
            raise BpmnError(choice.removeprefix(ERROR), f"raised on purpose to try the {choice} path")
        if function is None:  # a topic bound only for another task's choice
            raise RuntimeError(f"no handler of this server is bound to topic '{context.topic}'")
        return function(context)
    return run


def _in_order_run(instance: Instance) -> list[dict[str, Any]]:
    """Instance.tasks(), with each task a caught BPMN error interrupted placed where it ran (after the
    tasks completed before it), not among the pending ones: a run in memory keeps no history to say so."""
    tasks = {str(task.id): task for task in instance.workflow.get_tasks()}
    completed = sorted((task.internal_data["maestro_seq"], task.last_state_change) for task in tasks.values()
                       if "maestro_seq" in task.internal_data)

    def position(described: dict[str, Any]) -> tuple[float, int]:
        task = tasks[described["id"]]
        if "maestro_seq" in task.internal_data:
            return task.internal_data["maestro_seq"], 0
        if described["state"] == "CANCELLED" and described["error"]:
            return max((seq for seq, when in completed if when <= task.last_state_change), default=0), 1
        return float("inf"), 0
    return sorted(instance.tasks(), key=position)


def _element(running: dict[str, Any], task_id: str) -> str | None:
    return running["workflow"].get_task_from_id(UUID(task_id)).task_spec.bpmn_id


def _check_choices(roots: dict[str, etree._Element], choices: dict[str, str]) -> None:
    tasks = {node.get("id") for root in roots.values() for node in service_nodes(root)}
    for element, choice in choices.items():
        if element not in tasks:
            raise TrialRefused(f"'{element}' in \"tasks\" is no service task of the diagram "
                               f"(its service tasks: {', '.join(sorted(t for t in tasks if t)) or 'none'})")
        if not isinstance(choice, str) or not (choice in (HANDLER, NOTHING, FAIL)
                                               or (choice.startswith(ERROR) and choice != ERROR)):
            raise TrialRefused(f"the choice for '{element}' must be \"handler\", \"nothing\", \"fail\" or "
                               f"\"error:CODE\", not {str(choice)[:60]!r}")


def _process_to_try(library, files: list[tuple[str, bytes]]) -> str:
    """The executable process of the files that no other calls (the one a start would start)."""
    executable = set(library.executable_process_ids())
    called = set(library.parser.get_process_dependencies())
    ids = [process.get("id") for name, _ in files
           for process in library.roots[name].iter(f"{{{NSMAP['bpmn']}}}process")
           if process.get("id") in executable and process.get("id") not in called]
    if len(ids) != 1:
        found = ", ".join(ids) or "none"
        name = files[0][0] if files else ""
        raise DeployError([Problem(name, 0, "", f"a try runs one process, and the diagram has {len(ids)} "
                                                f"executable processes no other calls ({found})")])
    return ids[0]
