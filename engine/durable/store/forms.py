"""Deployed form files, a version per changed content of each form id (see engine.forms.files)."""
from datetime import datetime

from sqlalchemy import select

from engine.forms.files import FormFile, base_name

from .models import Form


def newest(session, form_id: str, at: datetime | None = None) -> Form | None:
    """The newest version of a form; with `at`, the newest deployed by then (a diagram deployed at `at`
    binds to it: Camunda's "deployment" binding)."""
    query = select(Form).where(Form.form_id == form_id)
    if at is not None:
        query = query.where(Form.deployed_at <= at)
    return session.scalars(query.order_by(Form.version.desc()).limit(1)).first()


def newest_of_file(session, file_name: str, at: datetime | None = None) -> Form | None:
    """The newest version deployed from a file of that name (its folders aside), by `at` if given."""
    query = select(Form).where(Form.file_name == base_name(file_name))
    if at is not None:
        query = query.where(Form.deployed_at <= at)
    return session.scalars(query.order_by(Form.deployed_at.desc(), Form.id.desc()).limit(1)).first()


def version(session, form_id: str, number: int) -> Form | None:
    return session.scalars(select(Form).where(Form.form_id == form_id, Form.version == number)).first()


def store(session, form: FormFile) -> tuple[Form, bool]:
    """(the version holding the file's content, whether it is new): unchanged content adds no version."""
    current = newest(session, form.form_id)
    if current is not None and current.content_hash == form.digest:
        return current, False
    row = Form(form_id=form.form_id, version=(current.version + 1) if current else 1, kind=form.kind,
               schema=form.text, content_hash=form.digest, file_name=base_name(form.name))
    session.add(row)
    session.flush()
    return row, True
