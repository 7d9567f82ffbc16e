"""The folder-deploy job: deploying a processes folder at start without undoing deployments made elsewhere.

`maestro serve` and `maestro worker` deploy their folder (bpmn/ by default)
every time they start. Deploying a file because it differs from the newest
version would make a new version out of an unchanged file whenever a newer
one was deployed from the editor or an upload. So a folder deploys a file
only when its content changed since that folder last deployed it; the first
time a folder sees a file whose content is deployed already (as any version),
it only remembers it. `maestro deploy FILES` is explicit and unaffected.

A folder is known by its name (`bpmn`), not its path: the same folder checked
out at another path, on another machine or in a container, is the same folder,
so workers on several machines sharing one database agree on what it deployed.
"""
import hashlib
import os
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from .store import definitions
from .store import folder_deployments as memory
from .store.models import FolderDeployment

FOLDER_LENGTH = FolderDeployment.__table__.c.folder.type.length


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
        identity, root = folder_identity(folder), Path(folder).absolute()
        files = [(Path(os.path.relpath(Path(path).absolute(), root)).as_posix(), str(path), Path(path).read_bytes())
                 for path in paths]
        outcomes, changed = {}, []
        with self.context.Session() as session:
            last = memory.remembered(session, identity)
            for relative, name, data in files:
                digest = hashlib.sha256(data).hexdigest()
                known = {} if relative in last else memory.deployed_as(session, digest)
                if relative in last and last[relative].content_hash == digest:
                    outcomes[relative] = _outcome(relative, "unchanged", last[relative].versions)
                elif known:
                    outcomes[relative] = _outcome(relative, "known", known)
                else:
                    changed.append((relative, name, data, digest))
        deployed = self.deployments.deploy([(name, data) for _, name, data, _ in changed]) if changed else []
        for relative, _, data, _ in changed:
            keys = definitions.calls_and_processes(data)[1]
            mine = [item for item in deployed if item["key"] in keys]
            outcomes[relative] = {**_outcome(relative, None, {item["key"]: item["version"] for item in mine}),
                                  "deployed": mine}
        self._remember(identity, [(relative, hashlib.sha256(data).hexdigest(), outcomes[relative]["versions"])
                                  for relative, _, data in files if outcomes[relative]["skipped"] != "unchanged"])
        with self.context.Session() as session:
            keys = {key for outcome in outcomes.values() for key in outcome["versions"]}
            newest = memory.newest_versions(session, keys)
        return [{**outcomes[relative], "newest": {key: newest.get(key) for key in outcomes[relative]["versions"]}}
                for relative, _, _ in files]

    def _remember(self, identity, remembered):
        for attempt in (1, 2):  # two workers starting together: the second finds the rows and writes over them
            with self.context.Session() as session:
                try:
                    for relative, digest, versions in remembered:
                        memory.remember(session, identity, relative, digest, versions)
                    session.commit()
                    return
                except IntegrityError:
                    if attempt == 2:
                        raise


def _outcome(relative, skipped, versions):
    return {"file": relative, "deployed": [], "skipped": skipped, "versions": dict(versions)}
