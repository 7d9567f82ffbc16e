"""How long a message nobody waits for is kept: seconds, or an ISO 8601 duration (PT30S, PT1H, P1DT12H)."""
import re

_NUMBER = r"(\d+(?:\.\d+)?)"
# At least one number; after T, at least one.
TTL_PATTERN = rf"^P(?=\d|T\d)(?:{_NUMBER}D)?(?:T(?=\d)(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?$"
_DURATION = re.compile(TTL_PATTERN)
# Kept this long when neither the diagram nor the publish says (Zeebe's default); MAESTRO_MESSAGE_TTL_SECONDS.
DEFAULT_TTL_SECONDS = 3600.0
MAX_TTL_SECONDS = 10 * 366 * 86400.0  # "keep it for ever", as far as a date can say


class InvalidTimeToLive(ValueError):
    pass


def ttl_seconds(value) -> float:
    """Seconds from seconds (a number, or its text) or an ISO 8601 duration; longer than MAX_TTL_SECONDS is
    kept that long. InvalidTimeToLive when it is neither."""
    if isinstance(value, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*", value):
        value = float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:  # not NaN either
        return min(float(value), MAX_TTL_SECONDS)
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidTimeToLive("a time to live is seconds (0 or more) or an ISO 8601 duration such as PT1H, "
                                f"not {value!r}")
    days, hours, minutes, seconds = (float(part or 0) for part in match.groups())
    return min(days * 86400 + hours * 3600 + minutes * 60 + seconds, MAX_TTL_SECONDS)
