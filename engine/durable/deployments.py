"""The deployments job: deploying BPMN files as new versions of their processes, and reading
what is deployed (definitions, versions, their XML, the start form)."""
from dataclasses import replace
from pathlib import Path

from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.util.task import TaskState

from engine.problems import DeployError
from engine.read.checks import unbound_service_tasks, unset_variables
from engine.read.lint import unique
from engine.run.specs import maestro_info

from . import form_deploys
from .errors import NotFound
from .form_resolution import deployed_at, resolved
from .store import definitions, instance_rows
from .store.models import Definition
from .summaries import definition_summary


class Deployments:
    """Maestro's deployment and definition methods, over its Context."""

    def __init__(self, context, instances):
        self.context = context
        self.instances = instances  # a deployment starts (and cancels) instances of timer-started processes

    def deploy(self, files, force_executable=False, check_handlers=False, by=None):
        """Deploys (name, bytes) files; see store.definitions.deploy. With `check_handlers`, a service
        task that none of this engine's handlers binds is refused too (the web app: its worker runs them).
        Form files among them (.form, .json: form_deploys) are stored as new versions of their forms,
        listed after the processes as {form, version, file, kind, new}; a diagram naming a form that is
        neither deployed nor among the files is refused.

        A new version of a process with a timer start event is started at once
        (its instance waits for the timer), and the older versions' instances
        still waiting for their start timer are cancelled: the newest version's
        timer is the one that holds. `by`: the person deploying (each new version's deployed_by).
        """
        diagrams, form_files = form_deploys.split(list(files))
        with self.context.Session() as session:
            handlers = self.context.handlers if check_handlers else None
            forms, problems = form_deploys.read_forms(form_files)
            problems += form_deploys.missing_forms(session, diagrams, forms)
            if problems:  # said together with the diagrams' own problems; nothing is written
                try:
                    definitions.deploy(session, diagrams, force_executable, handlers)
                except DeployError as error:
                    problems += error.problems
                raise DeployError(problems)
            stored_forms = form_deploys.store(session, forms)  # first: a diagram deployed now binds to them
            deployed = definitions.deploy(session, diagrams, force_executable, handlers)
            if by is not None:
                for item in deployed:
                    if item["new"]:
                        session.get(Definition, item["id"]).deployed_by = by
            session.commit()
            timed = [item for item in deployed
                     if item["new"] and definitions.has_timer_start(session.get(Definition, item["id"]))]
        for item in timed:
            for waiting in self._waiting_for_start_timer(item["key"], below_version=item["version"]):
                self.instances.cancel(waiting)
            item["started"] = self.instances.start(item["key"], started_by="timer")["id"]
        return deployed + stored_forms

    def _waiting_for_start_timer(self, key, below_version):
        with self.context.Session() as session:
            rows = instance_rows.started_by_timer_below(session, key, below_version)
            return [row.id for row in rows if not self.context.load(session, row)[0].workflow.get_tasks(
                state=TaskState.COMPLETED, spec_class=StartEvent)]

    def lint(self, files, force_executable=False, check_handlers=True):
        """(problems, warnings) of (name, bytes) files, deploying nothing: problems are what a deploy
        (checking handlers, with `check_handlers`) would refuse them for, warnings what scripts and
        conditions read that nothing in their diagram sets (checks.unset_variables) and, without
        `check_handlers`, the service tasks none of this engine's handlers binds."""
        files, form_files = form_deploys.split(list(files))
        with self.context.Session() as session:
            library, problems = definitions.read_to_deploy(session, list(files), force_executable,
                                                           self.context.handlers if check_handlers else None)
            forms, form_problems = form_deploys.read_forms(form_files)
            problems += form_problems + form_deploys.missing_forms(session, files, forms)
        roots = {name: library.roots[name] for name, _ in files if name in library.roots}
        warnings = [warning for name, root in roots.items() for warning in unset_variables(root, name)]
        if not check_handlers:
            warnings = [replace(problem, message=f"{problem.message} here; the workers that run it must bind it")
                        for problem in unbound_service_tasks(roots, self.context.handlers)] + warnings
        return unique(problems), warnings

    def deploy_paths(self, paths, force_executable=False):
        return self.deploy([(str(path), Path(path).read_bytes()) for path in paths], force_executable)

    def definitions(self):
        with self.context.Session() as session:
            return [definition_summary(d) for d in definitions.latest_of_each(session)]

    def versions(self, key):
        with self.context.Session() as session:
            found = definitions.versions(session, key)
            if not found:
                raise NotFound(f"no process '{key}' is deployed")
            return [definition_summary(d) for d in found]

    def xml(self, key, version=None):
        """The BPMN file a version (the newest by default) was deployed from, as text."""
        return self._definition(key, version).xml

    def start_form(self, key):
        """The form of the newest version's start event, resolved (form_resolution), or None."""
        with self.context.Session() as session:
            definition = definitions.latest_head(session.connection(), key)
            if definition is None:
                raise NotFound(f"no process '{key}' is deployed")
            spec, _ = self.context.specs.specs(session, definition.id,
                                               definitions.pinned_calls(session.connection(), definition))
            for start_event in spec.start.outputs:
                if maestro_info(start_event).get("form"):
                    return resolved(session, maestro_info(start_event)["form"], deployed_at(session, definition.id))
        return None

    def _definition(self, key, version=None):
        with self.context.Session() as session:
            found = definitions.latest(session, key) if version is None else definitions.version(session, key, version)
            if found is None:
                raise NotFound(f"no process '{key}'" + (f" version {version}" if version else "") + " is deployed")
            return found
