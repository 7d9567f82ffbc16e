"""Deploying form files with the diagrams that name them: which uploaded files are forms, why one is
refused, which diagram names a form that is neither deployed nor among the files, storing them."""
from lxml import etree

from engine.forms.files import FormFile, base_name, embedded_form_problem, is_form_file, read_form_file
from engine.namespaces import NSMAP
from engine.problems import Problem
from engine.read.forms import form_of
from engine.read.untrusted_xml import UnsafeXml, parse_untrusted

from .store import forms as stored

FORM_ELEMENTS = [f"{{{NSMAP['bpmn']}}}{name}" for name in ("userTask", "startEvent", "manualTask")]


def split(files: list[tuple[str, bytes]]) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    """(the diagrams, the form files) among (name, bytes) files."""
    return ([file for file in files if not is_form_file(file[0])], [file for file in files if is_form_file(file[0])])


def read_forms(files: list[tuple[str, bytes]]) -> tuple[list[FormFile], list[Problem]]:
    forms, problems, seen = [], [], {}
    for name, data in files:
        form, refused = read_form_file(name, data)
        problems += refused
        if form is None:
            continue
        if form.form_id in seen:
            problems.append(Problem(name, 1, "", f"the form id {form.form_id!r} is also the id of "
                                                 f"{seen[form.form_id]}: deploy one of them"))
            continue
        seen[form.form_id] = name
        forms.append(form)
    return forms, problems


def missing_forms(session, diagrams: list[tuple[str, bytes]], forms: list[FormFile]) -> list[Problem]:
    """A problem per user task or start event whose form is neither among `forms` nor deployed."""
    problems = []
    for name, data in diagrams:
        try:
            root = parse_untrusted(data)
        except (etree.XMLSyntaxError, UnsafeXml):
            continue  # deploying it reports why
        for node in root.iter(*FORM_ELEMENTS):
            why = _missing(session, form_of(node) or {}, forms)
            if why:
                problems.append(Problem(name, node.sourceline or 0, node.get("id", ""), why))
    return problems


def _missing(session, form: dict, forms: list[FormFile]) -> str | None:
    if form.get("json_schema"):
        for role in ("json_schema", "ui_schema"):
            file = form.get(role)
            if file and not any(f.form_id == base_name(file) for f in forms) \
                    and stored.newest_of_file(session, file) is None:
                return (f"the form's {'JSON schema' if role == 'json_schema' else 'UI schema'} {file} is neither "
                        "deployed nor among the files: deploy it with the diagram")
        return None
    reference = form.get("camunda_form")
    if not reference:
        return None
    if "embedded" in reference:
        return embedded_form_problem(reference["embedded"])
    if reference.get("file"):
        if any(base_name(f.name) == base_name(reference["file"]) for f in forms) \
                or stored.newest_of_file(session, reference["file"]) is not None:
            return None
        return f"the Camunda Form file {reference['file']} is neither deployed nor among the files: deploy it too"
    form_id, binding = reference["form_id"], reference["binding"]
    if binding not in ("latest", "deployment", "version"):
        return f"formRefBinding {binding!r} is not one of latest, deployment, version"
    in_files = any(f.form_id == form_id and f.kind == "camunda-form" for f in forms)
    if binding == "version":
        number = reference.get("version")
        if not (number or "").isdigit():
            return f"formRefBinding version needs formRefVersion, a whole number (it is {number!r})"
        if stored.version(session, form_id, int(number)) is None and not in_files:
            return f"the Camunda Form {form_id!r} has no version {number} deployed"
        return None
    if in_files or stored.newest(session, form_id) is not None:
        return None
    return f"the Camunda Form {form_id!r} is neither deployed nor among the files (a .form file whose \"id\" is it)"


def store(session, forms: list[FormFile]) -> list[dict]:
    """Stores the forms (a new version per changed content): [{form, version, file, kind, new}]."""
    summaries = []
    for form in forms:
        row, new = stored.store(session, form)
        summaries.append({"form": row.form_id, "version": row.version, "file": form.name, "kind": row.kind,
                          "new": new})
    return summaries
