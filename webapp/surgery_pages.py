"""The pages' forms for an operator's surgery: "Move token" on an instance's page, "Migrate instances"
on a process's page (the JSON API is surgery_api.py)."""
from flask import Blueprint, flash, redirect, request, url_for

from engine.durable import Busy, NotFound
from engine.run.instance_errors import InstanceError

from . import access, pages
from .pages import maestro

blueprint = Blueprint("surgery_pages", __name__)


@blueprint.post("/instances/<instance_id>/move")
@access.needs("operator")
def move_token(instance_id):
    form = request.form
    try:
        moved = maestro().move_token(instance_id, form.get("from", ""), form.get("to", ""), form.get("reason", ""),
                                     by=access.person())
    except (InstanceError, Busy) as refused:  # MoveRefused is an InstanceError: its reasons are its message
        flash(f"The token was not moved: {refused}", "error")
    else:
        flash(f"Moved the token from {moved['moved']['from']} to {moved['moved']['to']}"
              f"{' (the incident is resolved)' if moved['incident_resolved'] else ''}: {moved['moved']['reason']}",
              "success")
        for warning in moved["warnings"]:
            flash(f"Note: {warning}.", "error")
    return redirect(url_for("pages.instance", instance_id=instance_id))


@blueprint.post("/processes/<key>/migrate")
@access.needs("operator")
def migrate(key):
    """Check (a dry run) or migrate; the process page shows the result."""
    form = request.form
    try:
        from_version, to_version = int(form.get("from", "")), int(form.get("to", ""))
    except ValueError:
        flash("Choose the version to migrate from and the version to migrate to.", "error")
        return redirect(url_for("pages.process", key=key))
    dry_run = form.get("action") != "migrate"
    try:
        result = maestro().migrate(key, from_version, to_version, dry_run=dry_run, by=access.person())
    except (InstanceError, NotFound, Busy) as refused:
        flash(f"Nothing was migrated: {refused}", "error")
        return redirect(url_for("pages.process", key=key))
    if not dry_run:
        refused = f"; {len(result['refused'])} refused" if result["refused"] else ""
        flash(f"Migrated {len(result['migrated'])} instance(s) from version {from_version} to {to_version}{refused}.",
              "success" if result["migrated"] or not result["refused"] else "error")
    return pages.process(key, migration={**result, "from": from_version, "to": to_version})
