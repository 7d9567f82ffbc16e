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
            "business_key": row.business_key, "started_by": row.started_by, "created_at": iso(row.created_at),
            "updated_at": iso(row.updated_at), "ended_at": iso(row.ended_at)}


def history_entry(entry):
    return {"task_id": entry.task_id, "bpmn_id": entry.bpmn_id, "name": entry.name, "type": entry.type,
            "state": entry.state, "undo_of": entry.undo_of, "actor": entry.actor, "at": iso(entry.at),
            "data_in": entry.data_in, "data_out": entry.data_out, "error": entry.error}


def incident_summary(incident):
    return {"task_id": incident.task_id, "bpmn_id": incident.bpmn_id, "message": incident.message,
            "type": incident.error_type, "traceback": incident.traceback, "created_at": iso(incident.created_at)}
