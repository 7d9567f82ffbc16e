"""What the text of a timer (timeDate, timeDuration, timeCycle) means.

Modelers write timer values bare, as literals (PT5M, R3/PT10M, 2026-12-24T18:00:00Z),
Spiff Arena writes durations as Python (timedelta(seconds=30)); anything else is an
expression evaluated when the timer starts waiting (e.g. a variable holding PT1H).
"""
import re
from datetime import timedelta

# ISO 8601 durations, repeating intervals and date-times, written bare.
_ISO = re.compile(r"^\s*(R\d*/\S+"                                   # repeating interval
                  r"|P(?=\d|T\d)[\dYMWD]*(T[\d.HMS]+)?"              # duration
                  r"|\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)\s*$")  # date-time
_TIMEDELTA = re.compile(r"^\s*timedelta\(((?:\s*\w+\s*=\s*\d+(?:\.\d+)?\s*,?)+)\)\s*$")
_TIMEDELTA_UNITS = {"weeks", "days", "hours", "minutes", "seconds"}


def literal(kind, text):
    """The ISO 8601 value a timer element of `kind` states literally, or None for an expression."""
    if kind == "timeDuration":
        spiff_duration = _timedelta_as_iso(text)
        if spiff_duration:
            return spiff_duration
    return text.strip() if _ISO.match(text or "") else None


def _timedelta_as_iso(text):
    """timedelta(seconds=30) as PT30S; None unless every argument is a literal number of a unit."""
    match = _TIMEDELTA.match(text or "")
    parts = dict(re.findall(r"(\w+)\s*=\s*(\d+(?:\.\d+)?)", match.group(1))) if match else {}
    if not parts or set(parts) - _TIMEDELTA_UNITS:
        return None
    seconds = timedelta(**{unit: float(amount) for unit, amount in parts.items()}).total_seconds()
    return f"PT{int(seconds) if seconds.is_integer() else seconds}S"
