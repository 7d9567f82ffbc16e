"""The messages job: publishing messages and signals from outside (the CLI, the API), and reading
what became of one. Workers deliver them (deliveries.py), as they deliver those processes throw."""
from engine.run import variable_limits
from engine.run.instance_errors import InstanceError
from engine.run.time_to_live import InvalidTimeToLive, ttl_seconds

from . import tracing
from .errors import NotFound
from .store import instance_rows, outbox
from .summaries import iso


class Messages:
    """Maestro's publish, signal and message, over its Context."""

    def __init__(self, context):
        self.context = context

    def publish(self, name, correlation=None, data=None, ttl=None, published_by=None, trace=None):
        """Stores message `name` for the workers to deliver and returns {"id", "status"} at once.

        `correlation` is a key (a string: the catches whose correlation key, or else business key, it
        is) or an object (the catches whose instance has its "business_key" and holds its other
        values as variables); none reaches every catch of the name. `ttl` (seconds or an ISO 8601
        duration; default MAESTRO_MESSAGE_TTL_SECONDS) is how long it is kept when nobody waits.
        `trace` is the publisher's traceparent (else the current span is, when tracing is on).
        """
        _check_name(name, "message")
        data = variable_limits.checked(data or {}, f"the data of message '{name}'")
        key, match = _correlation(correlation)
        try:
            ttl = self.context.message_ttl_seconds if ttl is None else ttl_seconds(ttl)
        except InvalidTimeToLive as error:
            raise InstanceError(str(error)) from error
        business_key = (match or {}).get("business_key")
        row = outbox.new_message(
            "message", name, data, published_by or f"api@{self.context.actor}", correlation=key,
            business_key=str(business_key) if business_key is not None else None, match_variables=match,
            ttl_seconds=ttl)
        return self._stored(row, trace)

    def signal(self, name, data=None, published_by=None, trace=None):
        """Stores signal `name` for the workers to broadcast to every catch and process that waits for
        it now; {"id", "status"} at once. A signal nobody waits for is gone (BPMN keeps none)."""
        _check_name(name, "signal")
        data = variable_limits.checked(data or {}, f"the data of signal '{name}'")
        return self._stored(outbox.new_message("signal", name, data, published_by or f"api@{self.context.actor}"),
                            trace)

    def _stored(self, row, trace):
        row["trace"] = tracing.published(row, tracing.of_caller(trace))
        with self.context.engine.begin() as connection:
            outbox.add(connection, [row])
        self.context.notify({"event": "message_published", "kind": row["kind"], "name": row["name"]})
        return {"id": row["id"], "status": row["status"]}

    def message(self, message_id):
        """A message or signal with what became of it: {id, kind, name, status, ..., deliveries: [...]}."""
        with self.context.engine.connect() as connection:
            row = outbox.get(connection, message_id)
            if row is None:
                raise NotFound(f"no message '{message_id}'")
            deliveries = outbox.deliveries(connection, [message_id])
            involved = {d.instance_id for d in deliveries} | {row.source_instance_id} - {None}
            keys = {instance.id: instance for instance in instance_rows.by_ids(connection, involved)}
        source = keys.get(row.source_instance_id)
        return {**message_summary(row), "source_key": source.key if source is not None else None,
                "deliveries": [delivery_summary(delivery, keys.get(delivery.instance_id)) for delivery in deliveries]}


def message_summary(row):
    return {"id": row.id, "kind": row.kind, "name": row.name, "status": row.status, "correlation": row.correlation,
            "business_key": row.business_key, "payload": row.payload, "published_at": iso(row.published_at),
            "published_by": row.published_by, "expires_at": iso(row.expires_at), "ended_at": iso(row.ended_at),
            "source_instance_id": row.source_instance_id, "source_element": row.source_element,
            "attempts": row.attempts}


def delivery_summary(delivery, instance):
    return {"instance_id": delivery.instance_id, "element": delivery.element,
            "started": delivery.process_key is not None, "delivered_at": iso(delivery.delivered_at),
            "key": instance.key if instance is not None else delivery.process_key}


def _check_name(name, kind):
    if not isinstance(name, str) or not name.strip():
        raise InstanceError(f"a {kind} needs a name")
    if len(name) > 255:
        raise InstanceError(f"a {kind}'s name is at most 255 characters long")


def _correlation(correlation):
    """(the key to find catches by, the object to match them with) of a publish's correlation."""
    if correlation is None or correlation == {} or correlation == "":
        return None, None
    if isinstance(correlation, (str, int, float)) and not isinstance(correlation, bool):
        _check_length(correlation, "a correlation key")
        return str(correlation), None
    if isinstance(correlation, dict):
        if correlation.get("business_key") is not None:
            _check_length(correlation["business_key"], "a business key")
        return None, dict(correlation)
    raise InstanceError("a correlation is a key (a string) or an object of the values to match")


def _check_length(value, what):
    """The stored columns hold BUSINESS_KEY_LENGTH characters: a longer key is refused, never cut."""
    if len(str(value)) > instance_rows.BUSINESS_KEY_LENGTH:
        raise InstanceError(f"{what} is at most {instance_rows.BUSINESS_KEY_LENGTH} characters long")
