"""The messages job: publishing a message to the instances waiting for it and starting the
processes that begin with it."""
from engine.run import messages as catching
from engine.run import variable_limits

from .errors import Busy
from .store import definitions, instance_rows, jobs


class Messages:
    """Maestro's publish, over its Context."""

    def __init__(self, context, instances):
        self.context = context
        self.instances = instances  # a message start event adds an instance

    def publish(self, name, correlation=None, data=None):
        """Delivers message `name` (its `data` become variables) to every instance waiting for it
        whose variables match `correlation`, and starts each process that begins with it.

        Returns {"reached": [ids], "started": [ids], "busy": [ids]}; "busy" instances were
        being advanced at that moment and did not get the message: publish again for them.
        """
        data = variable_limits.checked(data or {}, f"the data of message '{name}'")
        reached, busy = [], []
        with self.context.Session() as session:
            waiting = instance_rows.waiting_for_message(session, name)
        for instance_id in waiting:
            try:
                if self._deliver(instance_id, name, correlation, data):
                    reached.append(instance_id)
            except Busy:
                busy.append(instance_id)
        started = [self._start_with_message(key, name, correlation, data) for key in self._started_by(name)]
        return {"reached": reached, "started": started, "busy": busy}

    def _deliver(self, instance_id, name, correlation, data):
        context = self.context
        with context.Session() as session:
            row = context.row(session, instance_id)
            if row.status not in ("running", "waiting"):
                return False
            context.lock_for_user(session, row.id)  # rolled back, with the rest, if the message is not for it
            instance, writer = context.load(session, row)
            if not catching.correlates(correlation, instance.data, row.business_key) or \
                    not catching.deliver(instance, name, data):
                return False
            writer.write(session.connection(), f"message@{context.actor}", status="running")
            jobs.schedule(session, row.id, "continue")
            session.commit()
            return True

    def _started_by(self, name):
        """Keys of the processes whose newest version starts with message `name`."""
        with self.context.Session() as session:
            return [definition.key for definition in definitions.latest_of_each(session)
                    if catching.starts_with(self.context.specs.specs(
                        session, definition.id, definitions.pinned_calls(session.connection(), definition))[0], name)]

    def _start_with_message(self, key, name, correlation, data):
        """An instance whose message start event has caught the message; a worker runs on from there."""
        context = self.context
        with context.Session() as session:
            business_key = (correlation or {}).get("business_key")
            instance_id = self.instances.insert(session.connection(), key, {}, business_key, "message")
            instance, writer = context.load(session, context.row(session, instance_id))
            instance.run_until()  # up to its start event, which waits for the message
            catching.deliver(instance, name, data)
            writer.write(session.connection(), f"message@{context.actor}", status="running")
            # Only now can a worker see it; a new instance, it queues with the starts.
            jobs.add(session.connection(), instance_id, "continue", lane=jobs.STARTS)
            session.commit()
        context.notify({"event": "instance_started", "key": key})
        return instance_id
