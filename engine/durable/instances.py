"""The instances job: starting instances, listing and showing them, and the user's actions on one
(retry, cancel, complete a task). Workers run them on from there (worker.py)."""
import uuid
from datetime import datetime

from engine.run import variable_limits
from engine.run.instance_errors import InstanceError

from . import tracing
from .errors import NotFound, Suspended, TaskTaken
from .group_commit import GroupCommit
from .store import definitions, instance_rows, jobs, user_task_rows
from .summaries import instance_summary, iso
from .views import committed, instance_row, instance_view

# What loads and runs an instance (SpiffWorkflow, the reading wing) is imported by the methods that do:
# a start or a listing, often the whole of a `maestro` process, needs none of it.


class Instances:
    """Maestro's instance methods, over its Context."""

    def __init__(self, context):
        self.context = context
        # {definition id: the called versions} of each version a start was accepted for here: those
        # specs build together (see _pins).
        self._buildable = {}
        self.starts = GroupCommit(context.engine)

    def start(self, key, data=None, business_key=None, started_by="user", trace=None):
        """Creates an instance of the newest version of `key`; a worker runs it. It belongs to the trace
        of `trace` (the caller's traceparent), else of the current span, else to its own (tracing.py)."""
        data = variable_limits.checked(data or {}, "the start data")
        if business_key is not None and len(business_key) > instance_rows.BUSINESS_KEY_LENGTH:
            # Checked here, not by the database: a start that fails to write fails the starts sharing its commit.
            raise InstanceError(f"the business key is {len(business_key)} characters long; "
                                f"at most {instance_rows.BUSINESS_KEY_LENGTH} are kept")

        trace = tracing.of_caller(trace)

        def write(connection, version):
            instance_id = self.add(connection, version, data, business_key, started_by, trace)
            jobs.add(connection, instance_id, "start")
            return instance_id

        # Plain connections, not ORM sessions, and starts that arrive together share one commit.
        instance_id = self.starts.run(lambda connection: self.version_to_start(connection, key), write)
        self.context.notify({"event": "instance_started", "key": key})
        return {"id": instance_id, "status": "running"}

    def insert(self, connection, key, data, business_key, started_by):
        """Adds an instance of the newest version of `key` (not yet due: the caller says when); its id."""
        return self.add(connection, self.version_to_start(connection, key), data, business_key, started_by)

    def version_to_start(self, connection, key):
        """(the newest version of `key`, {called key: definition id}), known to build; NotFound if none."""
        definition = definitions.latest_head(connection, key)
        if definition is None:
            raise NotFound(f"no process '{key}' is deployed")
        return definition, self._pins(connection, definition)

    def add(self, connection, version, data, business_key, started_by, trace=None):
        """Adds an instance of `version` (from version_to_start), not yet due; its id."""
        definition, called = version
        instance_id = str(uuid.uuid4())
        # Only the start data is stored: the worker that runs it builds the task tree.
        instance_rows.add(connection, dict(
            id=instance_id, definition_id=definition.id, key=definition.key, version=definition.version,
            called_definitions=called, status="running", business_key=business_key, started_by=started_by,
            variables=dict(data or {}), state="", created_at=jobs.now(), updated_at=jobs.now(), trace=trace))
        return instance_id

    def _pins(self, connection, definition):
        """{key: definition id} of the processes a start of `definition` calls (the newest versions now),
        once it is known that their specs build together: no start of what cannot run is accepted.

        Known when a start of the same version with the same called versions was accepted before, here
        or (the newest instance says so) by any process; else the specs are built now, which reads the
        XML with the reading wing: a `maestro start` process does that only for a version's first start.
        """
        known = self._buildable.get(definition.id)
        if known is None or not _still_newest(connection, known):
            known = _pins_of_an_accepted_start(connection, definition)
        if known is None:
            known = definitions.pinned_calls(connection, definition)
            specs = self.context.specs
            if not specs.cached(definition.id, known):
                with self.context.Session() as session:
                    specs.specs(session, definition.id, known)
        self._buildable[definition.id] = known
        return known

    def page(self, filters, limit=50, after=None):
        """{"instances": [...], "next": cursor of the following page or None}, of the instances
        `filters` (an InstanceFilter) matches."""
        with self.context.Session() as session:
            rows = instance_rows.page(session, filters, limit, _cursor(after) if after else None)
            more, rows = len(rows) > limit, rows[:limit]
            return {"instances": [instance_summary(row) for row in rows],
                    "next": f"{iso(rows[-1].created_at)}|{rows[-1].id}" if more else None}

    def counts(self):
        """{process key: {status: number of instances}}."""
        with self.context.Session() as session:
            return instance_rows.counts(session)

    def show(self, instance_id):
        """Everything about an instance as of its last commit: tasks, variables, history, open incident
        (views.py: read from what the commits wrote, never rebuilt)."""
        with self.context.Session() as session:
            shown = instance_view(self.context, session, instance_id)
        return shown if shown is not None else self.rebuilt(instance_id)

    def rebuilt(self, instance_id):
        """What `show` says, from the instance rebuilt as a worker would load it (its tasks include
        the predicted ones): what the read model is checked against."""
        with self.context.Session() as session:
            row = instance_row(session.connection(), instance_id)
            instance, _ = self.context.load(session, row)
            return {**committed(session, session.connection(), row), "data": instance.data,
                    "tasks": instance.tasks(), "waiting": instance.waiting_tasks()}

    def cancel(self, instance_id, by=None):
        from . import observer_events
        context = self.context
        with context.Session() as session:
            row = context.row(session, instance_id)
            if row.status in ("completed", "cancelled"):
                raise InstanceError(f"instance {instance_id} is already {row.status}")
            context.lock_for_user(session, row.id)
            instance, writer = context.load(session, row)
            instance.cancel()
            # Cancelling a suspended instance ends its suspension too: nothing of it is left to resume.
            row.suspended_at = row.suspended_by = row.suspended_reason = None
            writer.write(session.connection(), by or f"user@{context.actor}", status="cancelled",
                         error=instance.error, ended_at=jobs.now())
            jobs.unschedule(session, row.id)
            session.commit()
            traced = tracing.of(instance)
            if traced is not None:
                traced.ended("cancelled")
            context.notify(observer_events.ended(instance, "cancelled"))
            return context.summary(session, instance_id)

    def complete_task(self, instance_id, task_ref, data=None, by=None, check_form=False, as_operator=False):
        """Completes a waiting user task; a worker carries the instance on from there. `by` names the
        person (the history's actor; an unassigned task they complete is theirs: an implicit claim; one
        someone else has claimed is TaskTaken unless `as_operator`). With `check_form`, `data` must fit
        the task's form (engine.forms.validation.InvalidForm if not) and is typed by it."""
        from .settling import reschedule, settle
        data = variable_limits.checked(data or {}, f"the data completing task '{task_ref}'")
        context = self.context
        actor = by or f"user@{context.actor}"
        with context.Session() as session:
            row = context.row(session, instance_id)
            refuse_if_suspended(row, f"complete task '{task_ref}'")
            context.lock_for_user(session, row.id)
            session.refresh(row)  # as of the lease: a suspend may have committed between the read and the take
            refuse_if_suspended(row, f"complete task '{task_ref}'")
            instance, writer = context.load(session, row)
            task = instance._find_waiting_task(task_ref)
            if check_form:
                data = _checked_by_form(session, row, task, data)
            if by:
                _claim_implicitly(session.connection(), instance_id, str(task.id), by, as_operator)
            task.data.update(data or {})
            if instance._run_task(task):
                fields, next_job = {"status": "running"}, ("continue", None)
            else:
                fields, next_job = settle(session, row.id, instance)
            writer.write(session.connection(), actor, **fields)
            reschedule(session, row.id, next_job)
            session.commit()
            traced = tracing.of(instance)
            if traced is not None:
                traced.completed_by_user(task.task_spec.bpmn_name or task.task_spec.bpmn_id, task.task_spec.bpmn_id,
                                         actor)
                if fields["status"] == "completed":  # its last task was this one
                    traced.ended("completed", fields["ended_at"])
            return context.summary(session, instance_id)


def _checked_by_form(session, row, task, data):
    """`data` checked against and typed by the form of `task` (as the instance's version resolves it)."""
    from engine.forms.validation import checked
    from engine.run.specs import maestro_info

    from .form_resolution import deployed_at, resolved

    form = maestro_info(task.task_spec).get("form")
    if not form:
        return data
    return checked(resolved(session, form, deployed_at(session, row.definition_id)), data)


def refuse_if_suspended(row, action):
    """Suspended raised when the instance is suspended: only cancelling and resuming act on it then."""
    if row.suspended_at is not None:
        raise Suspended(f"instance {row.id} is suspended: resume it to {action}")


def _claim_implicitly(connection, instance_id, task_id, person, as_operator):
    """Completing an unassigned user task makes it the person's first (recorded as a claim). One that
    someone else claimed, even a moment ago (after the caller's checks), is theirs: TaskTaken, unless an
    operator completes it for them."""
    row = user_task_rows.one(connection, instance_id, task_id)
    if row is None or row.state != "open" or row.assignee == person:
        return
    if row.assignee is None and user_task_rows.claim(connection, instance_id, task_id, person):
        user_task_rows.record(connection, row, "CLAIMED", person, {"assignee": person})
        return
    if not as_operator:
        taken_by = user_task_rows.one(connection, instance_id, task_id).assignee
        raise TaskTaken(f"the task '{row.name or row.element}' is claimed by {taken_by}")


def _pins_of_an_accepted_start(connection, definition):
    """The pins of the newest instance of `definition`'s process when it started on this very version and
    every version it pinned is still the newest of its process, else None.

    Then a start now pins the same versions (which processes a version calls is fixed by its XML), and
    their specs built together when that start was accepted: this one is accepted without reading any
    XML. (An accepted start had every called process: building its specs requires them.)
    """
    newest = instance_rows.newest_start(connection, definition.key)
    if newest is None or newest.definition_id != definition.id:
        return None
    called = dict(newest.called_definitions or {})
    return called if _still_newest(connection, called) else None


def _still_newest(connection, called):
    """Whether each version in {key: definition id} is still the newest of its process."""
    for key, definition_id in called.items():
        head = definitions.latest_head(connection, key)
        if head is None or head.id != definition_id:
            return False
    return True


def _cursor(text):
    try:
        moment, instance_id = text.split("|", 1)
        return datetime.fromisoformat(moment), instance_id
    except ValueError as error:
        raise InstanceError(f"not a page cursor: {text!r}") from error
