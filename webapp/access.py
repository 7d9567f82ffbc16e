"""Who may do what: every view names the role it needs, and the person acting is known by name.

Roles (DESIGN.md, "People"): viewer (reads everything), worker (starts processes, works the user
tasks of their groups), operator (retry, cancel, suspend, modify, migrate, publish), modeler (edit,
lint, try, deploy), admin (people and everything else). A view says which with `@needs("operator")`;
`@signed_in` opens it to any signed-in person whatever their roles (their own tokens), `@public` to
everyone (the sign-in page, /api/health). The check is made here, once, before every request
(install): a GET or HEAD view without a mark needs viewer, and a view of any other method without a
mark is refused, so that a new endpoint is closed until someone decides who may use it.

Credentials: `Authorization: Bearer <token>` (a personal API token) or the session cookie of a sign-in
(webapp/sign_in.py). Pages' scripts send the page's CSRF token (meta "csrf-token") as the X-CSRFToken
header with every state-changing request to /api made with the session cookie; a Bearer request needs
none (a browser never adds that header by itself).
"""
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from flask import Flask, current_app, g, jsonify, redirect, render_template, request, session, url_for
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

ROLES = ("viewer", "worker", "operator", "modeler", "admin")
SIGNED_IN = "signed-in"  # the mark of @signed_in: any signed-in person
SESSION_KEY = "person"  # the session's entry naming who signed in
READS = ("GET", "HEAD", "OPTIONS")

View = TypeVar("View", bound=Callable)


def needs(role: str) -> Callable[[View], View]:
    """Marks a view as open to people with `role` (and to admins)."""
    if role not in ROLES:
        raise ValueError(f"no role {role!r}: one of {', '.join(ROLES)}")

    def mark(view: View) -> View:
        view.maestro_role = role  # type: ignore[attr-defined]
        return view
    return mark


def signed_in(view: View) -> View:
    """Marks a view as open to any signed-in person, whatever their roles (their account, their tokens)."""
    view.maestro_role = SIGNED_IN  # type: ignore[attr-defined]
    return view


def public(view: View) -> View:
    """Marks a view as open to everyone, signed in or not (signing in, health checks, the API's description)."""
    view.maestro_public = True  # type: ignore[attr-defined]
    return view


def current() -> dict | None:
    """The signed-in person of this request ({name, display_name, roles, groups, ...}), or None."""
    return g.get("maestro_person")


def person() -> str | None:
    """The name of the person making this request, for the history of what they do (None: nobody
    signed in, and the engine records its own actor)."""
    found = current()
    return found["name"] if found else None


def groups() -> list[str]:
    """The groups of the person making this request (candidate groups of user tasks match them)."""
    found = current()
    return list(found["groups"]) if found else []


def may(role: str) -> bool:
    """Whether the person making this request has `role` (an admin has every role; every role reads)."""
    found = current()
    if found is None:
        return False
    roles = found["roles"]
    if role == SIGNED_IN or "admin" in roles:
        return True
    if role == "viewer":
        return bool(roles)
    return role in roles


def install(app: Flask) -> None:
    """Checks every request's credentials and role before its view runs."""
    app.before_request(_enforce)
    app.context_processor(lambda: {"signed_in_person": current(), "may": may})


def role_of(view: Any, method: str) -> str | None:
    """The role a request of `method` to `view` needs: its mark, viewer for an unmarked read, None
    (nobody) for an unmarked write. Public views are not asked."""
    marked = getattr(view, "maestro_role", None)
    if marked is not None:
        return marked
    return "viewer" if method in READS else None


def is_public(endpoint: str | None, view: Any) -> bool:
    return endpoint == "static" or getattr(view, "maestro_public", False)


def _enforce():
    if request.endpoint == "static":
        return None  # the style sheet and scripts: public, and not worth a lookup of the person
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    refusal = _identify()
    if view is None or is_public(request.endpoint, view):
        return None  # a 404 or 405 is answered as it is; public views need nobody
    if refusal is not None:
        return refusal
    if current() is None:
        return _unauthorized("sign in, or send a personal API token as `Authorization: Bearer TOKEN`")
    role = role_of(view, request.method)
    if role is None:
        return _forbidden(f"{request.method} {request.path} is open to nobody: its view names no role")
    if not may(role):
        who = current()["name"]  # type: ignore[index]
        return _forbidden(f"this needs the role {role}; {who} has " + (", ".join(current()["roles"]) or "none"))
    if g.get("maestro_via") == "session" and request.method not in READS and _is_api():
        return _csrf_refusal()
    return None


def _identify():
    """Sets g.maestro_person from the request's token or session; a refusal when a token is not live."""
    people = current_app.extensions["maestro"].people
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, secret = header.partition(" ")
        found = people.person_for_token(secret.strip()) if scheme.lower() == "bearer" else None
        if found is None:
            return _unauthorized("the token is not valid: unknown, revoked or expired (or its account is disabled)")
        g.maestro_person, g.maestro_via = found, "token"
        return None
    name = session.get(SESSION_KEY)
    if isinstance(name, str):
        from engine.durable import NotFound
        try:
            found = people.get(name)
        except NotFound:
            found = None
        if found is None or found["disabled"]:
            session.pop(SESSION_KEY, None)  # removed or disabled since: signed out
            return None
        g.maestro_person, g.maestro_via = found, "session"
    return None


def _csrf_refusal():
    try:
        validate_csrf(request.headers.get("X-CSRFToken"))
    except ValidationError as error:
        return _json(403, "csrf", f"a request with the session cookie must send the page's CSRF token as "
                                  f"the X-CSRFToken header ({error})")
    return None


def _is_api() -> bool:
    return request.path.startswith("/api/") or request.path == "/metrics"


def _json(status, error, message, headers=None):
    response = jsonify(error=error, message=message)
    response.status_code = status
    response.headers.extend(headers or {})
    return response


def _unauthorized(message):
    if _is_api():
        return _json(401, "unauthorized", message, {"WWW-Authenticate": 'Bearer realm="maestro"'})
    return redirect(url_for("sign_in.sign_in_page") + "?next=" + quote(_back_to(), safe="/"))


def _back_to() -> str:
    """Where a sign-in should lead: the page asked for, or, for a form sent after the session ended
    (its address answers no GET), the page the form was on."""
    if request.method in READS:
        return request.full_path.rstrip("?")
    came_from = urlsplit(request.referrer or "")
    if came_from.netloc == request.host and came_from.path.startswith("/"):
        return came_from.path + (f"?{came_from.query}" if came_from.query else "")
    return "/"


def _forbidden(message):
    if _is_api():
        return _json(403, "forbidden", message)
    return render_template("error.html", title="Not allowed", message=message), 403
