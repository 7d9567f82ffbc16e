"""The folder-deploy job: deploying a processes folder at start without undoing deployments made elsewhere.

`maestro serve` and `maestro worker` deploy their folder (bpmn/ by default)
every time they start. Deploying a file because it differs from the newest
version would make a new version out of an unchanged file whenever a newer
one was deployed from the editor or an upload. So a folder deploys a file
only when its content changed since that folder last deployed it. A file whose
content is deployed already is only remembered: the first time the folder sees
it, or when its changed content was deployed (by `maestro deploy`, an upload, or
this folder when remembering failed) after what the folder remembers. Content
changed back to an older version's is deployed again. `maestro deploy FILES` is
explicit and unaffected.

A folder is known by its name (`bpmn`), not its path: the same folder checked
out at another path, on another machine or in a container, is the same folder,
so workers on several machines sharing one database agree on what it deployed.
"""
import hashlib
import logging
import os
from pathlib import Path
from typing import NamedTuple

from sqlalchemy.exc import IntegrityError, OperationalError

from .store import definitions
from .store import folder_deployments as memory
from .store.models import FolderDeployment

FOLDER_LENGTH = FolderDeployment.__table__.c.folder.type.length
_log = logging.getLogger("maestro.folders")


def folder_identity(folder):
    """What a processes folder is known as in the database: its name (see the module's docstring)."""
    resolved = Path(folder).resolve()
    return (resolved.name or str(resolved))[:FOLDER_LENGTH]


class FolderDeploys:
    """Maestro's deploy_folder, over its Context and the deployments job."""

    def __init__(self, context, deployments):
        self.context = context
        self.deployments = deployments

    def deploy_folder(self, folder, paths):
        """Deploys the changed files among `paths` (files under `folder`) together.

        Returns per file {"file" (relative to the folder), "deployed" (what
        Maestro.deploy returned for its processes; [] when skipped), "skipped"
        (None, "unchanged": since this folder deployed it, or "known": its
        content is deployed already), "versions" ({key: version} the content is
        deployed as), "newest" ({key: newest version})}. DeployError when a
        changed file has problems: nothing is deployed or remembered then.
        """
        identity, files = folder_identity(folder), _read(folder, paths)
        outcomes, changed = self._skipped(identity, files)
        outcomes.update(self._deployed(changed))
        self._remember(identity, [(file.relative, file.digest, outcomes[file.relative]["versions"])
                                  for file in files if outcomes[file.relative]["skipped"] != "unchanged"])
        with self.context.Session() as session:
            newest = memory.newest_versions(session, {key for item in outcomes.values() for key in item["versions"]})
        return [{**outcomes[file.relative], "newest": {key: newest.get(key)
                                                       for key in outcomes[file.relative]["versions"]}}
                for file in files]

    def _skipped(self, identity, files):
        """({file: outcome} of the files not to deploy, [the other files])."""
        outcomes, changed = {}, []
        with self.context.Session() as session:
            last = memory.remembered(session, identity)
            for file in files:
                remembered = last.get(file.relative)
                if remembered is not None and remembered.content_hash == file.digest:
                    outcomes[file.relative] = _outcome(file.relative, "unchanged", remembered.versions)
                    continue
                known = memory.deployed_as(session, file.digest)
                if known and (remembered is None or _deployed_since(known, remembered.versions)):
                    # Deployed already, by other means (`maestro deploy`, an upload) or by this folder
                    # when remembering it failed: deploying it again would put it over newer versions.
                    outcomes[file.relative] = _outcome(file.relative, "known", known)
                    continue
                changed.append(file)
        return outcomes, changed

    def _deployed(self, changed):
        """{file: outcome} of deploying the changed files together (as they call each other's processes)."""
        deployed = self.deployments.deploy([(file.name, file.data) for file in changed]) if changed else []
        outcomes = {}
        for file in changed:
            keys = definitions.calls_and_processes(file.data)[1]
            # its processes, or the form it is (forms are remembered by content only: versions {})
            mine = [item for item in deployed if item.get("key") in keys or item.get("file") == file.name]
            outcomes[file.relative] = {**_outcome(file.relative, None,
                                                  {item["key"]: item["version"] for item in mine if "key" in item}),
                                       "deployed": mine}
        return outcomes

    def _remember(self, identity, remembered):
        try:
            try:
                self._write_memory(identity, remembered)
            except IntegrityError:  # two workers starting together: this one finds the other's rows now
                self._write_memory(identity, remembered)
        except OperationalError as error:
            # A database locked or gone for a moment must not stop a worker from starting. Nothing is
            # lost: a file not remembered now is one whose content is deployed, which the next start
            # finds ("known") and remembers then.
            _log.warning("folder %s: could not remember what it deployed (%s); the next start will",
                         identity, type(error.orig).__name__ if error.orig else error)

    def _write_memory(self, identity, remembered):
        with self.context.Session() as session:
            for relative, digest, versions in remembered:
                memory.remember(session, identity, relative, digest, versions)
            session.commit()


class FolderFile(NamedTuple):
    relative: str  # its name relative to the folder, with "/"
    name: str  # its name as given (what problems are reported under)
    data: bytes
    digest: str  # of its content, as store.definitions hashes a deployed file


def _read(folder, paths):
    root = Path(folder).absolute()
    files = []
    for path in paths:
        data = Path(path).read_bytes()
        files.append(FolderFile(Path(os.path.relpath(Path(path).absolute(), root)).as_posix(), str(path), data,
                                hashlib.sha256(data).hexdigest()))
    return files


def _deployed_since(known, remembered):
    """Whether content deployed as `known` ({key: version}) was deployed after the versions the folder
    remembers for the file: then it is newer than what the folder last deployed, not a return to older
    content (a file changed back to an earlier version's content is deployed again, as its author meant)."""
    return any(version > remembered.get(key, 0) for key, version in known.items())


def _outcome(relative, skipped, versions):
    return {"file": relative, "deployed": [], "skipped": skipped, "versions": dict(versions)}
