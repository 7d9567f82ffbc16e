"""Deployed process definitions: versions, pinning, and parsed specs cached per version."""
import hashlib
from collections import OrderedDict

from sqlalchemy import bindparam, func, select

from engine.namespaces import NSMAP
from engine.problems import DeployError

from . import locks
from .models import Definition

# The reading wing (lxml, SpiffWorkflow's parser) is imported by the functions that read XML: finding
# and listing definitions, and a start whose specs are known to build, read none.

SPEC_CACHE_SIZE = 256


_LATEST = select(Definition).where(Definition.key == bindparam("key")).order_by(Definition.version.desc()).limit(1)


_HEAD = select(Definition.id, Definition.key, Definition.version, Definition.content_hash) \
    .where(Definition.key == bindparam("key")).order_by(Definition.version.desc()).limit(1)


def latest(session, key):
    return session.scalars(_LATEST, {"key": key}).first()


def latest_head(connection, key):
    """The newest version's id, key, version and content hash, without its XML: what a start needs."""
    return connection.execute(_HEAD, {"key": key}).first()


def latest_heads(connection):
    """(id, key, version, content_hash) of the newest version of each process, without XML."""
    newest = select(Definition.key, func.max(Definition.version).label("version")).group_by(Definition.key).subquery()
    return connection.execute(
        select(Definition.id, Definition.key, Definition.version, Definition.content_hash)
        .join(newest, (Definition.key == newest.c.key) & (Definition.version == newest.c.version))
        .order_by(Definition.key)).all()


def latest_of_each(session):
    newest = select(Definition.key, func.max(Definition.version).label("version")).group_by(Definition.key).subquery()
    return session.scalars(
        select(Definition).join(newest, (Definition.key == newest.c.key) & (Definition.version == newest.c.version))
        .order_by(Definition.key)
    ).all()


def version(session, key, number):
    return session.scalars(select(Definition).where(Definition.key == key, Definition.version == number)).first()


def versions(session, key):
    return session.scalars(select(Definition).where(Definition.key == key).order_by(Definition.version)).all()


def read_to_deploy(session, files, force_executable=False, handlers=None):
    """(library, problems) of (name, bytes) files as deploy reads them: with the files deployed earlier
    that hold processes they call (checked against their newest version), and, given `handlers` (those
    of the server that will run them), every service task of the files must be bound by one."""
    from engine.read.checks import unbound_service_tasks
    from engine.read.pipeline import read_bpmn
    library, problems = read_bpmn(files + _called_elsewhere(session, files), force_executable)
    if handlers is not None:
        problems += unbound_service_tasks({name: library.roots[name] for name, _ in files if name in library.roots},
                                          handlers)
    return library, problems


def deploy(session, files, force_executable=False, handlers=None):
    """Deploys (name, bytes) files together: a new version for each process whose file changed.

    Nothing is deployed unless every file is valid (see read_to_deploy).
    Returns [{key, version, name, new}] for every executable process in the files.
    """
    from engine.read.untrusted_xml import as_utf8
    library, problems = read_to_deploy(session, files, force_executable, handlers)
    if problems:
        raise DeployError(problems)
    deployed, numbering = [], False
    for name, data in files:
        content_hash = hashlib.sha256(data).hexdigest()
        root = library.roots[name]
        untimed = library.parser.untimed_timers(name)
        for process in root.iter(f"{{{NSMAP['bpmn']}}}process"):
            key = process.get("id")
            if key not in library.executable_process_ids():
                continue
            current = latest(session, key)
            forced = library.parser.process_parsers[key].forced_executable
            if not numbering and (current is None or current.content_hash != content_hash):
                # A new version: from here to the caller's commit no other deploy reads or numbers
                # versions, so deploys at once of one new file make one version, of two contents
                # two consecutive ones, never a duplicate. (An unchanged file takes no lock: a worker
                # deploying its folder at start does not wait for the database's writers.)
                locks.hold_until_commit(session.connection(), locks.VERSIONS)
                numbering, current = True, latest(session, key)  # read again, under the lock
            if current is not None and current.content_hash == content_hash:
                deployed.append(_summary(current, False, forced, untimed))
                continue
            definition = Definition(
                key=key, version=(current.version + 1) if current else 1, name=process.get("name"),
                file_name=name, xml=as_utf8(data).decode("utf-8"), content_hash=content_hash,
            )
            session.add(definition)
            session.flush()
            deployed.append(_summary(definition, True, forced, untimed))
    return deployed


def _summary(definition, new, forced, untimed_timers):
    return {"key": definition.key, "version": definition.version, "name": definition.name,
            "id": definition.id, "new": new, "forced_executable": forced, "untimed_timers": untimed_timers}


def has_timer_start(definition):
    """Whether the process starts with a timer start event (so that deploying it starts it)."""
    from engine.read.untrusted_xml import parse_untrusted
    root = parse_untrusted(definition.xml.encode("utf-8"))
    return bool(root.xpath("//bpmn:process[@id=$key]/bpmn:startEvent/bpmn:timerEventDefinition",
                           namespaces=NSMAP, key=definition.key))


def _called_elsewhere(session, files):
    """Deployed files holding processes that the new files call but do not define."""
    called, defined = set(), set()
    for _, data in files:
        file_called, file_defined = calls_and_processes(data)
        called |= file_called
        defined |= file_defined
    missing = called - defined
    extra, seen = [], set()
    for key in sorted(missing):
        definition = latest(session, key)
        if definition is not None and definition.file_name not in seen:
            seen.add(definition.file_name)
            extra.append((definition.file_name, definition.xml.encode("utf-8")))
    return extra


def pinned_calls(connection, definition):
    """{key: definition id} of the processes in other files that `definition` calls (newest now).

    `definition` is a Definition or a `latest_head` row.
    """
    pinned, todo = {}, set(_calls_elsewhere(connection, definition))
    while todo:
        key = todo.pop()
        called = latest_head(connection, key)
        if called is None or key in pinned:
            continue
        pinned[key] = called.id
        todo |= _calls_elsewhere(connection, called) - set(pinned)
    return pinned


_CALLS_ELSEWHERE = {}


def _calls_elsewhere(connection, definition):
    """Keys called by a definition's file but defined in none of its processes (by content: it never changes)."""
    if definition.content_hash not in _CALLS_ELSEWHERE:
        xml = connection.scalar(select(Definition.xml).where(Definition.id == definition.id))
        called, defined = calls_and_processes(xml.encode("utf-8"))
        _CALLS_ELSEWHERE[definition.content_hash] = called - defined
    return set(_CALLS_ELSEWHERE[definition.content_hash])


def calls_and_processes(data):
    """(processes the file's call activities call, processes it defines), from the XML alone.

    A file that does not parse has neither; deploying it reports why.
    """
    from lxml import etree

    from engine.read.untrusted_xml import UnsafeXml, parse_untrusted
    try:
        root = parse_untrusted(data)
    except (UnsafeXml, etree.XMLSyntaxError):
        return set(), set()
    called = {node.get("calledElement") for node in root.iter(f"{{{NSMAP['bpmn']}}}callActivity")}
    defined = {node.get("id") for node in root.iter(f"{{{NSMAP['bpmn']}}}process")}
    return called - {None}, defined


class SpecCache:
    """Parsed specs per (definition, pinned called definitions): parsing is done once per version."""

    def __init__(self, size=SPEC_CACHE_SIZE):
        self.size = size
        self.entries = OrderedDict()

    def cached(self, definition_id, called):
        return (definition_id, tuple(sorted(called.items()))) in self.entries

    def specs(self, session, definition_id, called):
        cache_key = (definition_id, tuple(sorted(called.items())))
        if cache_key in self.entries:
            self.entries.move_to_end(cache_key)
            return self.entries[cache_key]
        from engine.read.pipeline import read_bpmn
        ids = [definition_id, *called.values()]
        rows = {row.id: row for row in session.scalars(select(Definition).where(Definition.id.in_(ids)))}
        files, seen = [], set()
        for row_id in ids:
            row = rows[row_id]
            if row.content_hash not in seen:  # several processes of one file share it
                seen.add(row.content_hash)
                files.append((row.file_name, row.xml.encode("utf-8")))
        # Deployed once (maybe with --force-executable): build it as it was accepted, without the
        # document checks, which a newer Maestro may have made stricter since.
        library, problems = read_bpmn(files, force_executable=True, check=False)
        if problems:
            raise DeployError(problems)
        specs = library.build(rows[definition_id].key)
        self.entries[cache_key] = specs
        if len(self.entries) > self.size:
            self.entries.popitem(last=False)
        return specs
