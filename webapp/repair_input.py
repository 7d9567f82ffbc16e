"""What a repair request sends, checked before it reaches the engine: the edited variables of a retry,
the instances a batch action names (a filter or ids), the filters of the instances list."""
from engine.durable.batches import BATCH_LIMIT
from engine.durable.repairs import MAX_REASON_LENGTH
from engine.durable.store.instance_rows import BUSINESS_KEY_LENGTH

from .openapi import REPAIR_ERROR_TEXT_LENGTH, REPAIR_TEXT_LENGTH, STATUSES
from .request_input import BadRequest, check_text, whole_number

FILTER_FIELDS = ("key", "version", "status", "element", "error", "business_key", "suspended")


def edit(body: dict) -> tuple[dict | None, str | None]:
    """(variables as edited or None, expected_updated_at or None) of a retry's or edit's body."""
    unknown = set(body) - {"variables", "expected_updated_at"}
    if unknown:
        raise BadRequest(f"unknown field {sorted(unknown)[0][:40]!r}: send variables and expected_updated_at")
    variables, expected = body.get("variables"), body.get("expected_updated_at")
    if variables is not None and not isinstance(variables, dict):
        raise BadRequest('"variables" must be a JSON object: the whole variables of the instance, as edited')
    if expected is not None and not isinstance(expected, str):
        raise BadRequest('"expected_updated_at" must be the instance\'s updated_at, as its page or the API gave it')
    return variables, expected


def reason(body: dict, may_be_null: bool = True) -> str | None:
    """The reason of a suspend (optional text; null too unless not `may_be_null`)."""
    given = body.get("reason")
    if given is None and not may_be_null and "reason" in body:
        raise BadRequest('"reason" must be text: leave it out for none')
    if given is None or given == "":
        return None
    if not isinstance(given, str):
        raise BadRequest('"reason" must be text')
    if len(given) > MAX_REASON_LENGTH:
        raise BadRequest(f'"reason" is {len(given)} characters long; at most {MAX_REASON_LENGTH} are kept')
    return given


def batch_target(body: dict) -> tuple[dict | None, list[str] | None]:
    """(filter, None) or (None, ids) of a batch request: {"filter": {...}} or {"ids": [...]}, one of them."""
    unknown = set(body) - {"filter", "ids", "reason"}
    if unknown:
        raise BadRequest(f"unknown field {sorted(unknown)[0][:40]!r}: send filter or ids")
    given_filter, ids = body.get("filter"), body.get("ids")
    if (given_filter is None) == (ids is None):
        raise BadRequest('name the instances by "filter" (at least one criterion) or by "ids": one of the two')
    if ids is not None:
        if not isinstance(ids, list) or not ids or not all(isinstance(item, str) and item for item in ids):
            raise BadRequest('"ids" must be a non-empty list of instance ids')
        if len(ids) > BATCH_LIMIT:
            raise BadRequest(f'"ids" names {len(ids)} instances; at most {BATCH_LIMIT} in one request')
        return None, ids
    if not isinstance(given_filter, dict):
        raise BadRequest('"filter" must be a JSON object of criteria: ' + ", ".join(FILTER_FIELDS))
    unknown = set(given_filter) - set(FILTER_FIELDS)
    if unknown:
        raise BadRequest(f"no filter {sorted(unknown)[0][:40]!r}: the criteria are " + ", ".join(FILTER_FIELDS))
    for name, value in given_filter.items():
        if value is None or value == "":  # what a person left empty is left out, not sent empty
            raise BadRequest(f'filter "{name}" is empty: leave it out, or give a value')
    criteria = {name: _criterion(name, value) for name, value in given_filter.items()}
    if not criteria:
        raise BadRequest("an empty filter would name every instance: give at least one criterion, or ids")
    return criteria, None


def list_filters(args, empty_is_absent: bool = True) -> dict:
    """The repair filters of the instances list from query parameters: version, element, error, suspended."""
    found = {"version": whole_number("version", args.get("version"), empty_is_absent=empty_is_absent)}
    for name in ("element", "error"):
        found[name] = _criterion(name, args.get(name) or None)
    suspended = args.get("suspended") or None
    if suspended is not None and suspended not in ("true", "false"):
        raise BadRequest(f"suspended must be true or false, not {suspended[:40]!r}")
    found["suspended"] = None if suspended is None else suspended == "true"
    return found


def as_query(criteria: dict) -> dict:
    """Criteria as query parameters of a link (a boolean as true/false, as list_filters reads it)."""
    return {name: ("true" if value is True else "false" if value is False else value)
            for name, value in criteria.items() if value is not None}


def _criterion(name, value):
    """A filter criterion checked: its type and length (None and "" are absent)."""
    if value is None or value == "":
        return None
    if name == "version":
        if isinstance(value, float) and value.is_integer():  # 3.0 is JSON's integer 3 too
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2 ** 63 - 1:
            raise BadRequest('filter "version" must be a whole number from 1')
        return value
    if name == "suspended":
        if not isinstance(value, bool):
            raise BadRequest('filter "suspended" must be true or false')
        return value
    if not isinstance(value, str):
        raise BadRequest(f'filter "{name}" must be text')
    check_text(value, f'filter "{name}"')
    if name == "status" and value not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}, not {value[:40]!r}")
    longest = {"error": REPAIR_ERROR_TEXT_LENGTH, "business_key": BUSINESS_KEY_LENGTH}.get(name, REPAIR_TEXT_LENGTH)
    if len(value) > longest:
        raise BadRequest(f'filter "{name}" is {len(value)} characters long; at most {longest}')
    return value
