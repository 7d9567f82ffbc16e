"""The database schema. Changing it means a new Alembic migration (engine/durable/store/migrations)."""
from datetime import datetime, timezone

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
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


class Instance(Base):
    __tablename__ = "instances"
    __table_args__ = (
        Index("ix_instances_status_created", "status", "created_at"),
        Index("ix_instances_key_created", "key", "created_at"),
        Index("ix_instances_key_status", "key", "status"),  # counts per process and status
        Index("ix_instances_created", "created_at", "id"),  # the unfiltered list, newest first
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    key: Mapped[str] = mapped_column(String(255))
    version: Mapped[int]
    # Versions of other processes it calls, pinned when it started: {key: definition id}.
    called_definitions: Mapped[dict] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16))
    business_key: Mapped[str | None] = mapped_column(String(255), index=True)
    # "user" (the API or CLI), or "timer" (its process's timer start event, at deploy).
    started_by: Mapped[str] = mapped_column(String(16), default="user", server_default="user")
    variables: Mapped[dict] = mapped_column(default=dict)
    # The SpiffWorkflow state without the process spec (stored once per version).
    state: Mapped[str] = mapped_column(Text)
    error: Mapped[dict | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]


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


class Job(Base):
    """Due work for one instance: a start, a timer, a retry. At most one row per instance,
    so that a lease on it gives one worker the instance."""
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_lane_due_at", "lane", "due_at"),)  # a claim reads each lane oldest first

    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    # 0: work promised for its time or for an instance under way (timers, retries, a delivered
    # message); 1: an instance that has not run yet. Claims take lane 0 first (store.jobs.claim).
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


class AwaitedMessage(Base):
    """A message a waiting instance waits for: where `publish` looks for the instances to reach."""
    __tablename__ = "awaited_messages"

    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)


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
