"""STAND-IN for the auth helper's webapp/sign_in.py (issue 16): the merge replaces this file.

Only what OpenID Connect sign-in calls: start a session for a person the provider vouched for.
"""
from flask import session


def sign_in_person(name: str, display_name: str | None, roles: list[str], groups: list[str],
                   source: str = "oidc") -> None:
    """Creates or updates the external account of `name` and starts their session (here: the session only)."""
    session.clear()  # a new person gets a new session: nothing of the one before sign-in carries over
    session["person"] = name
    session["roles"] = roles
    session["groups"] = groups
