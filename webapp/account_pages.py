"""The Account page: who is signed in, and their personal API tokens (create one, shown once; revoke)."""
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from engine.durable import NotFound
from engine.durable.people import AccountRefused

from . import access
from .access import signed_in

blueprint = Blueprint("account", __name__)


def people():
    return current_app.extensions["maestro"].people


@blueprint.get("/account")
@signed_in
def account(new_token=None, status=200):
    return render_template("account.html", person=access.current(), tokens=people().tokens(access.person()),
                           new_token=new_token), status


@blueprint.post("/account/tokens")
@signed_in
def create_token():
    try:
        made = people().new_token(access.person(), request.form.get("name", "").strip() or None)
    except AccountRefused as error:
        flash(str(error), "error")
        return redirect(url_for("account.account"))
    return account(new_token=made, status=201)


@blueprint.post("/account/tokens/<int:token_id>/revoke")
@signed_in
def revoke_token(token_id):
    try:
        revoked = people().revoke_token(access.person(), token_id)
        flash(f"Token {revoked['name']} ({revoked['prefix']}…) revoked.", "success")
    except NotFound as error:
        flash(str(error), "error")
    return redirect(url_for("account.account"))
