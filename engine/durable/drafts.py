"""The drafts job: diagrams saved without deploying them, one per process, with who saved them and when.

A draft must be a document Maestro would parse (well-formed, no entities,
within the size limit) and say which process it is (its key is the id of its
executable process), but it may have every other problem: it is work in
progress. Deploying one is deploying its XML like any upload (the web app
does that, then deletes the draft).
"""
from lxml import etree
from sqlalchemy.exc import IntegrityError

from engine.namespaces import NSMAP
from engine.read.untrusted_xml import UnsafeXml, parse_untrusted, utf8_document

from .errors import InvalidDraft, NotFound
from .store import definitions
from .store import drafts as stored
from .store.models import Draft
from .summaries import iso

KEY_LENGTH = Draft.__table__.c.key.type.length
SAVED_BY_LENGTH = Draft.__table__.c.saved_by.type.length
PROCESS = f"{{{NSMAP['bpmn']}}}process"


class Drafts:
    """Maestro's draft methods, over its Context."""

    def __init__(self, context):
        self.context = context

    def list(self):
        """Every draft without its XML, by key."""
        with self.context.Session() as session:
            return [_summary(row) for row in stored.heads(session)]

    def get(self, key):
        with self.context.Session() as session:
            draft = stored.get(session, key)
            if draft is None:
                raise NotFound(f"no draft of '{key}'")
            return {**_summary(draft), "xml": draft.xml}

    def save(self, key, xml, saved_by, based_on_version=None):
        """Saves the draft of `key`, replacing the one there was; InvalidDraft says what is wrong."""
        text = _checked_xml(key, xml)
        try:
            return self._save(key, text, saved_by[:SAVED_BY_LENGTH], based_on_version)
        except IntegrityError:  # two first saves of one key at once: this one finds the other's row now
            return self._save(key, text, saved_by[:SAVED_BY_LENGTH], based_on_version)

    def _save(self, key, text, saved_by, based_on_version):
        with self.context.Session() as session:
            if based_on_version is not None and definitions.version(session, key, based_on_version) is None:
                raise InvalidDraft(f"the draft says it is based on version {based_on_version} of '{key}', "
                                   "which is not deployed")
            draft = stored.save(session, key, text, saved_by, based_on_version)
            session.commit()
            return {**_summary(draft), "xml": draft.xml}

    def delete(self, key, if_xml=None):
        """Deletes the draft of `key`; with `if_xml`, only while it still holds that XML (a draft saved
        again while its previous XML was being deployed is kept). NotFound when there is none."""
        with self.context.Session() as session:
            if stored.get(session, key) is None:
                raise NotFound(f"no draft of '{key}'")
            deleted = stored.remove(session, key, if_xml)
            session.commit()
            return deleted


def _summary(draft):
    return {"key": draft.key, "saved_by": draft.saved_by, "saved_at": iso(draft.saved_at),
            "based_on_version": draft.based_on_version}


def _checked_xml(key, xml):
    """The draft's XML as it is stored (its declaration saying UTF-8), or InvalidDraft naming the problem."""
    if not key or len(key) > KEY_LENGTH:
        raise InvalidDraft(f"a draft's key is its process's id, 1 to {KEY_LENGTH} characters, not {len(key)}")
    data = utf8_document(xml)
    try:
        root = parse_untrusted(data)
    except UnsafeXml as error:
        raise InvalidDraft(f"the draft of '{key}', line {error.line}: {error}") from None
    except etree.XMLSyntaxError as error:
        raise InvalidDraft(f"the draft of '{key}', line {error.lineno}: not well-formed XML: {error.msg}") from None
    processes = [node for node in root.iter(PROCESS) if node.get("id")]
    executable = [node.get("id") for node in processes if node.get("isExecutable", "true") == "true"]
    # A process not marked executable yet is a lint problem like any other: a draft may still have it.
    ids = executable or [node.get("id") for node in processes]
    if not ids:
        raise InvalidDraft(f"the draft of '{key}' holds no BPMN process (its root element is "
                           f"<{etree.QName(root).localname}>): a draft's key is the id of its process")
    if key not in ids:
        which = "executable process" if executable else "process"
        raise InvalidDraft(f"the draft's key '{key}' is not the id of the {which} in its XML "
                           f"({', '.join(repr(name) for name in ids)}): save it under that key, "
                           "or change the process's id")
    return data.decode("utf-8")
