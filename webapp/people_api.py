"""The people part of the JSON API: who am I (/api/me), my API tokens (/api/tokens) and, for admins,
the accounts (/api/people). Errors are JSON, as in the rest of the API (webapp/api.py)."""
from datetime import timedelta

from flask import Blueprint, current_app, jsonify, request

from engine.durable.people import AccountExists, AccountRefused
from engine.durable.store.models import utcnow

from . import access, request_input
from .access import needs, signed_in
from .api import install_refusals, json_error
from .request_input import BadRequest

blueprint = Blueprint("people_api", __name__)
install_refusals(blueprint)
blueprint.register_error_handler(AccountRefused, lambda error: json_error(400, "bad_request", str(error)))
blueprint.register_error_handler(AccountExists, lambda error: json_error(409, "conflict", str(error)))

MAX_TOKEN_DAYS = 3650


def people():
    return current_app.extensions["maestro"].people


def _me() -> str:
    return access.person()  # type: ignore[return-value]  # @signed_in: there is one


@blueprint.get("/me")
@signed_in
def me():
    return jsonify(access.current())


# -- my tokens ----------------------------------------------------------------------

@blueprint.get("/tokens")
@signed_in
def my_tokens():
    return jsonify({"tokens": people().tokens(_me())})


@blueprint.post("/tokens")
@signed_in
def new_token():
    """{name?, expires_in_days?} -> 201 {id, name, prefix, ..., token}: the secret, shown this once."""
    body = request_input.json_object(request.get_data(cache=False))
    name, days = body.get("name"), body.get("expires_in_days")
    if name is not None and not isinstance(name, str):
        raise BadRequest('"name" must be a string (what the token is for)')
    if isinstance(days, float) and days.is_integer():  # 30.0 is a whole number too (JSON has one number type)
        days = int(days)
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_TOKEN_DAYS):
        raise BadRequest(f'"expires_in_days" must be a whole number of days from 1 to {MAX_TOKEN_DAYS}, or null')
    expires = utcnow() + timedelta(days=days) if days else None
    return jsonify(people().new_token(_me(), name, expires)), 201


@blueprint.delete("/tokens/<int:token_id>")
@signed_in
def revoke_token(token_id):
    return jsonify(people().revoke_token(_me(), _database_integer(token_id)))


MAX_TOKEN_ID = 2 ** 31 - 1  # an INTEGER column


def _database_integer(number: int) -> int:
    if number > MAX_TOKEN_ID:
        raise BadRequest("no such token number")
    return number


# -- accounts (admin) -----------------------------------------------------------------

@blueprint.get("/people")
@needs("admin")
def list_people():
    return jsonify({"people": people().every()})


@blueprint.post("/people")
@needs("admin")
def add_person():
    """{name, roles, groups?, display_name?, password?} -> 201 {person, password}: the password given,
    or a generated one, shown this once."""
    body = request_input.json_object(request.get_data(cache=False))
    password = body.get("password")
    if password is not None and not isinstance(password, str):
        raise BadRequest('"password" must be a string, or left out to have one generated')
    groups = body.get("groups")
    person, made = people().add(body.get("name"), body.get("roles"), [] if groups is None else groups, password,
                                _optional_text(body, "display_name"))
    return jsonify({"person": person, "password": made if password is None else None}), 201


@blueprint.get("/people/<name>")
@needs("admin")
def show_person(name):
    return jsonify(people().get(name))


@blueprint.patch("/people/<name>")
@needs("admin")
def change_person(name):
    """{roles?, groups?, display_name?, disabled?}: what is given changes (disabling revokes its tokens)."""
    body = request_input.json_object(request.get_data(cache=False))
    disabled = body.get("disabled")
    if disabled is not None and not isinstance(disabled, bool):
        raise BadRequest('"disabled" must be true or false')
    refusal = own_demotion(name, body.get("roles"), disabled)
    if refusal:
        raise BadRequest(refusal)
    return jsonify(people().update(name, body.get("roles"), body.get("groups"), _optional_text(body, "display_name"),
                                   disabled))


@blueprint.post("/people/<name>/password")
@needs("admin")
def reset_password(name):
    """{password?} -> {password}: the password given, or a generated one, shown this once."""
    body = request_input.json_object(request.get_data(cache=False))
    password = body.get("password")
    if password is not None and not isinstance(password, str):
        raise BadRequest('"password" must be a string, or left out to have one generated')
    return jsonify({"name": name, "password": people().set_password(name, password)})


def own_demotion(name: str, roles: list | None, disabled: bool | None) -> str | None:
    """Why an admin may not make this change to `name` (None: they may): nobody disables their own
    account or takes its admin role, so that an admin is never locked out by their own hand."""
    if name == _me() and (disabled or (roles is not None and "admin" not in roles)):
        return "you cannot disable your own account nor take its admin role (another admin can)"
    return None


def _optional_text(body: dict, field: str) -> str | None:
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f'"{field}" must be a string')
    return value
