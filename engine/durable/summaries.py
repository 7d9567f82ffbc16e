"""The dicts the durable API returns for definitions, instances, history entries and incidents."""
from .store import jobs


def iso(moment):
    return jobs._aware(moment).isoformat() if moment else None


def definition_summary(definition):
    return {"key": definition.key, "version": definition.version, "name": definition.name,
            "file_name": definition.file_name, "deployed_at": iso(definition.deployed_at),
            "deployed_by": definition.deployed_by}


def instance_summary(row):
    return {"id": row.id, "key": row.key, "version": row.version, "status": row.status,
            "outcome": row.outcome, "end_event": row.end_event,
            "business_key": row.business_key, "started_by": row.started_by, "created_at": iso(row.created_at),
            "updated_at": iso(row.updated_at), "ended_at": iso(row.ended_at), **suspension(row),
            "failure": failure(row), "retry": pending_retry(row)}


def failure(row):
    """{element, name, message, at} of the task a failed instance (or one waiting to retry) failed at, else None.

    `at` is when that failure was committed (the row's last write: nothing else is written to a failed
    instance, nor to one waiting for its retry)."""
    if row.status not in ("failed", "running") or not row.error:
        return None
    error = row.error
    return {"element": error.get("bpmn_id"), "name": error.get("name") or error.get("bpmn_id"),
            "message": error.get("message"), "at": iso(row.updated_at)}


def pending_retry(row):
    """{attempt, of, next_at} while a failed task waits for its next try (engine/durable/settling.py), else None."""
    if row.status != "running" or not row.error:
        return None
    return row.error.get("retry")


def suspension(row):
    """Whether an operator holds the instance suspended, since when, by whom, why (its status stays)."""
    return {"suspended": row.suspended_at is not None, "suspended_at": iso(row.suspended_at),
            "suspended_by": row.suspended_by, "suspended_reason": row.suspended_reason}


def history_entry(entry):
    return {"task_id": entry.task_id, "bpmn_id": entry.bpmn_id, "name": entry.name, "type": entry.type,
            "state": entry.state, "undo_of": entry.undo_of, "actor": entry.actor, "at": iso(entry.at),
            "data_in": entry.data_in, "data_out": entry.data_out, "error": entry.error}


def incident_summary(incident):
    return {"task_id": incident.task_id, "bpmn_id": incident.bpmn_id, "message": incident.message,
            "type": incident.error_type, "traceback": incident.traceback, "created_at": iso(incident.created_at)}
