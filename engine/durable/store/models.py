"""The database schema. Changing it means a new Alembic migration (engine/durable/store/migrations)."""
from datetime import datetime, timezone

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow():
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True), dict: JSON, list: JSON}


class Definition(Base):
    """One version of one process: the file it came from, verbatim."""
    __tablename__ = "definitions"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[int]
    name: Mapped[str | None] = mapped_column(String(255))
    file_name: Mapped[str] = mapped_column(String(1024))
    xml: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime] = mapped_column(default=utcnow)
    deployed_by: Mapped[str | None] = mapped_column(String(255))  # the person (None: before accounts, a folder)


class Instance(Base):
    __tablename__ = "instances"
    __table_args__ = (
        Index("ix_instances_status_created", "status", "created_at"),
        Index("ix_instances_key_created", "key", "created_at"),
        Index("ix_instances_key_status", "key", "status"),  # counts per process and status
        Index("ix_instances_created", "created_at", "id"),  # the unfiltered list, newest first
        Index("ix_instances_outcome_created", "outcome", "created_at"),  # e.g. the rolled-back ones
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    key: Mapped[str] = mapped_column(String(255))
    version: Mapped[int]
    # Versions of other processes it calls, pinned when it started: {key: definition id}.
    called_definitions: Mapped[dict] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16))
    business_key: Mapped[str | None] = mapped_column(String(255), index=True)
    # The person who started it (the web app or API), "user" (the CLI, or before accounts), or "timer"
    # (its process's timer start event, at deploy). SQLite keeps the 16 declared before (migration 0017):
    # it stores any length, and widening it there would copy the table.
    started_by: Mapped[str] = mapped_column(String(255).with_variant(String(16), "sqlite"), default="user",
                                            server_default="user")
    variables: Mapped[dict] = mapped_column(default=dict)
    # The SpiffWorkflow state without the process spec (stored once per version).
    state: Mapped[str] = mapped_column(Text)
    error: Mapped[dict | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    # How a completed instance ended (engine.run.outcomes): "completed" or "rolled_back" (its undo
    # tasks ran); None until it completes. end_event: the name of the end event it reached.
    outcome: Mapped[str | None] = mapped_column(String(16))
    end_event: Mapped[str | None] = mapped_column(String(255))
    # W3C traceparent of the trace it belongs to (its starter's, or the message's that started it):
    # its tasks and the messages it sends are spans of that trace (engine/durable/tracing.py).
    trace: Mapped[str | None] = mapped_column(String(64))
    # Set while an operator has it suspended (migration 0013): its status stays, its jobs wait (store/jobs.py).
    suspended_at: Mapped[datetime | None]
    suspended_by: Mapped[str | None] = mapped_column(String(255))
    suspended_reason: Mapped[str | None] = mapped_column(Text)


class HistoryEntry(Base):
    """A task state change: which task, what it became, when, by whom, with what data or error."""
    __tablename__ = "history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    type: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    undo_of: Mapped[str | None] = mapped_column(String(36))
    actor: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    data_in: Mapped[dict | None]
    data_out: Mapped[dict | None]
    error: Mapped[dict | None]


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str | None] = mapped_column(String(255))
    message: Mapped[str] = mapped_column(Text)
    error_type: Mapped[str | None] = mapped_column(String(255))
    traceback: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(255))  # who retried it


class Job(Base):
    """Due work for one instance: a start, a timer, a retry. At most one row per instance,
    so that a lease on it gives one worker the instance."""
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_lane_due_at", "lane", "due_at"),)  # a claim reads each lane oldest first

    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    # 0: work promised for its time or for an instance under way (timers, retries, a delivered
    # message); 1: an instance that has not run yet. Claims take lane 0 first (store.jobs.claim);
    # 2: its instance is suspended, and no claim reads it.
    lane: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_by: Mapped[str | None] = mapped_column(String(255))
    lease_until: Mapped[datetime | None]
    # Claims whose worker died holding them (its lease ran out, never released) since the
    # instance last committed progress: a suspected poison pill runs alone, then fails.
    crashes: Mapped[int] = mapped_column(default=0, server_default="0")


class InstanceTask(Base):
    """One task of an instance's SpiffWorkflow task tree, as SpiffWorkflow serializes it.

    Stored per task so that a commit writes only the tasks that changed: the
    cost of a step does not grow with the length of the process.
    """
    __tablename__ = "instance_tasks"

    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # "" for the top-level workflow, else the id of the subprocess task whose workflow it belongs to.
    workflow: Mapped[str] = mapped_column(String(36))
    body: Mapped[str] = mapped_column(Text)


class InstanceStep(Base):
    """A step an instance took since its last saved snapshot: the outcomes of the handlers it called.

    Workers commit a running instance after every step by adding one of these
    (cheap) instead of rewriting its tasks; a worker that takes the instance
    over rebuilds it from the snapshot by replaying them (store.steps).
    Writing a snapshot deletes them.
    """
    __tablename__ = "instance_steps"

    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # JSON {task id: {"result": {...}} or {"bpmn_error": [code, message]}}, as text: written on the hot path.
    outcomes: Mapped[str] = mapped_column(Text)
    # The instance's variables after the step (JSON text): what its page shows without a replay.
    # None in steps logged before the read model (migration 0009).
    variables: Mapped[str | None] = mapped_column(Text)


class Subscription(Base):
    """A message or signal a waiting instance waits for, with the values a message reaches it by.

    Written in the commit of the step after which the instance waits (and removed in the one after
    which it no longer does), so that delivering a message is an index lookup, never a scan of the
    waiting instances (engine/durable/deliveries.py)."""
    __tablename__ = "message_subscriptions"
    __table_args__ = (
        Index("ix_subscriptions_key", "kind", "name", "correlation_key", "business_key"),
        Index("ix_subscriptions_business_key", "kind", "name", "business_key"),
    )

    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # "message" or "signal"
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    # The catch's correlation key from the diagram, evaluated when it started waiting (None: the diagram
    # gives none, and a message reaches it by the business key, or by name alone without one).
    correlation_key: Mapped[str | None] = mapped_column(String(255))
    business_key: Mapped[str | None] = mapped_column(String(255))
    element: Mapped[str | None] = mapped_column(String(255))  # the waiting catch's element id
    since: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    """A message or signal published by a process (its outbox row, written in the commit of the step
    that threw it) or from outside: due work for the workers that deliver it, and the record of it."""
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_status_due", "status", "due_at"),  # what is due to deliver
        Index("ix_messages_buffered", "status", "kind", "name", "correlation"),  # kept for a catch to come
        Index("ix_messages_business_key", "business_key"),
        Index("ix_messages_correlation", "correlation"),
        Index("ix_messages_source", "source_instance_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # "message" or "signal"
    name: Mapped[str] = mapped_column(String(255))
    # The value it reaches catches by (a correlation key or a business key; None: every catch of its name).
    correlation: Mapped[str | None] = mapped_column(String(255))
    business_key: Mapped[str | None] = mapped_column(String(255))  # given to the instances it starts
    # Variables a receiver must hold, beyond the key (a publish's correlation by variables).
    match_variables: Mapped[dict | None]
    payload: Mapped[dict] = mapped_column(default=dict)
    # pending (to deliver) · delivered · buffered (nobody waited: kept until expires_at) · expired
    status: Mapped[str] = mapped_column(String(12))
    due_at: Mapped[datetime]
    locked_by: Mapped[str | None] = mapped_column(String(255))
    lease_until: Mapped[datetime | None]
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]  # delivered or expired
    source_instance_id: Mapped[str | None] = mapped_column(String(36))
    source_element: Mapped[str | None] = mapped_column(String(255))
    trace: Mapped[str | None] = mapped_column(String(64))  # W3C traceparent of the publishing span
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")  # deliveries tried (busy receivers)


class Delivery(Base):
    """One receiver of a message: an instance whose catch took it, or one its start event began.
    Written in the receiver's commit: the unique keys make each receiver get a message once."""
    __tablename__ = "message_deliveries"
    __table_args__ = (
        UniqueConstraint("message_id", "instance_id"),
        UniqueConstraint("message_id", "process_key"),  # one instance started per process
        Index("ix_deliveries_instance", "instance_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    instance_id: Mapped[str] = mapped_column(String(36))
    element: Mapped[str | None] = mapped_column(String(255))
    process_key: Mapped[str | None] = mapped_column(String(255))  # set when the message started it
    delivered_at: Mapped[datetime] = mapped_column(default=utcnow)


class TaskMark(Base):
    """A fact about a task that its state does not tell, for an instance's page (engine/durable/views.py):
    "compensated" (its undo ran to the end) or "gone" (it left the task tree, e.g. with the
    subprocess an event interrupted). Written in the commit of the step that made it so."""
    __tablename__ = "task_marks"

    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    mark: Mapped[str] = mapped_column(String(16), primary_key=True)


class Draft(Base):
    """A process's diagram saved without deploying it: one per process (its key), replaced by each save."""
    __tablename__ = "drafts"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    xml: Mapped[str] = mapped_column(Text)
    saved_by: Mapped[str] = mapped_column(String(255))
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The deployed version it was edited from (None: a new diagram); deploying it makes the next one anyway.
    based_on_version: Mapped[int | None]


class FolderDeployment(Base):
    """What a processes folder last deployed from one of its files (or found already deployed).

    Deploying the folder again (at every start of `maestro serve` and `maestro
    worker`) skips a file whose content has not changed since: a version
    deployed from elsewhere since then (the editor, an upload) stays the newest.
    """
    __tablename__ = "folder_deployments"

    # The folder's name (its last path component), not its path: see engine/durable/folders.py.
    folder: Mapped[str] = mapped_column(String(255), primary_key=True)
    file_name: Mapped[str] = mapped_column(String(1024), primary_key=True)  # relative to the folder, with "/"
    content_hash: Mapped[str] = mapped_column(String(64))
    versions: Mapped[dict] = mapped_column(default=dict)  # {process key: version} the content is deployed as
    deployed_at: Mapped[datetime] = mapped_column(default=utcnow)


class Form(Base):
    """One version of one form file deployed beside the diagrams: a Camunda Form (form-js JSON, known by
    its "id") or a Spiff Arena JSON-schema / UI-schema file (known by its file name)."""
    __tablename__ = "forms"
    __table_args__ = (UniqueConstraint("form_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    form_id: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[int]
    kind: Mapped[str] = mapped_column(String(32))  # "camunda-form" | "json-schema"
    schema: Mapped[str] = mapped_column(Text)  # the file's JSON, verbatim
    content_hash: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(1024))
    deployed_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserTask(Base):
    """A user task of an instance as the people who work it see it: who it is for, when it is due, and
    whether it is still open. Written in the commit that makes the task wait (open), completes it or
    ends it otherwise (cancelled), from the same step's history (engine/durable/store/user_task_rows.py),
    so that it never disagrees with the instance; a claim is a compare-and-set of `assignee`."""
    __tablename__ = "user_tasks"
    __table_args__ = (
        Index("ix_user_tasks_open", "state", "priority", "due_at", "created_at"),  # the task lists, in their order
        Index("ix_user_tasks_assignee", "state", "assignee"),
    )

    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    element: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    process_key: Mapped[str] = mapped_column(String(255))
    version: Mapped[int]
    business_key: Mapped[str | None] = mapped_column(String(255))
    assignee: Mapped[str | None] = mapped_column(String(255))
    candidate_users: Mapped[list] = mapped_column(default=list)
    candidate_groups: Mapped[list] = mapped_column(default=list)
    due_at: Mapped[datetime | None]
    follow_up_at: Mapped[datetime | None]
    priority: Mapped[int] = mapped_column(default=50)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(16), default="open")  # open · completed · cancelled
    completed_by: Mapped[str | None] = mapped_column(String(255))
    completed_at: Mapped[datetime | None]


class Person(Base):
    """An account of the web app and API: a local password or an OpenID Connect identity (engine/durable/people.py)."""
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(255))
    password_hash: Mapped[str | None] = mapped_column(String(255))  # None: signs in through OpenID Connect only
    roles: Mapped[list] = mapped_column(default=list)  # of viewer, worker, operator, modeler, admin
    groups: Mapped[list] = mapped_column(default=list)  # matched with user tasks' candidate groups
    source: Mapped[str] = mapped_column(String(16))  # "local" or "oidc"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled: Mapped[bool] = mapped_column(default=False, server_default=false())


class ApiToken(Base):
    """A personal API token: only the SHA-256 of its secret is kept, and a short prefix to recognise it by."""
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(ForeignKey("people.name", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
