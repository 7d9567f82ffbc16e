"""Maestro's durable engine API: deployments and instances in a database, advanced by workers.

The CLI and the web app are thin layers over this class, and this class is a
thin face over the jobs it delegates to: deployments, instances, messages,
drafts, folders (deploying a processes folder at start), trials (in-memory
tries of a diagram) and the worker, which share one Context. State lives in
the database: a worker
loads an instance, runs it, and commits its progress after every completed
task, holding a lease on the instance's due-work row so that no other worker
advances it at the same time (DESIGN.md, "Durability model").
"""
import os
from collections.abc import Iterable
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from engine.handlers import Handlers
from engine.problems import Problem

from .context import Context
from .errors import Busy, InvalidDraft, NotFound, NotYours, Stale, Suspended, TaskTaken
from .instances import Instances
from .store import instance_rows
from .store.instance_filters import InstanceFilter
from .summaries import iso

if TYPE_CHECKING:
    from .deliveries import Deliveries
    from .deployments import Deployments
    from .drafts import Drafts
    from .event_paths import EventPaths
    from .folders import FolderDeploys
    from .instance_migrations import InstanceMigrations
    from .messages import Messages
    from .people import People
    from .repairs import Repairs
    from .token_moves import TokenMoves
    from .trials import Trials
    from .user_tasks import UserTasks
    from .worker import Worker

__all__ = ["Busy", "InstanceFilter", "InvalidDraft", "Maestro", "NotFound", "NotYours", "Stale", "Suspended",
           "TaskTaken"]


class _Shared:
    """An attribute of Maestro that is its Context's: read and written there, so every job sees a change."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, maestro: "Maestro | None", owner: type | None = None) -> Any:
        return self if maestro is None else getattr(maestro._context, self.name)

    def __set__(self, maestro: "Maestro", value: Any) -> None:
        setattr(maestro._context, self.name, value)


class Maestro:
    """The durable engine's public face (DESIGN.md): every method hands over to one job."""

    # The database (a SQLAlchemy engine and session factory), this object's settings, and what it tells:
    engine = _Shared()
    Session = _Shared()
    handlers = _Shared()
    actor = _Shared()
    lease_seconds = _Shared()
    round_seconds = _Shared()
    max_crashes = _Shared()
    batch_size = _Shared()
    specs = _Shared()
    observers = _Shared()
    stop_requested = _Shared()

    def __init__(self, database_url: str | None = None, handlers: Handlers | None = None, actor: str | None = None,
                 lease_seconds: float | None = None, batch_size: int = 32) -> None:
        """`observers` (a list, empty at first) are called with a dict for what this engine object
        commits: instance_started, instance_ended (status, compensated), task_completed (seconds
        from ready to completed), message_published (kind, name), message_delivered (kind, name,
        latency_seconds from publishing), message_buffered and message_expired (kind, name); the web
        app's metrics are made from them.

        `stop_requested` is asked before every step a worker runs: True stops the batch there,
        committing what is done (run_worker sets it)."""
        self._context = Context(database_url, handlers, actor, lease_seconds, batch_size)
        self._instances = Instances(self._context)

    # The other jobs are made (and their modules imported) on first use: a `maestro start` or `show`
    # process uses one job, and the others would import the reading wing, lxml and SpiffWorkflow for it.
    # Jobs keep no state of their own (only the Context's), so two threads making one at once is harmless.

    @cached_property
    def _deployments(self) -> "Deployments":
        from .deployments import Deployments
        return Deployments(self._context, self._instances)

    @cached_property
    def _messages(self) -> "Messages":
        from .messages import Messages
        return Messages(self._context)

    @cached_property
    def _event_paths(self) -> "EventPaths":
        from .event_paths import EventPaths
        return EventPaths(self._context)

    @cached_property
    def _deliveries(self) -> "Deliveries":
        from .deliveries import Deliveries
        return Deliveries(self._context, self._instances)

    @cached_property
    def _folders(self) -> "FolderDeploys":
        from .folders import FolderDeploys
        return FolderDeploys(self._context, self._deployments)

    @cached_property
    def _drafts(self) -> "Drafts":
        from .drafts import Drafts
        return Drafts(self._context)

    @cached_property
    def people(self) -> "People":
        """Accounts and API tokens: add, list, update, authenticate, new_token, person_for_token... (people.py)."""
        from .people import People
        return People(self._context)

    @cached_property
    def _worker(self) -> "Worker":
        from .worker import Worker
        return Worker(self._context)

    @cached_property
    def _token_moves(self) -> "TokenMoves":
        from .token_moves import TokenMoves
        return TokenMoves(self._context)

    @cached_property
    def _migrations(self) -> "InstanceMigrations":
        from .instance_migrations import InstanceMigrations
        return InstanceMigrations(self._context)

    @cached_property
    def _repairs(self) -> "Repairs":
        from .repairs import Repairs
        return Repairs(self._context)

    @cached_property
    def _user_tasks(self) -> "UserTasks":
        from .user_tasks import UserTasks
        return UserTasks(self._context)

    @cached_property
    def _trials(self) -> "Trials":
        from .trials import Trials
        return Trials(self._context)

    # -- definitions -----------------------------------------------------

    def deploy(self, files: Iterable[tuple[str, bytes]], force_executable: bool = False,
               check_handlers: bool = False, *, by: str | None = None) -> list[dict]:
        """Deploys (name, bytes) files: [{key, version, name, new, ...}] per process (deployments.py).

        With `check_handlers`, service tasks none of this engine's handlers binds are refused too:
        for a server whose worker runs what it deploys (the web app). `by`: the person deploying."""
        return self._deployments.deploy(files, force_executable, check_handlers, by=by)

    def lint(self, files: Iterable[tuple[str, bytes]], force_executable: bool = False,
             check_handlers: bool = True) -> tuple[list[Problem], list[Problem]]:
        """(problems, warnings) of (name, bytes) files, deploying nothing: problems are what
        deploy(check_handlers=...) refuses, warnings names that scripts and conditions read and
        nothing in the diagram sets (a handler or the start data may: never a refusal) and, without
        `check_handlers`, the service tasks none of this engine's handlers binds."""
        return self._deployments.lint(list(files), force_executable, check_handlers)

    def try_run(self, files: Iterable[tuple[str, bytes]], variables: dict | None = None,
                choices: dict[str, str] | None = None, force_executable: bool = False) -> dict:
        """Runs the files' process once in memory with this engine's handlers, each service task
        doing what `choices` says ({element id: "handler" | "nothing" | "fail" | "error:CODE"}), and
        writes nothing: {"status", "variables", "tasks", "error"} (trials.py)."""
        return self._trials.run(list(files), variables, choices, force_executable)

    def deploy_paths(self, paths: Iterable[str | os.PathLike], force_executable: bool = False) -> list[dict]:
        return self._deployments.deploy_paths(paths, force_executable)

    def deploy_folder(self, folder: str | os.PathLike, paths: Iterable[str | os.PathLike]) -> list[dict]:
        """Deploys the files among `paths` (under processes folder `folder`) whose content changed since
        that folder last deployed them: a version deployed from elsewhere since stays the newest.
        Returns what happened to each file (folders.py)."""
        return self._folders.deploy_folder(folder, paths)

    def definitions(self) -> list[dict]:
        """The newest version of each deployed process."""
        return self._deployments.definitions()

    def definition_versions(self, key: str) -> list[dict]:
        return self._deployments.versions(key)

    def definition_xml(self, key: str, version: int | None = None) -> str:
        """The BPMN file a version (the newest by default) was deployed from, as text."""
        return self._deployments.xml(key, version)

    def start_form(self, key: str) -> dict | None:
        """The form of the newest version's start event, or None: {"fields": [...]} (Camunda form fields),
        or a Camunda Form / Spiff Arena JSON schema resolved to what form-js draws (form_resolution)."""
        return self._deployments.start_form(key)

    # -- drafts: diagrams saved without deploying them --------------------------

    def drafts(self) -> list[dict]:
        """Every draft, without its XML: [{key, saved_by, saved_at, based_on_version}], by key."""
        return self._drafts.list()

    def draft(self, key: str) -> dict:
        """The draft of process `key` with its XML; NotFound when there is none."""
        return self._drafts.get(key)

    def save_draft(self, key: str, xml: str, saved_by: str, based_on_version: int | None = None) -> dict:
        """Saves the draft of `key`, replacing the one there was. The XML must be well-formed and safe and
        `key` the id of its executable process (InvalidDraft otherwise); lint problems are allowed."""
        return self._drafts.save(key, xml, saved_by, based_on_version)

    def delete_draft(self, key: str, if_xml: str | None = None) -> bool:
        """Deletes the draft of `key` (with `if_xml`: only while it holds that XML); NotFound when none."""
        return self._drafts.delete(key, if_xml)

    # -- instances -----------------------------------------------------------

    def start(self, key: str, data: dict | None = None, business_key: str | None = None,
              started_by: str = "user", trace: str | None = None, check_form: bool = False, *,
              by: str | None = None) -> dict:
        """Creates an instance of the newest version of `key`; a worker runs it. Its trace (tracing on) is
        that of `trace`, the caller's W3C traceparent, else the current span's, else a trace of its own.
        With `check_form`, `data` must fit the start event's form (InvalidForm if not) and is typed by it.
        `by`: the person starting it (its started_by), else `started_by`."""
        if check_form:
            from engine.forms.validation import checked
            data = checked(self.start_form(key), data or {})
        return self._instances.start(key, data, business_key, by or started_by, trace)

    def instance_counts(self) -> dict[str, dict[str, int]]:
        """{process key: {status: number of instances}}; "rolled_back" counts the completed ones that rolled back."""
        return self._instances.counts()

    def instances(self, status: str | None = None, key: str | None = None, business_key: str | None = None,
                  limit: int = 50, after: str | None = None, **filters: Any) -> list[dict]:
        """Instances, newest first; `after` is the `next` cursor of the previous page (see instance_page)."""
        return self.instance_page(status, key, business_key, limit, after, **filters)["instances"]

    def instance_page(self, status: str | None = None, key: str | None = None, business_key: str | None = None,
                      limit: int = 50, after: str | None = None, version: int | None = None,
                      element: str | None = None, error: str | None = None, suspended: bool | None = None,
                      outcome: str | None = None) -> dict:
        """{"instances": [...], "next": cursor of the following page or None}. Besides status, key and
        business key, `version`, `element` and `error` (its open incident's element id, and a part of its
        message in any case), `suspended` and `outcome` ("completed" or "rolled_back": how a completed
        instance ended, engine.run.outcomes) filter them.

        Pages by position (keyset), not by offset: the 2,000th page costs what the first does.
        """
        filters = InstanceFilter(key=key, version=version, status=status, element=element, error=error,
                                 business_key=business_key, suspended=suspended, outcome=outcome)
        return self._instances.page(filters, limit, after)

    def count_instances(self, **filters: Any) -> int:
        """How many instances match the filters of instance_page (key, version, status, element, error,
        business_key, suspended): what a batch action on them would take, up to its limit."""
        with self._context.Session() as session:
            return instance_rows.count_matching(session, InstanceFilter(**filters))

    def show(self, instance_id: str) -> dict:
        """Everything about an instance as of its last commit: tasks that happened, variables, history,
        open incident. Read from what the commits wrote (engine/durable/views.py), never rebuilt."""
        return self._instances.show(instance_id)

    def retry(self, instance_id: str, variables: dict | None = None, by: str | None = None,
              expected_updated_at: str | datetime | None = None) -> dict:
        """Resumes a failed instance from its failed task (a worker runs it). `variables`, if given, is
        the whole variables object as the person edited it: added, changed and removed variables
        are applied first, in the same commit, and the history names the ones changed (not their
        values). `expected_updated_at` (the `updated_at` the person's page showed): Stale if the
        instance changed since. Suspended if it is suspended (repairs.py)."""
        return self._repairs.retry(instance_id, variables, by, expected_updated_at)

    def set_variables(self, instance_id: str, variables: dict, by: str | None = None,
                      expected_updated_at: str | datetime | None = None) -> dict:
        """Edits a failed instance's variables as `retry` does, without retrying it."""
        return self._repairs.set_variables(instance_id, variables, by, expected_updated_at)

    def cancel(self, instance_id: str, by: str | None = None) -> dict:
        return self._instances.cancel(instance_id, by)

    def suspend(self, instance_id: str, by: str | None = None, reason: str | None = None) -> dict:
        """Suspends a running, waiting or failed instance: its status stays and it shows `suspended`;
        no worker runs it (timers due meanwhile fire after resume), messages for it are kept, its user
        tasks and retry are refused; cancelling is allowed (repairs.py)."""
        return self._repairs.suspend(instance_id, by, reason)

    def resume(self, instance_id: str, by: str | None = None) -> dict:
        """Resumes a suspended instance: its due work runs and the messages kept for it are delivered."""
        return self._repairs.resume(instance_id, by)

    # -- many instances at once: {"done": [ids], "refused": [{id, reason}], "more": bool} (batches.py) --

    def retry_many(self, filters: dict | InstanceFilter | None = None, ids: list[str] | None = None,
                   by: str | None = None) -> dict:
        """Retries the failed instances a filter (at least one criterion) or a list of ids names, each
        in its own commit; at most BATCH_LIMIT a call ("more": the filter matched more)."""
        return self._many(lambda instance_id: self.retry(instance_id, by=by), filters, ids)

    def cancel_many(self, filters: dict | InstanceFilter | None = None, ids: list[str] | None = None,
                    by: str | None = None) -> dict:
        return self._many(lambda instance_id: self.cancel(instance_id, by=by), filters, ids)

    def suspend_many(self, filters: dict | InstanceFilter | None = None, ids: list[str] | None = None,
                     by: str | None = None, reason: str | None = None) -> dict:
        return self._many(lambda instance_id: self.suspend(instance_id, by=by, reason=reason), filters, ids)

    def resume_many(self, filters: dict | InstanceFilter | None = None, ids: list[str] | None = None,
                    by: str | None = None) -> dict:
        return self._many(lambda instance_id: self.resume(instance_id, by=by), filters, ids)

    def _many(self, action: Any, filters: dict | InstanceFilter | None, ids: list[str] | None) -> dict:
        from .batches import act_on_many
        if isinstance(filters, dict):
            filters = InstanceFilter(**filters)
        return act_on_many(self._context, action, filters, ids)

    def incidents(self) -> dict:
        """The open incidents of failed instances grouped by (process key, element, error message), the
        largest groups first: {"groups": [{key, element, element_name, message, count, first_at,
        last_at}], "open": how many open incidents in all}."""
        from .store import incident_groups
        with self._context.Session() as session:
            groups = [{**group, "first_at": iso(group["first_at"]), "last_at": iso(group["last_at"])}
                      for group in incident_groups.groups(session)]
            return {"groups": groups, "open": incident_groups.open_count(session)}

    def open_incident_count(self) -> int:
        """How many failed instances have an open incident (the navigation's count)."""
        from .store import incident_groups
        with self._context.Session() as session:
            return incident_groups.open_count(session)

    def complete_task(self, instance_id: str, task_ref: str, data: dict | None = None, by: str | None = None,
                      check_form: bool = False, as_operator: bool = False) -> dict:
        """Completes a waiting user task; a worker carries the instance on from there. `by` is the person
        completing it (the history's actor; an unassigned task becomes theirs). With `check_form`, `data`
        must fit the task's form (engine.forms.validation.InvalidForm names each field that does not) and
        is typed by it: what a person submitted, never trusted. A task someone else has claimed is
        TaskTaken for `by`, unless `as_operator` (an operator completing it for them)."""
        return self._instances.complete_task(instance_id, task_ref, data, by=by, check_form=check_form,
                                             as_operator=as_operator)

    # -- an operator's surgery: moving tokens, migrating instances to another version ---------

    def move_token(self, instance_id: str, from_task: str, to_element: str, reason: str,
                   by: str | None = None) -> dict:
        """Cancels the active activity `from_task` (its task id or element id) and starts the element
        `to_element` of the same scope as if a token arrived before it; `reason` (required) is kept in
        the history with `by`, the person. A failed task moved off resolves its incident; a worker runs
        the target. {instance summary, moved, warnings, incident_resolved}; MoveRefused (an
        InstanceError) with `reasons` when it cannot be done, and nothing changes (token_moves.py)."""
        return self._token_moves.move(instance_id, from_task, to_element, reason, by)

    def move_choices(self, instance_id: str) -> dict:
        """What a token of the instance can move from and to: {"active": [{task_id, bpmn_id, name, state}],
        "targets": [{bpmn_id, name, type, scope}]} (token_moves.py)."""
        return self._token_moves.choices(instance_id)

    def migrate(self, key: str, from_version: int, to_version: int, instance_ids: list[str] | None = None,
                dry_run: bool = False, by: str | None = None) -> dict:
        """Moves the running, waiting and failed instances of version `from_version` of `key` (or those of
        `instance_ids`) to `to_version`, each in its own commit: {"migrated": [ids], "refused": [{id,
        reasons}]}. An instance moves when every element it is active in exists in the new version with
        the same id and kind; `dry_run` says what would happen and changes nothing
        (instance_migrations.py)."""
        return self._migrations.migrate(key, from_version, to_version, instance_ids, dry_run, by)

    # -- user tasks: who works what (user_tasks.py) ----------------------------------

    def tasks(self, person: str | None, groups: list[str], view: str = "mine", key: str | None = None,
              limit: int = 50, after: str | None = None) -> dict:
        """{"tasks": [...], "next": cursor or None}: open user tasks, highest priority first, then the soonest
        due, then the oldest. `view`: "mine" (assigned to `person`), "groups" (unassigned, offered to the
        person or one of `groups`), "unassigned" (offered to nobody in particular), "all". Each task:
        {instance_id, task_id, element, name, key, process_name, business_key, assignee, candidate_users,
        candidate_groups, due_at, follow_up_at, priority, created_at, overdue, ...}."""
        return self._user_tasks.tasks(person, groups, view, key, limit, after)

    def user_task(self, instance_id: str, task_id: str) -> dict:
        """One user task as the lists show it, open or not (its `state`); NotFound when there is none."""
        return self._user_tasks.task(instance_id, task_id)

    def claim(self, instance_id: str, task_id: str, person: str, by: str | None = None) -> dict:
        """Assigns an open task to `person`: TaskTaken when someone else has it (of two claims at once, one
        wins) or it no longer waits. The history records the claim by `by` (default: the person)."""
        return self._user_tasks.claim(instance_id, task_id, person, by)

    def unclaim(self, instance_id: str, task_id: str, person: str | None, by: str | None = None,
                as_operator: bool = False) -> dict:
        """Gives a task back (no assignee): NotYours unless `person` has it or `as_operator`."""
        return self._user_tasks.unclaim(instance_id, task_id, person, by, as_operator)

    # -- messages ------------------------------------------------------------

    def publish(self, name: str, correlation: str | dict | None = None, data: dict | None = None,
                ttl: float | str | None = None, trace: str | None = None, *, by: str | None = None) -> dict:
        """Stores message `name` (its `data` become the receivers' variables) and returns {"id", "status"}
        at once; workers deliver it to every catch waiting for it that `correlation` finds (a key, or an
        object of a business key and variables) and start each process that begins with it. Nobody
        waiting, it is kept `ttl` (seconds or ISO 8601; default MAESTRO_MESSAGE_TTL_SECONDS) for a catch
        to come (messages.py, deliveries.py). It carries the trace of `trace`, the publisher's W3C
        traceparent (else the current span's), to the instances it reaches or starts. `by`: the person
        publishing it (its published_by)."""
        return self._messages.publish(name, correlation, data, ttl, published_by=by, trace=trace)

    def signal(self, name: str, data: dict | None = None, trace: str | None = None, *,
               by: str | None = None) -> dict:
        """Stores signal `name`, which workers broadcast to every instance and process that catches it
        now; {"id", "status"} at once. `trace`: as publish's; `by`: as publish's."""
        return self._messages.signal(name, data, published_by=by, trace=trace)

    def message(self, message_id: str) -> dict:
        """A message or signal and what became of it: its status and deliveries (which instance took it
        where, or was started by it, when)."""
        return self._messages.message(message_id)

    def event_path(self, key: str | None = None, instance_id: str | None = None) -> dict:
        """Every instance and message a business transaction involved, across processes: from the
        instances with business key `key` and the messages whose business key or correlation is `key`
        (or from instance `instance_id`), following who sent and who took each message. {instances,
        messages (with deliveries and waits), edges, timeline, truncated} (event_paths.py)."""
        return self._event_paths.event_path(key, instance_id)

    def instance_messages(self, instance_id: str) -> dict:
        """The messages that started or continued an instance and those it sent:
        {started_by, continued_by, sent, truncated} (event_paths.py)."""
        return self._event_paths.instance_messages(instance_id)

    # -- workers -----------------------------------------------------------

    def work_once(self) -> bool:
        """Delivers one due message, or else claims one due job and advances its instance (nothing joins
        it); False when nothing was due."""
        return self._deliveries.deliver_due(1) > 0 or self._worker.work_batch(1, join=False) > 0

    def deliver_messages(self, limit: int = 16) -> int:
        """Delivers up to `limit` due messages and signals (each to its receivers, in their commits);
        how many it took (deliveries.py). `work_batch` does this first."""
        return self._deliveries.deliver_due(limit)

    def work_batch(self, size: int | None = None) -> int:
        """Delivers the due messages, then claims up to `size` (default: batch_size) due jobs and advances
        their instances together; returns how many messages and jobs it took (deliveries.py, worker.py)."""
        return self._deliveries.deliver_due() + self._worker.work_batch(size)

    def release_leases(self) -> int:
        """Gives up every lease this worker holds (it stopped, or its batch failed): others claim at once."""
        return self._worker.release_leases()

    def next_due(self) -> datetime | None:
        """When a worker could next claim a job or deliver a message (None when there is none)."""
        due = [moment for moment in (self._worker.next_due(), self._deliveries.next_due()) if moment is not None]
        return min(due, default=None)

    # -- for tests: an instance as a worker would load it -------------------

    def _row(self, session: Any, instance_id: str) -> Any:
        return self._context.row(session, instance_id)

    def _load(self, session: Any, row: Any, logged: list | None = None) -> tuple[Any, Any]:
        return self._context.load(session, row, logged)

    def _rebuilt(self, instance_id: str) -> dict:
        """`show` from the instance rebuilt (snapshot and replay): what the read model must agree with."""
        return self._instances.rebuilt(instance_id)
