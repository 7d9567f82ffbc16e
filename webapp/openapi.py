"""The OpenAPI 3.1 description of the JSON API, served at /api/openapi.json."""
from engine.run.time_to_live import TTL_PATTERN

from .request_input import MAX_DATABASE_INTEGER
from .uploads import FILE_NAME_LENGTH

STATUSES = ["running", "waiting", "completed", "failed", "cancelled"]
_ERROR = {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_JSON_OBJECT = {"type": "object", "additionalProperties": True}


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
            "xml": {"type": "string", "pattern": "\\S", "description": "the BPMN diagram, as text"},
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
                    "Deploy BPMN files: multipart \"file\" fields, or one file as the body",
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
                "Start an instance of the newest version", {"201": _json(_ref("Started"))}, [key, _TRACEPARENT],
                {"required": False, "content": {"application/json": {"schema": {"type": "object", "properties": {
                    "data": _JSON_OBJECT, "business_key": {"type": "string"}}}}}})},
            "/api/instances": {"get": _operation(
                "Instances, newest first, a page at a time",
                {"200": _json({"type": "object", "properties": {
                    "instances": {"type": "array", "items": _ref("InstanceSummary")},
                    "next": {"type": ["string", "null"], "description": "pass as `after` for the next page"}}})},
                [_query_parameter("status", {"enum": ["", *STATUSES]}, "empty: any status, as for `key`"),
                 _query_parameter("key"), _query_parameter("business_key"),
                 _query_parameter("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
                 _query_parameter("after", description="the `next` of the page before; anything else is refused "
                                                        "with 400")])},
            "/api/instances/{instance_id}": {"get": _operation(
                "An instance: variables, tasks, history, incident, and each diagram element's state",
                {"200": _json(_JSON_OBJECT)}, [instance])},
            "/api/instances/{instance_id}/retry": {"post": _operation(
                "Resume a failed instance from its failed task", {"200": _json(_ref("InstanceSummary"))}, [instance])},
            "/api/instances/{instance_id}/cancel": {"post": _operation(
                "Stop an instance", {"200": _json(_ref("InstanceSummary"))}, [instance])},
            "/api/instances/{instance_id}/tasks/{task}/complete": {"post": _operation(
                "Complete a waiting user task (by task id or element id) with {data}",
                {"200": _json(_ref("InstanceSummary"))}, [instance, _path_parameter("task")], json_body)},
            "/api/messages": {"post": _operation(
                "Publish a message: stored at once, then delivered by the workers to every catch waiting for it "
                "that `correlation` finds, and to the processes that begin with it; kept `ttl` while nobody waits",
                {"202": _json(_ref("Published"), "stored; delivered by the workers")}, [_TRACEPARENT],
                body={"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["name"], "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "\\S"},
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
                        "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "\\S"},
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
            **_PEOPLE_SCHEMAS,
            "Error": {"type": "object", "required": ["error", "message"],
                      "properties": {"error": {"type": "string"}, "message": {"type": "string"}}},
            "Invalid": {"type": "object", "properties": {
                "error": {"type": "string"}, "message": {"type": "string"},
                "errors": {"type": "array", "items": {"type": "object", "properties": {
                    "file": {"type": "string"}, "line": {"type": ["integer", "null"]},
                    "element": {"type": ["string", "null"]}, "message": {"type": "string"}}}}}},
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
                "ended_at": {"type": ["string", "null"]}}},
        }},
    }
