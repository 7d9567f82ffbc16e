"""Signing in and out of the web app: the /sign-in page (a local account's name and password), POST
/sign-out, and sign_in_person for an identity provider's sign-in (webapp/oidc). The session cookie
then names the person (access.SESSION_KEY); every request looks them up again (webapp/access.py), so
a disabled or removed account is signed out at its next request."""
import threading
import time
from collections import deque
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for

from engine.durable.people import AccountRefused

from .access import SESSION_KEY, current, public

blueprint = Blueprint("sign_in", __name__)

# Failed sign-ins from one address within WINDOW seconds before it must wait: a password guesser gets
# a handful of tries a minute, a person who mistyped is not stopped.
MAX_FAILURES, WINDOW = 5, 60.0
MAX_ADDRESSES = 10_000  # remembered at most (the oldest forgotten first)

SignInRefused = AccountRefused  # what sign_in_person raises for an identity that may not sign in


class _Failures:
    """Recent failed sign-ins per client address, in this process."""

    def __init__(self):
        self.lock, self.by_address = threading.Lock(), {}

    def too_many(self, address: str) -> bool:
        with self.lock:
            recent = self._recent(address)
            return len(recent) >= MAX_FAILURES

    def add(self, address: str) -> None:
        with self.lock:
            self._recent(address).append(time.monotonic())
            if len(self.by_address) > MAX_ADDRESSES:
                self.by_address.pop(next(iter(self.by_address)))

    def _recent(self, address):
        recent = self.by_address.setdefault(address, deque())
        while recent and recent[0] < time.monotonic() - WINDOW:
            recent.popleft()
        return recent


def sign_in_person(name: str, display_name: str | None, roles: list[str], groups: list[str],
                   source: str = "oidc") -> None:
    """Creates or updates the account an identity provider signed in (its roles and groups are the
    provider's, at every sign-in) and starts its session. A local account of the same name is not
    taken over, nor a disabled one signed in: SignInRefused (AccountRefused), whose message says why."""
    person = current_app.extensions["maestro"].people.sign_in_external(name, display_name, roles, groups, source)
    _start_session(person["name"])


def _start_session(name: str) -> None:
    session.clear()  # a fresh session (and CSRF token) for the person: nothing carried over from before
    session[SESSION_KEY] = name


def safe_next(target: str | None) -> str:
    """Where to go after signing in: `target` when it is a path of this site, else the home page."""
    return local_path(target) or url_for("pages.home")


def local_path(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None: sign-in never sends a person to another site.
    Control characters are refused too: browsers drop a tab or newline from a URL, so "/\t/evil.example"
    would lead to //evil.example."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(character) < 32 or ord(character) == 127 for character in target):
        return None
    return target


@blueprint.get("/sign-in")
@public
def sign_in_page(error=None, status=200):
    if current() is not None and error is None:
        return redirect(safe_next(request.args.get("next")))
    return render_template("sign_in.html", error=error, next=request.values.get("next", ""),
                           name=request.form.get("name", ""),
                           oidc=current_app.config.get("MAESTRO_OIDC")), status


@blueprint.post("/sign-in")
@public
def sign_in():
    failures = current_app.extensions.setdefault("maestro_sign_in_failures", _Failures())
    address = request.remote_addr or "?"
    if failures.too_many(address):
        return sign_in_page(error="Too many failed sign-ins from here: wait a minute and try again.", status=429)
    name, password = request.form.get("name", "").strip(), request.form.get("password", "")
    person = current_app.extensions["maestro"].people.authenticate(name, password)
    if person is None:
        failures.add(address)
        return sign_in_page(error="That name and password do not match an account that may sign in.", status=401)
    _start_session(person["name"])
    return redirect(safe_next(request.form.get("next")))


@blueprint.post("/sign-out")
@public
def sign_out():
    session.clear()
    return redirect(url_for("sign_in.sign_in_page"))
