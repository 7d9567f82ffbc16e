"""How often, and after how long, a technical failure is retried before it becomes an incident."""
import os
import re
from dataclasses import dataclass

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

DEFAULT_TRIES = 3
_CYCLE = re.compile(r"^R(\d+)/(P.+)$")


@dataclass(frozen=True)
class RetryPolicy:
    tries: int
    fixed_delay: float | None  # seconds between tries; None means exponential backoff

    def delay(self, attempt):
        """Seconds to wait after failed try number `attempt` (1-based)."""
        if self.fixed_delay is not None:
            return self.fixed_delay
        base = float(os.environ.get("MAESTRO_RETRY_BASE_SECONDS", "1"))
        return base * 2 ** (attempt - 1)


def parse_cycle(text):
    """Camunda's failedJobRetryTimeCycle, e.g. R5/PT10S: 5 tries, 10 s apart. None if malformed."""
    match = _CYCLE.match((text or "").strip())
    if not match:
        return None
    try:
        delay = TimerEventDefinition.get_timedelta_from_start(TimerEventDefinition.parse_iso_duration(match.group(2)))
    except Exception:  # SpiffWorkflow raises a bare Exception for a bad duration
        return None
    return RetryPolicy(int(match.group(1)), delay.total_seconds())


def policy_for(info):
    """The retry policy of a task from its Maestro facts (the parser reads the cycle)."""
    return parse_cycle(info.get("retry_cycle")) or RetryPolicy(DEFAULT_TRIES, None)
