"""Concurrent writes of one process sharing their transactions (a group commit).

Starts arrive many at once in `maestro serve` (8 request threads). Each in its own transaction,
they would queue for the database's write lock — on SQLite in its busy handler, which sleeps
1, 2, 5, 10 ms between looks — and pay a commit each. Here the first writer to arrive commits
for every writer waiting behind it: one transaction, one commit, and no thread of this process
ever waits for the lock on another one. A lone writer (a CLI start, a script) pays two lock
operations more than before, nothing else.
"""
import threading
from collections.abc import Callable
from typing import Any


class _Ticket:
    __slots__ = ("check", "write", "done", "value", "error")

    def __init__(self, check, write):
        self.check, self.write = check, write
        self.done, self.value, self.error = False, None, None


class GroupCommit:
    """Runs writes in shared transactions on `engine`, each in two parts: `check(connection)` reads
    and refuses what it must (its error is its writer's alone); `write(connection, checked)` writes.

    An error while writing or committing rolls the whole group back and is every writer's error:
    nothing half-written is ever committed.
    """

    def __init__(self, engine):
        self.engine = engine
        self._committing = threading.Lock()  # held by the writer committing for the group
        self._queue = threading.Lock()
        self._waiting: list[_Ticket] = []

    def run(self, check: Callable[[Any], Any], write: Callable[[Any, Any], Any]) -> Any:
        """What `write` returned, once committed; or what `check`, `write` or the commit raised."""
        ticket = _Ticket(check, write)
        with self._queue:
            self._waiting.append(ticket)
        with self._committing:
            if not ticket.done:  # else the writer before this one committed it
                with self._queue:
                    group, self._waiting = self._waiting, []
                self._commit(group)
        if ticket.error is not None:
            raise ticket.error
        return ticket.value

    def _commit(self, group):
        try:
            with self.engine.begin() as connection:
                for ticket in group:
                    try:
                        checked = ticket.check(connection)
                    except Exception as refused:  # noqa: BLE001 (this writer's own: the others go on)
                        ticket.error = refused
                        continue
                    ticket.value = ticket.write(connection, checked)
        except BaseException as error:  # noqa: BLE001 (rolled back: handed to every writer of the group)
            for ticket in group:
                ticket.error = ticket.error or error
        finally:
            for ticket in group:
                ticket.done = True
