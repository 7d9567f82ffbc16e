"""The HTML cockpit: processes, starting them, instances and what happened in each."""
import json
from datetime import datetime
from pathlib import Path

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from engine.durable import Busy, NotFound, NotYours, TaskTaken
from engine.durable.store.person_actions import is_person_action
from engine.forms.validation import InvalidForm
from engine.problems import DeployError
from engine.run.instance import InstanceError

from . import access, editor_templates, progress, repair_input, request_input, task_rules, uploads
from .access import needs
from .api import definitions_with_counts
from .forms import FormError, values_from
from .openapi import OUTCOMES, STATUSES

blueprint = Blueprint("pages", __name__)

PAGE_SIZE = 50


def maestro():
    return current_app.extensions["maestro"]


def error_page(status, title, message):
    return render_template("error.html", title=title, message=message), status


@blueprint.errorhandler(NotFound)
def _not_found(error):
    return error_page(404, "Not found", str(error))


@blueprint.get("/")
def home():
    return redirect(url_for("pages.processes"))


# -- processes -------------------------------------------------------------------

@blueprint.get("/processes")
def processes(problems=None, status=200):
    page = render_template("processes.html", processes=definitions_with_counts(), statuses=STATUSES,
                           problems=problems, templates=editor_templates.available())
    return page, status


@blueprint.post("/processes")
@needs("modeler")
def upload():
    files = [(f.filename or "upload.bpmn", f.read()) for f in request.files.getlist("files") if f.filename]
    if not files:
        flash("Choose one or more .bpmn files first.", "error")
        return redirect(url_for("pages.processes"))
    try:
        force = bool(request.form.get("force_executable"))
        deployed = uploads.deploy(maestro(), files, force_executable=force, by=access.person())
    except DeployError as error:
        return processes(problems=[problem.as_dict() for problem in error.problems], status=422)
    for item in deployed:
        what = f"version {item['version']}" if item["new"] else f"version {item['version']} (unchanged)"
        if "form" in item:
            flash(f"Deployed the form {item['form']} {what}.", "success")
            continue
        if item["untimed_timers"]:
            what += f"; its timers without a time never fire ({', '.join(item['untimed_timers'])})"
        flash(f"Deployed {item['key']} {what}.", "success")
    return redirect(url_for("pages.processes"))


@blueprint.get("/processes/<key>")
def process(key, form_error=None, status=200, migration=None, field_errors=None):
    versions = maestro().definition_versions(key)
    version = request.args.get("version", type=int) or versions[-1]["version"]
    return render_template(
        "process.html", key=key, versions=versions, version=version, latest=versions[-1],
        start_form=maestro().start_form(key), form_error=form_error, submitted=request.form,
        field_errors=field_errors, counts=maestro().instance_counts().get(key, {}), statuses=STATUSES,
        migration=migration), status


@blueprint.post("/processes/<key>/start")
@needs("worker")
def start(key):
    try:
        data = values_from(maestro().start_form(key), request.form)
        business_key = request_input.business_key(request.form.get("business_key", "").strip())
        started = maestro().start(key, data, business_key, check_form=True, by=access.person())
    except (FormError, request_input.BadRequest) as error:
        return process(key, form_error=str(error), status=400)
    except InvalidForm as error:
        return process(key, form_error="Some fields need attention.", status=400, field_errors=fields_of(error))
    flash("Instance started.", "success")
    return redirect(url_for("pages.instance", instance_id=started["id"]))


# -- the editor (webapp/frontend/, built into static/dist/) -------------------------

EDITOR_BUNDLE = Path(__file__).resolve().parent / "static" / "dist" / "editor.js"


@blueprint.get("/processes/new")
@needs("modeler")
def new_process():
    """The editor on a template; the page saves and deploys through the JSON API."""
    name = request.args.get("template") or "blank"
    xml = editor_templates.xml_of(name)
    if xml is None:
        choices = ", ".join(template.name for template in editor_templates.available())
        return error_page(404, "No such template", f"there is no template {name[:40]!r}: choose one of {choices}")
    return _editor_page(key=None, version=None, version_asked=False, template_xml=xml)


@blueprint.get("/processes/<key>/edit")
@needs("modeler")
def edit_process(key):
    """The editor on the process's draft when it has one, else on a version (the newest unless ?version=N)."""
    try:
        versions = [item["version"] for item in maestro().definition_versions(key)]
    except NotFound:
        versions = []  # a new process saved as a draft but never deployed
    if not versions and not any(draft["key"] == key for draft in maestro().drafts()):
        return error_page(404, "Not found", f"no process {key!r} is deployed or drafted")
    asked = request_input.whole_number("version", request.args.get("version"))
    if asked is not None and asked not in versions:
        return error_page(404, "Not found", f"process {key!r} has no version {asked}")
    return _editor_page(key=key, version=asked or (versions[-1] if versions else None),
                        version_asked=asked is not None, template_xml=None)


def _editor_page(key, version, version_asked, template_xml):
    if not EDITOR_BUNDLE.is_file():
        return _unbuilt("The editor", "editor.js")
    return render_template("editor.html", key=key, version=version, version_asked=version_asked,
                           template_xml=template_xml)


# -- comparing versions (webapp/frontend/compare/, built into static/dist/) ----------

COMPARE_BUNDLE = Path(__file__).resolve().parent / "static" / "dist" / "compare.js"


@blueprint.get("/processes/<key>/compare")
def compare_versions(key):
    """Two versions side by side, their differences marked and listed: ?to=M (the newest by default)
    against ?from=N (by default the version before M). The page's script reads both through the API."""
    versions = maestro().definition_versions(key)
    numbers = [item["version"] for item in versions]
    newer = request_input.whole_number("to", request.args.get("to"))
    older = request_input.whole_number("from", request.args.get("from"))
    for asked in (newer, older):
        if asked is not None and asked not in numbers:
            return error_page(404, "Not found", f"process {key!r} has no version {asked}")
    newer = newer or numbers[-1]
    if older is None:
        older = max((number for number in numbers if number < newer), default=newer)
    if not COMPARE_BUNDLE.is_file():
        return _unbuilt("The compare page", "compare.js")
    return render_template("compare.html", key=key, versions=versions, older=older, newer=newer,
                           name=versions[-1]["name"] or key)


def _unbuilt(what, bundle_name):
    return error_page(503, f"{what} is not built",
                      f"webapp/static/dist/{bundle_name} is missing: run `npm ci && npm run build` in Maestro's "
                      "folder (start.sh and test.sh do)")


# -- instances -------------------------------------------------------------------

@blueprint.get("/instances")
def instances():
    filters = {name: request.args.get(name) or None for name in ("key", "status", "business_key", "outcome")}
    try:
        filters.update(repair_input.list_filters(request.args))
        asked = _status_filter(filters)
        page = maestro().instance_page(**asked, limit=PAGE_SIZE, after=request.args.get("after"))
    except (InstanceError, request_input.BadRequest) as error:
        return error_page(400, "Bad page", str(error))
    # Filtered, the list offers to retry or cancel what matches (repair_pages.py): it says how many.
    matching = maestro().count_instances(**asked) if any(v is not None for v in asked.values()) else None
    definitions = maestro().definitions()
    return render_template("instances.html", page=page, filters=filters, statuses=[*STATUSES, ROLLED_BACK],
                           keys=[d["key"] for d in definitions],
                           names={d["key"]: d["name"] or d["key"] for d in definitions}, matching=matching,
                           query=repair_input.as_query(filters))


# The status filter's extra choice: the completed instances whose undo tasks ran (their outcome).
ROLLED_BACK = "rolled_back"


def _status_filter(filters):
    """The page's filters as instance_page takes them: status "rolled_back" is completed with that outcome;
    an outcome that is none of OUTCOMES filters nothing (a hand-edited address)."""
    asked = dict(filters)
    if asked["status"] == ROLLED_BACK:
        asked.update(status="completed", outcome=ROLLED_BACK)
    if asked["outcome"] not in OUTCOMES:
        asked["outcome"] = None
    return asked


@blueprint.get("/instances/<instance_id>")
def instance(instance_id, task_error=None, status=200, repair=None):
    shown = maestro().show(instance_id)
    return render_template(
        "instance.html", instance=shown, elements=progress.element_states(shown),
        process_name=_process_name(shown["key"], shown["version"]),
        messages=maestro().instance_messages(instance_id),
        timeline=timeline(shown["history"]), task_error=task_error, repair=repair,
        workable=task_rules.workable(maestro(), shown),
        moves=maestro().move_choices(instance_id) if shown["status"] not in ("completed", "cancelled") else None,
        variables=json.dumps(shown["data"], indent=2, default=str, sort_keys=True)), status


def _process_name(key, version):
    """The name the diagram gives the instance's version (its key when it gives none)."""
    named = [item["name"] for item in maestro().definition_versions(key) if item["version"] == version]
    return (named[0] if named else None) or key


@blueprint.post("/instances/<instance_id>/retry")
@needs("operator")
def retry(instance_id):
    return _act(instance_id, lambda: maestro().retry(instance_id, by=access.person()), "Retry scheduled.")


@blueprint.post("/instances/<instance_id>/cancel")
@needs("operator")
def cancel(instance_id):
    return _act(instance_id, lambda: maestro().cancel(instance_id, by=access.person()), "Instance cancelled.")


@blueprint.post("/instances/<instance_id>/tasks/<task_id>/complete")
@needs("worker")
def complete(instance_id, task_id):
    waiting = {task["id"]: task for task in maestro().show(instance_id)["waiting"]}
    if task_id not in waiting:
        flash("That task is not waiting any more.", "error")
        return redirect(url_for("pages.instance", instance_id=instance_id))
    try:
        task_rules.check_completion_by_reference(maestro(), instance_id, task_id)
    except (NotYours, TaskTaken) as refusal:
        flash(str(refusal), "error")
        return redirect(url_for("pages.instance", instance_id=instance_id))
    try:
        data = values_from(waiting[task_id]["form"], request.form)
        maestro().complete_task(instance_id, task_id, data, by=access.person(), check_form=True,
        as_operator=task_rules.is_operator())
    except FormError as error:
        return instance(instance_id, task_error={"task": task_id, "message": str(error)}, status=400)
    except InvalidForm as error:
        return instance(instance_id, task_error={"task": task_id, "message": "Some fields need attention.",
                                                 "fields": fields_of(error)}, status=400)
    except (InstanceError, Busy, TaskTaken) as error:
        flash(str(error), "error")
        return redirect(url_for("pages.instance", instance_id=instance_id))
    flash(f"{waiting[task_id]['name']} completed.", "success")
    return redirect(url_for("pages.instance", instance_id=instance_id))


def fields_of(error):
    """{field: its messages} of a form's refusal, for the template to show next to each field."""
    fields = {}
    for item in error.errors:
        fields[item["field"]] = "; ".join(filter(None, [fields.get(item["field"]), item["message"]]))
    return fields


def _act(instance_id, action, done):
    try:
        action()
        flash(done, "success")
    except (InstanceError, Busy) as error:
        flash(str(error), "error")
    return redirect(url_for("pages.instance", instance_id=instance_id))


def timeline(history):
    """The history, each entry with how long after the instance's first entry it came and, for a
    task that finished, how long it took since it became ready; an undo's entries also with its
    number among the undos (progress.undo_numbers) and the name of what it undoes."""
    if not history:
        return []
    numbers = progress.undo_numbers(history)
    names = {entry["task_id"]: entry["name"] for entry in history}
    began, started, rows = _moment(history[0]["at"]), {}, []
    for entry in history:
        moment = _moment(entry["at"])
        took = None
        if entry["state"] in ("READY", "WAITING", "STARTED"):
            started.setdefault(entry["task_id"], moment)
        elif entry["task_id"] in started and not is_person_action(entry):  # a claim or retry ends no task
            took = (moment - started.pop(entry["task_id"])).total_seconds()
        rows.append({**entry, "offset": duration((moment - began).total_seconds()),
                     "took": duration(took) if took is not None else "",
                     "undo_number": numbers.get(entry["task_id"]),
                     "undo_of_name": names.get(entry["undo_of"]) if entry["undo_of"] else None})
    return rows


def _moment(text):
    return datetime.fromisoformat(text)


@blueprint.app_template_filter("duration")
def duration_text(seconds):
    """`{{ seconds|duration }}` in a template: "" for None."""
    return "" if seconds is None else duration(seconds)


def duration(seconds):
    """Seconds as a person reads them: "76 ms", "4.2 s", "3.5 min"..."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"
