"""Drafts of diagrams: one per process key, replaced by each save."""
from sqlalchemy import delete, select

from .models import Draft, utcnow

# Every column but the XML: what a list of drafts shows.
_HEADS = select(Draft.key, Draft.saved_by, Draft.saved_at, Draft.based_on_version).order_by(Draft.key)


def get(session, key):
    return session.get(Draft, key)


def heads(session):
    """(key, saved_by, saved_at, based_on_version) of every draft, by key."""
    return session.execute(_HEADS).all()


def save(session, key, xml, saved_by, based_on_version):
    """The draft of `key`, written over the one there was (the caller commits)."""
    draft = session.get(Draft, key)
    if draft is None:
        draft = Draft(key=key)
        session.add(draft)
    draft.xml, draft.saved_by, draft.saved_at, draft.based_on_version = xml, saved_by, utcnow(), based_on_version
    session.flush()
    return draft


def remove(session, key, if_xml=None):
    """Deletes the draft of `key` (only while its XML is `if_xml`, when given); whether one was deleted."""
    statement = delete(Draft).where(Draft.key == key)
    if if_xml is not None:
        statement = statement.where(Draft.xml == if_xml)
    return session.execute(statement).rowcount > 0
