"""The People page (admins): every account, adding one, changing its roles and groups, disabling it,
resetting its password. A generated password is shown once, on the page that made it."""
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from engine.durable import NotFound
from engine.durable.people import ROLES, AccountRefused

from . import access
from .access import needs
from .people_api import own_demotion

blueprint = Blueprint("people", __name__)


def people():
    return current_app.extensions["maestro"].people


@blueprint.get("/people")
@needs("admin")
def people_page(shown_password=None, status=200):
    return render_template("people.html", people=people().every(), roles=ROLES, shown_password=shown_password,
                           me=access.person()), status


@blueprint.post("/people")
@needs("admin")
def add_person():
    form = request.form
    try:
        person, password = people().add(form.get("name", "").strip(), form.getlist("roles"), _groups(form),
                                        display_name=form.get("display_name") or None)
    except AccountRefused as error:
        flash(str(error), "error")
        return people_page(status=400)
    return people_page(shown_password={"name": person["name"], "password": password}, status=201)


@blueprint.post("/people/<name>")
@needs("admin")
def change_person(name):
    form = request.form
    disabled = bool(form.get("disabled"))
    refusal = own_demotion(name, form.getlist("roles"), disabled)
    if refusal:
        flash(f"{refusal[0].upper()}{refusal[1:]}.", "error")
        return redirect(url_for("people.people_page"))
    try:
        people().update(name, form.getlist("roles"), _groups(form), form.get("display_name"), disabled)
        flash(f"{name} changed.", "success")
    except (AccountRefused, NotFound) as error:
        flash(str(error), "error")
    return redirect(url_for("people.people_page"))


@blueprint.post("/people/<name>/password")
@needs("admin")
def reset_password(name):
    try:
        password = people().set_password(name)
    except (AccountRefused, NotFound) as error:
        flash(str(error), "error")
        return redirect(url_for("people.people_page"))
    return people_page(shown_password={"name": name, "password": password})


def _groups(form) -> list[str]:
    return [group.strip() for group in form.get("groups", "").split(",") if group.strip()]
