"""Who may do what: every view names the role it needs, and the person acting is known by name.

Roles (DESIGN.md, "People"): viewer (reads everything), worker (starts processes, works the user
tasks of their groups), operator (retry, cancel, suspend, modify, migrate, publish), modeler (edit,
lint, try, deploy), admin (people and everything else). A view says which with `@needs("operator")`;
the sign-in layer refuses a request whose person lacks it (JSON 401/403 under /api, else the
sign-in page).

Pages' scripts send the page's CSRF token (meta "csrf-token") as the X-CSRFToken header with every
state-changing request to /api made with the session cookie.
"""
from collections.abc import Callable
from typing import TypeVar

ROLES = ("viewer", "worker", "operator", "modeler", "admin")

View = TypeVar("View", bound=Callable)


def needs(role: str) -> Callable[[View], View]:
    """Marks a view as open to people with `role` (and to admins)."""
    if role not in ROLES:
        raise ValueError(f"no role {role!r}: one of {', '.join(ROLES)}")

    def mark(view: View) -> View:
        view.maestro_role = role  # type: ignore[attr-defined]
        return view
    return mark


def public(view: View) -> View:
    """Marks a view as open to everyone, signed in or not (the sign-in pages themselves)."""
    view.maestro_public = True  # type: ignore[attr-defined]
    return view


def person() -> str | None:
    """The name of the person making this request, for the history of what they do (None: nobody
    signed in, and the engine records its own actor)."""
    return None


def groups() -> list[str]:
    """The groups of the person making this request (candidate groups of user tasks match them)."""
    return []


def may(role: str) -> bool:
    """Whether the person making this request has `role` (an admin has every role)."""
    return True
