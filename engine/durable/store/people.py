"""Accounts and their API tokens: the rows of people and api_tokens (engine/durable/people.py decides)."""
from datetime import datetime

from sqlalchemy import func, select

from .models import ApiToken, Person


def count(session) -> int:
    return session.scalar(select(func.count()).select_from(Person)) or 0


def by_name(session, name: str) -> Person | None:
    return session.scalars(select(Person).where(Person.name == name)).first()


def every(session) -> list[Person]:
    return list(session.scalars(select(Person).order_by(Person.name)))


def token_by_hash(session, secret_hash: str) -> ApiToken | None:
    return session.scalars(select(ApiToken).where(ApiToken.secret_hash == secret_hash)).first()


def tokens_of(session, owner: str) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.owner == owner).order_by(ApiToken.id)))


def token(session, owner: str, token_id: int) -> ApiToken | None:
    return session.scalars(select(ApiToken).where(ApiToken.owner == owner, ApiToken.id == token_id)).first()


def revoke_all(session, owner: str, moment: datetime) -> None:
    for row in tokens_of(session, owner):
        if row.revoked_at is None:
            row.revoked_at = moment
