"""What a client sends, checked before it reaches the engine: every refusal names what is wrong.

Values that Python accepts but a database refuses (a NUL character, a lone
surrogate, NaN, a business key longer than its column) or that would crash
the server (JSON nested deeper than Python recurses, a version number beyond
any integer column) are client errors, answered 400, on SQLite and
PostgreSQL alike.
"""
import json
import math
import re

from engine.durable.store.instance_rows import BUSINESS_KEY_LENGTH

MAX_JSON_DEPTH = 100  # arrays and objects inside each other; real variables are a few levels deep
MAX_DATABASE_INTEGER = 2 ** 63 - 1  # BIGINT; versions and limits never come near it
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class BadRequest(Exception):
    """The request itself is wrong (not JSON, a field of the wrong type...)."""


def json_object(raw: bytes) -> dict:
    """The request body as a JSON object; BadRequest saying what is wrong (empty body: {})."""
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequest(f"the request body is not UTF-8 text (byte {error.start})") from None
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise BadRequest(f"the request body is not valid JSON: {error.msg} (line {error.lineno}, "
                         f"column {error.colno})") from None
    except RecursionError:
        raise BadRequest(f"the request body nests arrays or objects deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as error:  # a number with more digits than Python converts
        raise BadRequest(f"the request body is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise BadRequest("the request body must be a JSON object")
    check_json_value(value)
    return value


def _no_constant(name):
    raise BadRequest(f"the request body holds {name}, which JSON does not have: send a number or null")


def check_json_value(value, source: str = "the request body") -> None:
    """BadRequest for a body nested too deep, or holding NaN/Infinity, NUL or a lone surrogate.

    The message names the field by its path ("data.items[2].name"). Walks with
    a list rather than recursion, so any depth is examined safely.
    """
    pending = [(value, "", 1)]
    while pending:
        item, path, depth = pending.pop()
        where = f"{path!r} in {source}" if path else source
        if depth > MAX_JSON_DEPTH:
            raise BadRequest(f"{where} nests arrays or objects deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(item, dict):
            for key, member in item.items():
                check_text(key, f"a name in {where}")
                pending.append((member, f"{path}.{key}" if path else key, depth + 1))
        elif isinstance(item, list):
            pending.extend((member, f"{path}[{index}]", depth + 1) for index, member in enumerate(item))
        elif isinstance(item, str):
            check_text(item, where)
        elif isinstance(item, float) and not math.isfinite(item):
            raise BadRequest(f"{where} is {item}, which JSON does not have")  # 1e999 reads as inf


def check_text(text: str, where: str) -> None:
    """BadRequest when `text` holds what no database stores as text: NUL, or half of a surrogate pair."""
    if "\x00" in text:
        raise BadRequest(f"{where} contains a NUL character (\\u0000)")
    surrogate = _LONE_SURROGATE.search(text)
    if surrogate:
        raise BadRequest(f"{where} contains a lone surrogate (\\u{ord(surrogate.group()):04x}), "
                         "which is not a character")


def business_key(value) -> str | None:
    """A start request's business key: a string up to the column's length, or None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest('"business_key" must be a string')
    check_text(value, '"business_key"')
    if len(value) > BUSINESS_KEY_LENGTH:
        raise BadRequest(f'"business_key" is {len(value)} characters long; at most {BUSINESS_KEY_LENGTH} are kept')
    return value


def whole_number(name: str, value: str | None, minimum: int = 1, maximum: int = MAX_DATABASE_INTEGER,
                 empty_is_absent: bool = True) -> int | None:
    """A query parameter that must be a whole number in [minimum, maximum]; None when absent.

    An empty value (`?limit=`) is absent for the pages, whose forms send empty fields; the JSON API
    passes `empty_is_absent=False` and refuses it, as its OpenAPI document (an integer) says."""
    if value is None or (value == "" and empty_is_absent):
        return None
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number, not {value[:40]!r}") from None
    if not minimum <= number <= maximum:
        raise BadRequest(f"{name} must be between {minimum} and {maximum}")
    return number


def event_path_origin(key: str | None, instance: str | None) -> tuple[str | None, str | None]:
    """(key, instance id) an event path starts from: exactly one of the `key` and `instance` query
    parameters (an empty one is absent); BadRequest otherwise."""
    key, instance = key or None, instance or None
    if (key is None) == (instance is None):
        raise BadRequest("give a business key or correlation value as `key`, or an instance id as `instance`: "
                         "one of them" + (", not both" if key is not None else ""))
    return key, instance
