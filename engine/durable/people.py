"""The people job: accounts of the web app and API, their passwords, roles, groups and API tokens.

Passwords are hashed with werkzeug.security's scrypt (werkzeug comes with Flask): a salted, memory-hard
hash whose parameters are kept in the hash text, so a later default still checks an old hash.
An API token is a long random secret shown once: only its SHA-256 is stored (a token is random, not
a password a person chose: a fast hash is enough), with a short prefix to recognise it by in lists.
An account is "local" (a password, `maestro user add`) or "oidc" (signed in by an identity provider,
its roles and groups given by it at every sign-in; see sign_in_external).
"""
import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from .errors import NotFound
from .store import people as stored
from .store.jobs import _aware
from .store.models import ApiToken, Person, utcnow
from .summaries import iso

ROLES = ("viewer", "worker", "operator", "modeler", "admin")
SOURCES = ("local", "oidc")
FIRST_ADMIN = "admin"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]*")
NAME_LENGTH = Person.__table__.c.name.type.length
TEXT_LENGTH = 255
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # scrypt reads all of it: a megabyte "password" is work nobody needs
TOKEN_PREFIX = "mae_"
PREFIX_LENGTH = len(TOKEN_PREFIX) + 8
# A token's last use is written at most this often: a script calling the API in a loop must not
# make every request a write.
LAST_USED_EVERY = timedelta(minutes=1)
# Checked when no account matches, so that a wrong name takes as long as a wrong password.
_NOBODY = generate_password_hash(secrets.token_urlsafe(16))


class AccountRefused(Exception):
    """A change to an account the engine will not make: a bad name, role, password, or a name taken."""


class AccountExists(AccountRefused):
    """An account of that name exists already."""


class People:
    """Maestro's account and token methods, over its Context."""

    def __init__(self, context):
        self.context = context

    # -- accounts ------------------------------------------------------------------

    def count(self) -> int:
        with self.context.Session() as session:
            return stored.count(session)

    def every(self) -> list[dict]:
        with self.context.Session() as session:
            return [person_summary(row) for row in stored.every(session)]

    def get(self, name: str) -> dict:
        with self.context.Session() as session:
            return person_summary(_existing(session, name))

    def add(self, name: str, roles: list[str], groups: list[str] | None = None, password: str | None = None,
            display_name: str | None = None) -> tuple[dict, str]:
        """A local account; (its summary, its password): `password`, or a generated one when None."""
        _check_name(name)
        roles, groups = _roles(roles), _groups([] if groups is None else groups)
        password = _password(password) if password is not None else generated_password()
        with self.context.Session() as session:
            if stored.by_name(session, name) is not None:
                raise AccountExists(f"there is already an account named {name!r}")
            row = Person(name=name, display_name=_display_name(display_name), roles=roles, groups=groups,
                         source="local", password_hash=generate_password_hash(password), created_at=utcnow())
            session.add(row)
            try:
                session.commit()
            except IntegrityError as error:  # added meanwhile by another process
                raise AccountExists(f"there is already an account named {name!r}") from error
            return person_summary(row), password

    def first_admin(self, password: str | None = None) -> str | None:
        """On a database without accounts, adds "admin" (role admin) with `password` (generated when None)
        and returns its password; None when there are accounts already (nothing is changed)."""
        if self.count():
            return None
        try:
            return self.add(FIRST_ADMIN, ["admin"], password=password, display_name="Administrator")[1]
        except AccountRefused:
            if self.count():  # another server started on this database at the same moment made it
                return None
            raise

    def update(self, name: str, roles: list[str] | None = None, groups: list[str] | None = None,
               display_name: str | None = None, disabled: bool | None = None) -> dict:
        """Changes what is given (None: unchanged). Disabling an account revokes its sessions' use
        (each request looks the person up) and its tokens."""
        roles = _roles(roles) if roles is not None else None
        groups = _groups(groups) if groups is not None else None
        with self.context.Session() as session:
            row = _existing(session, name)
            if roles is not None:
                row.roles = roles
            if groups is not None:
                row.groups = groups
            if display_name is not None:
                row.display_name = _display_name(display_name)
            if disabled is not None:
                row.disabled = bool(disabled)
                if disabled:
                    stored.revoke_all(session, name, utcnow())
            session.commit()
            return person_summary(row)

    def set_password(self, name: str, password: str | None = None) -> str:
        """Sets a local account's password (a generated one when None); returns it."""
        password = _password(password) if password is not None else generated_password()
        with self.context.Session() as session:
            row = _existing(session, name)
            if row.source != "local":
                raise AccountRefused(f"{name!r} signs in through {row.source}: it has no password here")
            row.password_hash = generate_password_hash(password)
            session.commit()
        return password

    def remove(self, name: str) -> None:
        """Deletes the account and its tokens (what it did stays in the history, by name)."""
        with self.context.Session() as session:
            row = _existing(session, name)
            for token_row in stored.tokens_of(session, name):
                session.delete(token_row)
            session.delete(row)
            session.commit()

    def authenticate(self, name: str, password: str) -> dict | None:
        """The account whose name and password these are, if it may sign in (not disabled); else None."""
        if not isinstance(name, str) or not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
            return None
        with self.context.Session() as session:
            row = stored.by_name(session, name) if len(name) <= NAME_LENGTH else None
            hashed = row.password_hash if row is not None and row.password_hash else _NOBODY
            matches = check_password_hash(hashed, password)
            if row is None or not row.password_hash or not matches or row.disabled:
                return None
            return person_summary(row)

    def sign_in_external(self, name: str, display_name: str | None, roles: list[str], groups: list[str],
                         source: str = "oidc") -> dict:
        """Creates or updates the account an identity provider signed in: its roles and groups are the
        provider's, at every sign-in. A local account of that name is not taken over (AccountRefused),
        nor a disabled one signed in."""
        if source not in SOURCES or source == "local":
            raise AccountRefused(f"source must be one of {', '.join(s for s in SOURCES if s != 'local')}")
        _check_name(name)
        roles, groups = _roles(roles, empty_allowed=True), _groups(groups)
        with self.context.Session() as session:
            row = stored.by_name(session, name)
            if row is None:
                row = Person(name=name, source=source, created_at=utcnow(), password_hash=None)
                session.add(row)
            elif row.source != source:
                raise AccountRefused(f"{name!r} is a {row.source} account: an identity from {source} "
                                     "may not sign in as it (an administrator can rename or remove it)")
            elif row.disabled:
                raise AccountRefused(f"the account {name!r} is disabled")
            row.display_name, row.roles, row.groups = _display_name(display_name), roles, groups
            session.commit()
            return person_summary(row)

    # -- API tokens ------------------------------------------------------------------

    def new_token(self, owner: str, label: str | None = None, expires_at: datetime | None = None) -> dict:
        """A new API token of `owner`: {id, name, prefix, ..., "token": the secret}, the one time it is shown."""
        if label is not None and len(label) > TEXT_LENGTH:  # as given: what the API document limits
            raise AccountRefused(f"a token's name is at most {TEXT_LENGTH} characters")
        label = (label or "token").strip() or "token"
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.context.Session() as session:
            person = _existing(session, owner)
            if person.disabled:
                raise AccountRefused(f"the account {owner!r} is disabled")
            row = ApiToken(owner=owner, name=label, secret_hash=_hash(secret), prefix=secret[:PREFIX_LENGTH],
                           created_at=utcnow(), expires_at=expires_at)
            session.add(row)
            session.commit()
            return {**token_summary(row), "token": secret}

    def tokens(self, owner: str) -> list[dict]:
        with self.context.Session() as session:
            return [token_summary(row) for row in stored.tokens_of(session, owner)]

    def revoke_token(self, owner: str, token_id: int) -> dict:
        """Revokes one of `owner`'s tokens (NotFound when `owner` has no such token)."""
        with self.context.Session() as session:
            row = stored.token(session, owner, token_id)
            if row is None:
                raise NotFound(f"{owner} has no token {token_id}")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
                session.commit()
            return token_summary(row)

    def person_for_token(self, secret: str) -> dict | None:
        """The account a token belongs to, when the token is live (not revoked, not expired) and the
        account not disabled; else None."""
        if not isinstance(secret, str) or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            return None
        with self.context.Session() as session:
            row = stored.token_by_hash(session, _hash(secret))
            now = utcnow()
            if row is None or row.revoked_at is not None or (row.expires_at and _aware(row.expires_at) <= now):
                return None
            person = stored.by_name(session, row.owner)
            if person is None or person.disabled:
                return None
            if row.last_used_at is None or now - _aware(row.last_used_at) > LAST_USED_EVERY:
                row.last_used_at = now
                session.commit()
            return person_summary(person)


def person_summary(row: Person) -> dict:
    return {"name": row.name, "display_name": row.display_name, "roles": list(row.roles or []),
            "groups": list(row.groups or []), "source": row.source, "created_at": iso(row.created_at),
            "disabled": bool(row.disabled)}


def token_summary(row: ApiToken) -> dict:
    return {"id": row.id, "owner": row.owner, "name": row.name, "prefix": row.prefix,
            "created_at": iso(row.created_at), "last_used_at": iso(row.last_used_at),
            "expires_at": iso(row.expires_at), "revoked": row.revoked_at is not None}


def generated_password() -> str:
    return secrets.token_urlsafe(15)  # 20 characters, 120 bits


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _existing(session, name: str) -> Person:
    row = stored.by_name(session, name) if isinstance(name, str) else None
    if row is None:
        raise NotFound(f"no account named {name!r}")
    return row


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not NAME.fullmatch(name) or len(name) > NAME_LENGTH:
        raise AccountRefused(f"an account's name is 1 to {NAME_LENGTH} letters, digits and . _ @ + - "
                             f"(starting with a letter or digit), not {str(name)[:60]!r}")


def _roles(roles, empty_allowed: bool = False) -> list[str]:
    if not isinstance(roles, (list, tuple)) or not all(isinstance(role, str) for role in roles):
        raise AccountRefused("roles must be a list of role names")
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise AccountRefused(f"no role {unknown[0][:40]!r}: roles are {', '.join(ROLES)}")
    if not roles and not empty_allowed:
        raise AccountRefused(f"give an account at least one role ({', '.join(ROLES)})")
    return [role for role in ROLES if role in roles]


def _groups(groups) -> list[str]:
    if not isinstance(groups, (list, tuple)) or not all(isinstance(group, str) for group in groups):
        raise AccountRefused("groups must be a list of group names")
    if any(len(group) > TEXT_LENGTH for group in groups):  # as given: what the API document limits
        raise AccountRefused(f"a group's name is at most {TEXT_LENGTH} characters")
    cleaned = [group.strip() for group in groups if group.strip()]
    return list(dict.fromkeys(cleaned))


def _display_name(display_name: str | None) -> str | None:
    if display_name is None:
        return None
    if not isinstance(display_name, str) or len(display_name) > TEXT_LENGTH:
        raise AccountRefused(f"a display name is text of at most {TEXT_LENGTH} characters")
    return display_name.strip() or None


def _password(password: str) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise AccountRefused(f"a password is {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long")
    return password
