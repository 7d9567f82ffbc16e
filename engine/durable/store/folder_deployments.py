"""What each processes folder last deployed of its files, and which versions a content is deployed as."""
from sqlalchemy import func, select

from .models import Definition, FolderDeployment, utcnow


def remembered(session, folder):
    """{file name: FolderDeployment} of `folder`."""
    rows = session.scalars(select(FolderDeployment).where(FolderDeployment.folder == folder))
    return {row.file_name: row for row in rows}


def remember(session, folder, file_name, content_hash, versions):
    """Records that `folder` deployed (or found deployed) `content_hash` as `versions` ({key: version})."""
    row = session.get(FolderDeployment, (folder, file_name))
    if row is None:
        row = FolderDeployment(folder=folder, file_name=file_name)
        session.add(row)
    row.content_hash, row.versions, row.deployed_at = content_hash, dict(versions), utcnow()
    session.flush()


def deployed_as(session, content_hash):
    """{key: newest version} of the processes deployed from a file with exactly this content ({} if none)."""
    rows = session.execute(select(Definition.key, func.max(Definition.version))
                           .where(Definition.content_hash == content_hash).group_by(Definition.key))
    return {key: version for key, version in rows}


def newest_versions(session, keys):
    """{key: newest version} of the given process keys that are deployed."""
    rows = session.execute(select(Definition.key, func.max(Definition.version))
                           .where(Definition.key.in_(list(keys))).group_by(Definition.key))
    return {key: version for key, version in rows}
