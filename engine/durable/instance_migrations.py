"""The migration job: instances of one version of a process moved to another version, each in its own
commit (engine.run.version_migration says whether one can move and moves it in memory)."""
from engine.run.instance_errors import InstanceError

from .errors import Busy, NotFound
from .store import definitions, jobs, user_task_rows
from .store.models import Definition
from .store.models import Instance as InstanceRow
from .store.person_actions import surgery

MIGRATABLE = ("running", "waiting", "failed")
MAX_IDS = 1000  # instances named in one request: a bigger batch is several requests


class InstanceMigrations:
    """Maestro.migrate, over its Context."""

    def __init__(self, context):
        self.context = context

    def migrate(self, key, from_version, to_version, instance_ids=None, dry_run=False, by=None):
        """{"migrated": [ids], "refused": [{id, reasons}], "dry_run"}; with `dry_run`, "migrated" lists the
        instances that would move and nothing changes."""
        from_version, to_version = _version_number(from_version, "from"), _version_number(to_version, "to")
        if from_version == to_version:
            raise InstanceError(f"the instances are on version {from_version} already: choose another version")
        if instance_ids is not None and (not isinstance(instance_ids, list) or len(instance_ids) > MAX_IDS
                                         or not all(isinstance(i, str) for i in instance_ids)):
            raise InstanceError(f"ids must be a list of at most {MAX_IDS} instance ids")
        with self.context.Session() as session:
            source, target = _version(session, key, from_version), _version(session, key, to_version)
            ids = instance_ids if instance_ids is not None else _instances_on(session, source.id)
            target_id = target.id
        migrated, refused = [], []
        for instance_id in dict.fromkeys(ids):  # each once, in the order given
            reasons = self._one(instance_id, key, from_version, to_version, target_id, dry_run, by)
            if reasons:
                refused.append({"id": instance_id, "reasons": reasons})
            else:
                migrated.append(instance_id)
        return {"migrated": migrated, "refused": refused, "dry_run": bool(dry_run)}

    def _one(self, instance_id, key, from_version, to_version, target_id, dry_run, by):
        """Migrates one instance in its own commit (or, dry, only checks it): the reasons it cannot move."""
        from engine.run.version_migration import migrate, refusals
        context = self.context
        actor = by or f"user@{context.actor}"
        with context.Session() as session:
            row = session.get(InstanceRow, instance_id)
            if row is None:
                return [f"no instance '{instance_id}'"]
            if row.key != key or row.version != from_version:
                return [f"it runs on version {row.version} of '{row.key}', not version {from_version} of '{key}'"]
            if row.status not in MIGRATABLE:
                return [f"it is {row.status}: only running, waiting and failed instances move"]
            if row.suspended_at is not None:
                return ["it is suspended: resume it to migrate it"]
            target = session.get(Definition, target_id)
            pins = definitions.pinned_calls(session.connection(), target)
            try:
                spec, subprocess_specs = context.specs.specs(session, target.id, pins)
                if not dry_run:
                    context.lock_for_user(session, row.id)
                    session.refresh(row)  # as of the lease: a suspend may have committed meanwhile
                    if row.suspended_at is not None:
                        session.rollback()
                        return ["it is suspended: resume it to migrate it"]
                instance, writer = context.load(session, row)
            except Busy as busy:
                return [str(busy)]
            reasons = refusals(instance, spec, subprocess_specs, to_version)
            if reasons or dry_run:
                session.rollback()
                return reasons
            migrate(instance, spec, subprocess_specs)
            writer.snapshot_due = True
            writer.write(session.connection(), actor, status=row.status, error=instance.error, ended_at=row.ended_at)
            row.definition_id, row.version, row.called_definitions = target.id, to_version, pins
            user_task_rows.moved_to_version(session.connection(), row.id, to_version)
            surgery(session.connection(), row.id, row.id, None, "MIGRATED",
                    f"migrated from version {from_version} to {to_version} by {actor}", actor,
                    {"from": from_version, "to": to_version})
            self._reschedule(session, row, instance)
            session.commit()
            return []

    def _reschedule(self, session, row, instance):
        """What the instance waits for is what it waited for before: the lease taken for the migration
        gives way to its work (a failed instance has none)."""
        from .settling import reschedule, settle
        if row.status == "failed":
            jobs.unschedule(session, row.id)
        elif instance.status == "running":
            jobs.schedule(session, row.id, "continue")
        else:
            reschedule(session, row.id, settle(session, row.id, instance)[1])


def _version(session, key, number):
    found = definitions.version(session, key, number)
    if found is None:
        raise NotFound(f"process '{key}' has no version {number}")
    return found


def _instances_on(session, definition_id):
    rows = session.query(InstanceRow.id).filter(InstanceRow.definition_id == definition_id,
                                                InstanceRow.status.in_(MIGRATABLE))
    return [row.id for row in rows.order_by(InstanceRow.created_at)]


def _version_number(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InstanceError(f"'{name}' must be a version number (a whole number from 1), not {value!r}")
    return value
