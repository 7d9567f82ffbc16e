"""The OpenAPI 3.1 description of the JSON API, served at /api/openapi.json."""
from engine.durable.batches import BATCH_LIMIT
from engine.durable.repairs import MAX_REASON_LENGTH
from engine.run.time_to_live import TTL_PATTERN

from .request_input import MAX_DATABASE_INTEGER
from .uploads import FILE_NAME_LENGTH

STATUSES = ["running", "waiting", "completed", "failed", "cancelled"]
# Filters of the repair endpoints: a key, an element id (their columns' length), a part of an error message.
REPAIR_TEXT_LENGTH, REPAIR_ERROR_TEXT_LENGTH = 255, 1000
OUTCOMES = ["completed", "rolled_back"]  # how a completed instance ended (engine.run.outcomes)
_ERROR = {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_JSON_OBJECT = {"type": "object", "additionalProperties": True}

# A text that is not blank, as the server reads it: Python's str.strip() also takes \x1c-\x1f and \x85
# for white space, which the pattern language of JSON Schema (ECMA 262) does not.
NOT_BLANK = "[^\\s\\u001c-\\u001f\\u0085]"


def _json(schema, description="OK"):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _operation(summary, responses, parameters=(), body=None):
    operation = {"summary": summary, "responses": {**responses, "4XX": _ERROR}}
    if parameters:
        operation["parameters"] = list(parameters)
    if body:
        operation["requestBody"] = body
    return operation


def _path_parameter(name):
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query_parameter(name, schema=None, description=None):
    parameter = {"name": name, "in": "query", "required": False, "schema": schema or {"type": "string"}}
    if description:
        parameter["description"] = description
    return parameter


# The caller's W3C trace context: the instance or message belongs to its trace (README, "Tracing").
_TRACEPARENT = {"name": "traceparent", "in": "header", "required": False, "schema": {"type": "string"},
                "description": "W3C trace context of the caller (an invalid one is ignored)"}


def _diagram_body(extra):
    """A JSON body holding one diagram as text, and the name its problems are reported under."""
    return {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["xml"], "properties": {
            "xml": {"type": "string", "pattern": NOT_BLANK, "description": "the BPMN diagram, as text"},
            "name": {"type": "string", "maxLength": FILE_NAME_LENGTH, "description": "file name (diagram.bpmn)"},
            "force_executable": {"type": "boolean"}, **extra}}}}}


def _event_path_schemas():
    """The schemas of GET /api/event-paths (engine/durable/event_paths.py)."""
    text, maybe_text = {"type": "string"}, {"type": ["string", "null"]}
    wait = {"type": ["number", "null"], "minimum": 0, "description": "seconds from publishing to delivery"}
    return {
        "EventPath": {"type": "object", "required": ["key", "instance_id", "truncated", "instances", "messages",
                                                     "edges", "timeline"], "properties": {
            "key": maybe_text, "instance_id": maybe_text,
            "truncated": {"type": "boolean", "description": "more than 500 instances or messages (or 1000 task "
                                                            "rows of a kind) were found: the first are shown"},
            "instances": {"type": "array", "items": _ref("EventPathInstance")},
            "messages": {"type": "array", "items": {"allOf": [_ref("Message"), {"type": "object", "properties": {
                "wait_seconds": wait}}]}},
            "edges": {"type": "array", "items": _ref("EventPathEdge")},
            "timeline": {"type": "array", "items": _ref("EventPathEntry")}}},
        "EventPathInstance": {"allOf": [_ref("InstanceSummary"), {"type": "object", "properties": {
            "started_by": text,
            "started_by_message": {**maybe_text, "description": "the message whose start event started it"}}}]},
        "EventPathEdge": {"type": "object", "required": ["kind", "instance_id", "message_id"], "properties": {
            "kind": {"enum": ["sent", "reached", "started"],
                     "description": "instance -sent-> message; message -reached-> or -started-> instance"},
            "instance_id": text, "message_id": text, "element": maybe_text, "at": text, "wait_seconds": wait}},
        "EventPathEntry": {"type": "object", "required": ["at", "kind"], "properties": {
            "at": text,
            "kind": {"enum": ["instance_started", "instance_ended", "message_published", "message_delivered",
                              "message_pending", "message_buffered", "message_expired", "task_completed",
                              "task_failed"]},
            "instance_id": maybe_text, "message_id": maybe_text, "name": maybe_text, "element": maybe_text,
            "status": maybe_text, "message_kind": {"enum": ["message", "signal", None]},
            "started": {"type": "boolean"}, "undo": {"type": "boolean"}, "wait_seconds": wait,
            "error": maybe_text, "until": maybe_text}},
    }


def _surgery_paths(key, instance):
    """Moving a token and migrating instances (webapp/surgery_api.py)."""
    element = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": NOT_BLANK}
    version = {"type": "integer", "minimum": 1, "maximum": MAX_DATABASE_INTEGER}
    refused = _json({"allOf": [_ref("Error"), {"type": "object", "properties": {
        "reasons": {"type": "array", "items": {"type": "string"}}}}]}, "refused: `reasons` say why; nothing changed")
    return {
        "/api/instances/{instance_id}/move": {"post": _operation(
            "Move a token: cancel the active activity `from` (task id or element id) and start the element `to` "
            "of the same scope as if a token arrived before it; `reason` is kept in the history. A failed task "
            "moved off resolves its incident",
            {"200": _json({"allOf": [_ref("InstanceSummary"), {"type": "object", "properties": {
                "moved": {"type": "object", "properties": {
                    "from": {"type": "string"}, "to": {"type": "string"}, "task_id": {"type": "string"},
                    "reason": {"type": "string"}, "by": {"type": "string"}}},
                "warnings": {"type": "array", "items": {"type": "string"}},
                "incident_resolved": {"type": "boolean"}}}]}),
             "409": refused},
            [instance], {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["from", "to", "reason"], "properties": {
                    "from": element, "to": element,
                    "reason": {"type": "string", "minLength": 1, "maxLength": 500, "pattern": NOT_BLANK}}}}}})},
        "/api/definitions/{key}/migrate": {"post": _operation(
            "Migrate the running, waiting and failed instances of version `from` (or those of `ids`) to version "
            "`to`, each in its own commit; an instance moves when every element it is active in exists in `to` "
            "with the same id and kind. `dry_run` reports and changes nothing",
            {"200": _json({"type": "object", "required": ["migrated", "refused", "dry_run"], "properties": {
                "migrated": {"type": "array", "items": {"type": "string"}},
                "refused": {"type": "array", "items": {"type": "object", "properties": {
                    "id": {"type": "string"}, "reasons": {"type": "array", "items": {"type": "string"}}}}},
                "dry_run": {"type": "boolean"}}})},
            [key], {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["from", "to"], "properties": {
                    "from": version, "to": version,
                    "ids": {"type": "array", "maxItems": 1000, "items": element},
                    "dry_run": {"type": "boolean"}}}}}})},
    }


def _repair_paths(instance):
    """The repair endpoints (webapp/repair_api.py): batch actions, suspend and resume, edited variables,
    incidents grouped."""
    text = {"type": "string", "minLength": 1, "maxLength": REPAIR_TEXT_LENGTH}
    criteria = {"type": "object", "minProperties": 1, "additionalProperties": False,
                "description": "at least one criterion: an empty filter is refused (400)", "properties": {
                    "key": text, "version": {"type": "integer", "minimum": 1, "maximum": MAX_DATABASE_INTEGER},
                    "status": {"enum": STATUSES}, "element": {**text, "description": "its open incident's element id"},
                    "error": {"type": "string", "minLength": 1, "maxLength": REPAIR_ERROR_TEXT_LENGTH,
                              "description": "part of its open incident's message, in any case"},
                    "business_key": text, "suspended": {"type": "boolean"}}}
    reason = {"type": "string", "maxLength": MAX_REASON_LENGTH}

    def batch(verb, with_reason=False):
        extra = {"reason": reason} if with_reason else {}
        return {"post": _operation(
            f"{verb} the instances a filter or a list of ids names, each in its own commit; at most "
            f"{BATCH_LIMIT} a call (`more`: the filter matched more)", {"200": _json(_ref("BatchResult"))},
            body={"required": True, "content": {"application/json": {"schema": {"oneOf": [
                {"type": "object", "required": ["filter"], "additionalProperties": False,
                 "properties": {"filter": criteria, **extra}},
                {"type": "object", "required": ["ids"], "additionalProperties": False, "properties": {
                    "ids": {"type": "array", "minItems": 1, "maxItems": BATCH_LIMIT,
                            "items": {"type": "string", "minLength": 1}}, **extra}}]}}}})}

    edit = {"variables": {**_JSON_OBJECT, "description": "the whole variables object, as edited: added, changed "
                                                         "and removed variables are applied"},
            "expected_updated_at": {"type": "string", "description": "the updated_at the edit was made from: "
                                                                     "409 `stale` if the instance changed since"}}
    return {
        "/api/instances/retry": batch("Retry"), "/api/instances/cancel": batch("Cancel"),
        "/api/instances/suspend": batch("Suspend", with_reason=True), "/api/instances/resume": batch("Resume"),
        "/api/instances/{instance_id}/retry": {"post": _operation(
            "Resume a failed instance from its failed task, its variables edited first if given (one commit); "
            "409 `suspended`, `stale` or `conflict` (not failed)", {"200": _json(_ref("InstanceSummary"))},
            [instance], {"required": False, "content": {"application/json": {"schema": {
                "type": "object", "additionalProperties": False, "properties": edit}}}})},
        "/api/instances/{instance_id}/variables": {"post": _operation(
            "Edit a failed instance's variables without retrying it", {"200": _json(_ref("InstanceSummary"))},
            [instance], {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["variables"], "additionalProperties": False,
                "properties": edit}}}})},
        "/api/instances/{instance_id}/suspend": {"post": _operation(
            "Suspend an instance: its status stays, no worker runs it, messages for it are kept, its user tasks "
            "and retry are refused until resumed", {"200": _json(_ref("InstanceSummary"))}, [instance],
            {"required": False, "content": {"application/json": {"schema": {
                "type": "object", "properties": {"reason": {"type": ["string", "null"],
                                                            "maxLength": MAX_REASON_LENGTH}}}}}})},
        "/api/instances/{instance_id}/resume": {"post": _operation(
            "Resume a suspended instance", {"200": _json(_ref("InstanceSummary"))}, [instance])},
        "/api/incidents": {"get": _operation(
            "Open incidents of failed instances grouped by process, element and error message, largest first",
            {"200": _json({"type": "object", "required": ["groups", "open"], "properties": {
                "open": {"type": "integer"},
                "groups": {"type": "array", "items": {"type": "object", "properties": {
                    "key": {"type": "string"}, "element": {"type": ["string", "null"]},
                    "element_name": {"type": ["string", "null"]}, "message": {"type": "string"},
                    "count": {"type": "integer"}, "first_at": {"type": "string"},
                    "last_at": {"type": "string"}}}}}})})},
    }


def _task_paths():
    """The paths of /api/tasks (webapp/tasks_api.py): 403 not the person's, 409 taken or no longer waiting."""
    instance, task = _path_parameter("instance_id"), _path_parameter("task_id")
    refused = {"403": _json(_ref("Error"), "not yours: the task is offered to others, or someone else has it to "
                                           "give back"),
               "404": _json(_ref("Error"), "no such user task"),
               "409": _json(_ref("Error"), "claimed by someone else, or no longer waiting")}
    return {
        "/api/tasks": {"get": _operation(
            "Open user tasks of a list, highest priority first, then the soonest due, then the oldest: `mine` "
            "(assigned to me), `groups` (unassigned, offered to me or my groups), `unassigned` (offered to "
            "nobody in particular), `all` (operators; viewers read it)",
            {"200": _json(_ref("TaskPage")), "403": refused["403"]},
            [_query_parameter("view", {"enum": ["", "mine", "groups", "unassigned", "all"]},
                              "empty: the person's first list"),
             _query_parameter("key", description="only tasks of this process"),
             _query_parameter("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
             _query_parameter("after", description="the `next` of the page before; anything else is refused "
                                                    "with 400")])},
        "/api/tasks/{instance_id}/{task_id}": {"get": _operation(
            "A user task, open or not, and what the person asking may do with it",
            {"200": _json(_ref("UserTask")), "404": refused["404"]}, [instance, task])},
        "/api/tasks/{instance_id}/{task_id}/claim": {"post": _operation(
            "Claim a task: it is assigned to me (of two claims at once, one wins)",
            {"200": _json(_ref("UserTask")), **refused}, [instance, task])},
        "/api/tasks/{instance_id}/{task_id}/unclaim": {"post": _operation(
            "Give a task back (no assignee): its assignee, or an operator",
            {"200": _json(_ref("UserTask")), **refused}, [instance, task])},
        "/api/tasks/{instance_id}/{task_id}/complete": {"post": _operation(
            "Complete a task I may work with {data} (an unassigned one becomes mine); the history names me",
            {"200": _json(_ref("UserTask")), **refused}, [instance, task],
            {"required": False, "content": {"application/json": {"schema": {"type": "object", "properties": {
                "data": _JSON_OBJECT}}}}})},
    }


def _task_schemas():
    text, maybe_text = {"type": "string"}, {"type": ["string", "null"]}
    names = {"type": "array", "items": text}
    return {
        "UserTask": {"type": "object", "required": ["instance_id", "task_id", "state"], "properties": {
            "instance_id": text, "task_id": text, "element": text, "name": maybe_text, "key": text,
            "version": {"type": "integer"}, "process_name": maybe_text, "business_key": maybe_text,
            "assignee": maybe_text, "candidate_users": names, "candidate_groups": names,
            "due_at": maybe_text, "follow_up_at": maybe_text, "priority": {"type": "integer"},
            "created_at": text, "claimed_at": maybe_text, "state": {"enum": ["open", "completed", "cancelled"]},
            "completed_by": maybe_text, "completed_at": maybe_text, "overdue": {"type": "boolean"},
            "may": {"type": "object", "properties": {"claim": {"type": "boolean"}, "unclaim": {"type": "boolean"},
                                                     "complete": {"type": "boolean"}}}}},
        "TaskPage": {"type": "object", "required": ["tasks", "next", "view", "views"], "properties": {
            "tasks": {"type": "array", "items": _ref("UserTask")},
            "next": {**maybe_text, "description": "pass as `after` for the next page"},
            "view": text, "views": names}},
    }


def document():
    return _with_security(_document())


# Who may call the API (webapp/access.py): a personal API token, or the session cookie of a sign-in
# (whose state-changing requests also send the page's CSRF token as X-CSRFToken).
_SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "a personal API token (the Account page, or `maestro user token NAME`)"},
    "session": {"type": "apiKey", "in": "cookie", "name": "session",
                "description": "the web app's sign-in; writes also send the X-CSRFToken header"},
}
_PUBLIC = {("/api/health", "get")}  # needs no credentials
_UNAUTHORIZED = {"description": "no credentials, or a token that is unknown, revoked or expired "
                                "(WWW-Authenticate: Bearer)",
                 "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_FORBIDDEN = {"description": "the person lacks the role this needs (the message names it)",
              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _with_security(document):
    """The document with its security schemes, the requirement of every operation but the public ones,
    and the 401/403 answers of those."""
    document["security"] = [{"bearer": []}, {"session": []}]
    document["components"]["securitySchemes"] = _SECURITY_SCHEMES
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if (path, method) in _PUBLIC:
                operation["security"] = []
            else:
                operation["responses"] = {"401": _UNAUTHORIZED, "403": _FORBIDDEN, **operation["responses"]}
    return document


def _people_paths():
    """/api/me, /api/tokens (the caller's own) and /api/people (admins): webapp/people_api.py."""
    name = _path_parameter("name")
    token_id = {"name": "token_id", "in": "path", "required": True,
                "schema": {"type": "integer", "minimum": 0, "maximum": 2 ** 31 - 1}}
    roles = {"type": "array", "minItems": 1, "items": {"enum": ["viewer", "worker", "operator", "modeler", "admin"]}}
    groups = {"type": ["array", "null"], "items": {"type": "string", "maxLength": 255}}
    person_name = {"type": "string", "maxLength": 255, "pattern": "^[A-Za-z0-9][A-Za-z0-9._@+-]*$"}
    return {
        "/api/me": {"get": _operation("The signed-in person: name, display name, roles, groups",
                                      {"200": _json(_ref("Person"))})},
        "/api/tokens": {
            "get": _operation("The caller's API tokens (never their secrets)", {"200": _json({
                "type": "object", "properties": {"tokens": {"type": "array", "items": _ref("Token")}}})}),
            "post": _operation("A new API token of the caller: its secret is in this answer only", {
                "201": _json({"allOf": [_ref("Token"), {"type": "object", "properties": {
                    "token": {"type": "string"}}}]}, "created")},
                body={"required": False, "content": {"application/json": {"schema": {"type": "object", "properties": {
                    "name": {"type": ["string", "null"], "maxLength": 255},
                    "expires_in_days": {"type": ["integer", "null"], "minimum": 1, "maximum": 3650}}}}}}),
        },
        "/api/tokens/{token_id}": {"delete": _operation("Revokes one of the caller's tokens",
                                                        {"200": _json(_ref("Token"))}, [token_id])},
        "/api/people": {
            "get": _operation("Every account (admin)", {"200": _json({"type": "object", "properties": {
                "people": {"type": "array", "items": _ref("Person")}}})}),
            "post": _operation("Adds a local account (admin); a generated password is in this answer only", {
                "201": _json({"type": "object", "properties": {"person": _ref("Person"),
                                                               "password": {"type": ["string", "null"]}}},
                             "created")},
                body={"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["name", "roles"], "properties": {
                        "name": person_name, "roles": roles, "groups": groups,
                        "display_name": {"type": ["string", "null"], "maxLength": 255},
                        "password": {"type": ["string", "null"], "minLength": 8, "maxLength": 1024}}}}}}),
        },
        "/api/people/{name}": {
            "get": _operation("One account (admin)", {"200": _json(_ref("Person"))}, [name]),
            "patch": _operation("Changes an account's roles, groups, display name or disabled (admin)",
                                {"200": _json(_ref("Person"))}, [name],
                                {"required": False, "content": {"application/json": {"schema": {
                                    "type": "object", "properties": {
                                        "roles": {**roles, "type": ["array", "null"]}, "groups": groups,
                                        "disabled": {"type": ["boolean", "null"]},
                                        "display_name": {"type": ["string", "null"], "maxLength": 255}}}}}}),
        },
        "/api/people/{name}/password": {"post": _operation(
            "Sets a local account's password, given or generated (admin); it is in this answer only",
            {"200": _json({"type": "object", "properties": {"name": {"type": "string"},
                                                            "password": {"type": "string"}}})}, [name],
            {"required": False, "content": {"application/json": {"schema": {"type": "object", "properties": {
                "password": {"type": ["string", "null"], "minLength": 8, "maxLength": 1024}}}}}})},
    }


_PEOPLE_SCHEMAS = {
    "Person": {"type": "object", "properties": {
        "name": {"type": "string"}, "display_name": {"type": ["string", "null"]},
        "roles": {"type": "array", "items": {"type": "string"}},
        "groups": {"type": "array", "items": {"type": "string"}}, "source": {"enum": ["local", "oidc"]},
        "created_at": {"type": ["string", "null"]}, "disabled": {"type": "boolean"}}},
    "Token": {"type": "object", "properties": {
        "id": {"type": "integer"}, "owner": {"type": "string"}, "name": {"type": "string"},
        "prefix": {"type": "string", "description": "its first characters, to recognise it by"},
        "created_at": {"type": ["string", "null"]}, "last_used_at": {"type": ["string", "null"]},
        "expires_at": {"type": ["string", "null"]}, "revoked": {"type": "boolean"}}},
}


def _document():
    key, instance = _path_parameter("key"), _path_parameter("instance_id")
    json_body = {"required": False, "content": {"application/json": {"schema": _JSON_OBJECT}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Maestro", "version": "1", "description": (
            "Deploy BPMN processes, run and follow instances. Text in paths, queries and JSON bodies may not "
            "hold NUL characters or lone surrogates (400).")},
        "paths": {
            "/api/definitions": {
                "get": _operation("Newest version of each process, with instance counts by status",
                                  {"200": _json({"type": "array", "items": _ref("Definition")})}),
                "post": _operation(
                    "Deploy BPMN files, with the forms they name (Camunda Forms .form, Spiff Arena JSON-schema .json): "
                    "multipart \"file\" fields, or one file as the body",
                    {"201": _json(_JSON_OBJECT, "deployed"),
                     "422": _json(_ref("Invalid"), "a file has problems; nothing was deployed")},
                    [_query_parameter("force_executable", {"type": "boolean"},
                                      'deploy processes marked isExecutable="false" too, letting timers '
                                      'without a time never fire (listed in "untimed_timers")'),
                     _query_parameter("name", description="file name of a raw-body upload")],
                    {"required": True, "content": {
                        "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                            "file": {"type": "array", "minItems": 1,
                                     "items": {"type": "string", "format": "binary"}}}}},
                        "application/xml": {"schema": {"type": "string", "minLength": 1}}}}),
            },
            "/api/definitions/{key}": {"get": _operation(
                "Versions of a process and its start form", {"200": _json(_JSON_OBJECT)}, [key])},
            "/api/definitions/{key}/xml": {"get": _operation(
                "The BPMN file of a version (the newest by default)",
                {"200": {"description": "BPMN XML", "content": {"application/xml": {"schema": {"type": "string"}}}}},
                [key, _query_parameter("version",
                                       {"type": "integer", "minimum": 1, "maximum": MAX_DATABASE_INTEGER})])},
            "/api/definitions/{key}/instances": {"post": _operation(
                "Start an instance of the newest version; `data` must fit its start form",
                {"201": _json(_ref("Started")),
                 "422": _json(_ref("InvalidForm"), "data that does not fit the start form; nothing started")},
                [key, _TRACEPARENT],
                {"required": False, "content": {"application/json": {"schema": {"type": "object", "properties": {
                    "data": _JSON_OBJECT, "business_key": {"type": "string"}}}}}})},
            "/api/instances": {"get": _operation(
                "Instances, newest first, a page at a time",
                {"200": _json({"type": "object", "properties": {
                    "instances": {"type": "array", "items": _ref("InstanceSummary")},
                    "next": {"type": ["string", "null"], "description": "pass as `after` for the next page"}}})},
                [_query_parameter("status", {"enum": ["", *STATUSES]}, "empty: any status, as for `key`"),
                 _query_parameter("outcome", {"enum": ["", *OUTCOMES]},
                                  "completed instances that ended so: rolled_back (their undo tasks ran) or completed"),
                 _query_parameter("key"), _query_parameter("business_key"),
                 _query_parameter("version", {"type": "integer", "minimum": 1, "maximum": MAX_DATABASE_INTEGER}),
                 _query_parameter("element", {"type": "string", "maxLength": REPAIR_TEXT_LENGTH},
                                  "the element id of its open incident"),
                 _query_parameter("error", {"type": "string", "maxLength": REPAIR_ERROR_TEXT_LENGTH},
                                  "part of its open incident's message, in any case"),
                 _query_parameter("suspended", {"enum": ["", "true", "false"]}),
                 _query_parameter("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
                 _query_parameter("after", description="the `next` of the page before; anything else is refused "
                                                        "with 400")])},
            "/api/instances/{instance_id}": {"get": _operation(
                "An instance: variables, tasks, history, incident, and each diagram element's state",
                {"200": _json(_JSON_OBJECT)}, [instance])},
            **_repair_paths(instance),
            "/api/instances/{instance_id}/cancel": {"post": _operation(
                "Stop an instance", {"200": _json(_ref("InstanceSummary"))}, [instance])},
            "/api/instances/{instance_id}/tasks/{task}/complete": {"post": _operation(
                "Complete a waiting user task (by task id or element id) with {data}, which must fit its form",
                {"200": _json(_ref("InstanceSummary")),
                 "422": _json(_ref("InvalidForm"), "data that does not fit the task's form; the task still waits")},
                [instance, _path_parameter("task")], json_body)},
            "/api/messages": {"post": _operation(
                "Publish a message: stored at once, then delivered by the workers to every catch waiting for it "
                "that `correlation` finds, and to the processes that begin with it; kept `ttl` while nobody waits",
                {"202": _json(_ref("Published"), "stored; delivered by the workers")}, [_TRACEPARENT],
                body={"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["name"], "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": NOT_BLANK},
                        "correlation": {"oneOf": [
                            {"type": "null"},
                            {"type": "string", "maxLength": 255,
                             "description": "a correlation key: the catches whose key from the diagram, or else "
                                            "business key, it is"},
                            {**_JSON_OBJECT, "description": "the catches whose instance has this business_key "
                                                            "and holds these variables"}]},
                        "data": _JSON_OBJECT,
                        "ttl": {"oneOf": [{"type": "null"}, {"type": "number", "minimum": 0},
                                          {"type": "string", "pattern": TTL_PATTERN}],
                                "description": "seconds or an ISO 8601 duration (default PT1H)"}}}}}})},
            "/api/messages/{message_id}": {"get": _operation(
                "A message or signal: its status (pending, delivered, buffered, expired) and deliveries",
                {"200": _json(_ref("Message"))}, [_path_parameter("message_id")])},
            "/api/event-paths": {"get": _operation(
                "Every instance and message of a business transaction across processes: who threw what, who "
                "caught it, when and after how long, what it started, what is still pending, buffered or "
                "expired, and one timeline with the tasks that completed, failed or undid work. Give `key` or "
                "`instance`, one of them (400 otherwise)",
                {"200": _json(_ref("EventPath"))},
                [_query_parameter("key", description="a business key or correlation value: a key nothing carries "
                                                     "gives empty lists"),
                 _query_parameter("instance", description="an instance id: its path (404 when there is none)")])},
            "/api/signals": {"post": _operation(
                "Broadcast a signal to every instance and process that catches it now (stored, then delivered "
                "by the workers)",
                {"202": _json(_ref("Published"), "stored; broadcast by the workers")}, [_TRACEPARENT],
                body={"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["name"], "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": NOT_BLANK},
                        "data": _JSON_OBJECT}}}}})},
            "/api/drafts": {"get": _operation(
                "Every draft (a diagram saved without deploying it), without its XML",
                {"200": _json({"type": "object", "properties": {"drafts": {"type": "array",
                                                                           "items": _ref("DraftSummary")}}})})},
            "/api/drafts/{key}": {
                "get": _operation("The draft of a process, with its XML", {"200": _json(_ref("Draft"))}, [key]),
                "put": _operation(
                    "Save the draft of a process (replacing the one there was): well-formed, safe XML whose "
                    "executable process's id is `key`; lint problems are allowed (400 otherwise)",
                    {"200": _json(_ref("Draft"))}, [key],
                    {"required": True, "content": {"application/json": {"schema": {
                        "type": "object", "required": ["xml"], "properties": {
                            "xml": {"type": "string", "minLength": 1},
                            "based_on_version": {"type": ["integer", "null"], "minimum": 1,
                                                 "maximum": MAX_DATABASE_INTEGER}}}}}}),
                "delete": _operation("Delete the draft of a process", {"204": {"description": "deleted"}}, [key]),
            },
            "/api/drafts/{key}/deploy": {"post": _operation(
                "Deploy the draft as a new version (as an upload named KEY.bpmn) and delete it",
                {"201": _json(_JSON_OBJECT, "deployed"),
                 "409": _json(_ref("Error"), "a version newer than the one the draft was edited from is deployed "
                                           "(error `newer_version`); nothing was deployed, the draft is kept"),
                 "422": _json(_ref("Invalid"), "the draft has problems; nothing was deployed, the draft is kept")},
                [key, _query_parameter("over_newer", {"type": "boolean"},
                                       "deploy even when a newer version than the draft's is deployed")])},
            "/api/lint": {"post": _operation(
                "Check a diagram against this server without deploying it: what deploy refuses (errors, service "
                "tasks no handler of this server binds among them) and names scripts and conditions read that "
                "nothing in the diagram sets (warnings)",
                {"200": _json({"type": "object", "required": ["problems"], "properties": {
                    "problems": {"type": "array", "items": _ref("LintProblem")}}})},
                body=_diagram_body({})),
            },
            "/api/handlers": {"get": _operation(
                "The handlers this server loaded: topic, function name, docstring (first paragraph), undo",
                {"200": _json({"type": "object", "properties": {"handlers": {"type": "array", "items": {
                    "type": "object", "properties": {
                        "topic": {"type": "string"}, "name": {"type": "string"}, "doc": {"type": "string"},
                        "undo": {"type": "boolean"}, "undo_doc": {"type": ["string", "null"]}}}}}})})},
            "/api/element-templates": {"get": _operation(
                "A Camunda 7 element template per handler: applied to a service task, it sets camunda:type "
                "\"external\" and camunda:topic (the template id is maestro.handler.<topic>)",
                {"200": _json({"type": "array", "items": _JSON_OBJECT})})},
            "/api/try": {"post": _operation(
                "Run a diagram once in memory with this server's handlers, deploying and storing nothing; per "
                "service task (by element id) \"handler\" (default), \"nothing\", \"fail\" (a technical "
                "failure) or \"error:CODE\" (a BPMN error)",
                {"200": _json({"type": "object", "properties": {
                    "status": {"enum": STATUSES}, "variables": _JSON_OBJECT,
                    "path": {"type": "array", "items": {"type": "object", "properties": {
                        "element": {"type": "string"}, "name": {"type": "string"}, "state": {"type": "string"},
                        "undo_of": {"type": ["string", "null"]}, "error": {"type": ["object", "null"]}}}},
                    "elements": _JSON_OBJECT, "error": {"type": ["object", "null"]}}}),
                 "422": _json(_ref("Invalid"), "the diagram has problems; nothing ran")},
                body=_diagram_body({"variables": _JSON_OBJECT, "tasks": {"type": "object", "additionalProperties": {
                    "type": "string", "pattern": "^(handler|nothing|fail|error:.+)$"}}})),
            },
            **_surgery_paths(key, instance),
            **_task_paths(),
            "/api/health": {"get": _operation("Whether the database answers and this server's worker works", {
                "200": _json(_JSON_OBJECT), "503": _json(_JSON_OBJECT, "not healthy: `reason` says why")})},
            "/metrics": {"get": {"summary": "Prometheus metrics (a viewer's token: see README)", "responses": {"200": {
                "description": "text exposition format", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
            **_people_paths(),
        },
        "components": {"schemas": {
            "Published": {"type": "object", "required": ["id", "status"], "properties": {
                "id": {"type": "string"}, "status": {"type": "string", "enum": ["pending"]}}},
            "Message": {"type": "object", "properties": {
                "id": {"type": "string"}, "kind": {"type": "string", "enum": ["message", "signal"]},
                "name": {"type": "string"},
                "status": {"type": "string", "enum": ["pending", "delivered", "buffered", "expired"]},
                "correlation": {"type": ["string", "null"]}, "business_key": {"type": ["string", "null"]},
                "payload": _JSON_OBJECT, "published_at": {"type": "string"}, "published_by": {"type": "string"},
                "expires_at": {"type": ["string", "null"]}, "ended_at": {"type": ["string", "null"]},
                "source_instance_id": {"type": ["string", "null"]}, "source_element": {"type": ["string", "null"]},
                "source_key": {"type": ["string", "null"], "description": "the process of the instance that threw it "
                                                                           "(GET /api/messages/ID only)"},
                "attempts": {"type": "integer"},
                "deliveries": {"type": "array", "items": {"type": "object", "properties": {
                    "instance_id": {"type": "string"}, "key": {"type": ["string", "null"]},
                    "element": {"type": ["string", "null"]}, "started": {"type": "boolean"},
                    "delivered_at": {"type": "string"}}}}}},
            **_event_path_schemas(),
            **_task_schemas(),
            **_PEOPLE_SCHEMAS,
            "Error": {"type": "object", "required": ["error", "message"],
                      "properties": {"error": {"type": "string"}, "message": {"type": "string"}}},
            "Invalid": {"type": "object", "properties": {
                "error": {"type": "string"}, "message": {"type": "string"},
                "errors": {"type": "array", "items": {"type": "object", "properties": {
                    "file": {"type": "string"}, "line": {"type": ["integer", "null"]},
                    "element": {"type": ["string", "null"]}, "message": {"type": "string"}}}}}},
            "InvalidForm": {"type": "object", "required": ["error", "message", "errors"], "properties": {
                "error": {"const": "invalid_form"}, "message": {"type": "string"},
                "errors": {"type": "array", "items": {
                    "type": "object", "required": ["field", "message"], "properties": {
                        "field": {"type": "string", "description": "the field's key; a.b inside an object"},
                        "message": {"type": "string"}}}}}},
            "LintProblem": {"type": "object", "properties": {
                "file": {"type": "string"}, "line": {"type": "integer"}, "element": {"type": "string"},
                "message": {"type": "string"}, "severity": {"enum": ["error", "warning"]}}},
            "Definition": {"type": "object", "properties": {
                "key": {"type": "string"}, "version": {"type": "integer"}, "name": {"type": ["string", "null"]},
                "file_name": {"type": "string"}, "deployed_at": {"type": "string"},
                "deployed_by": {"type": ["string", "null"], "description": "the person who deployed it"},
                "instances": {"type": "object", "additionalProperties": {"type": "integer"}}}},
            "DraftSummary": {"type": "object", "properties": {
                "key": {"type": "string"}, "saved_by": {"type": "string"}, "saved_at": {"type": "string"},
                "based_on_version": {"type": ["integer", "null"]}}},
            "Draft": {"type": "object", "properties": {
                "key": {"type": "string"}, "xml": {"type": "string"}, "saved_by": {"type": "string"},
                "saved_at": {"type": "string"}, "based_on_version": {"type": ["integer", "null"]}}},
            "Started": {"type": "object", "properties": {"id": {"type": "string"}, "status": {"type": "string"}}},
            "InstanceSummary": {"type": "object", "properties": {
                "id": {"type": "string"}, "key": {"type": "string"}, "version": {"type": "integer"},
                "status": {"type": "string"}, "business_key": {"type": ["string", "null"]},
                "created_at": {"type": "string"}, "updated_at": {"type": "string"},
                "ended_at": {"type": ["string", "null"]}, "suspended": {"type": "boolean"},
                "suspended_at": {"type": ["string", "null"]}, "suspended_by": {"type": ["string", "null"]},
                "suspended_reason": {"type": ["string", "null"]},
                "outcome": {"enum": [*OUTCOMES, None], "description": "how a completed instance ended (null until "
                                                                     "it completes); status stays completed"},
                "end_event": {"type": ["string", "null"], "description": "name of the end event it reached"},
                "failure": {"type": ["object", "null"], "description": "where a failed instance (or one waiting to "
                                                                       "retry) failed", "properties": {
                    "element": {"type": ["string", "null"]}, "name": {"type": ["string", "null"]},
                    "message": {"type": ["string", "null"]}, "at": {"type": ["string", "null"]}}},
                "retry": {"type": ["object", "null"], "description": "the next try of a failed task", "properties": {
                    "attempt": {"type": "integer"}, "of": {"type": "integer"}, "next_at": {"type": "string"}}}}},
            "BatchResult": {"type": "object", "required": ["done", "refused", "more"], "properties": {
                "done": {"type": "array", "items": {"type": "string"}},
                "refused": {"type": "array", "items": {"type": "object", "required": ["id", "reason"], "properties": {
                    "id": {"type": "string"}, "reason": {"type": "string"}}}},
                "more": {"type": "boolean"}}},
        }},
    }
