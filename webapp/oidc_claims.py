"""Who a provider's claims name: the person's Maestro name, display name, roles and groups."""
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .access import ROLES
from .oidc_settings import OidcSettings

# When the configured username claim is missing: an address is readable; sub is always there.
FALLBACK_USERNAME_CLAIMS = ("email", "sub")


class ClaimsError(Exception):
    """The provider's claims name nobody Maestro can sign in."""


@dataclass(frozen=True)
class SignedInPerson:
    name: str
    display_name: str | None
    roles: list[str]
    groups: list[str]


def person_from_claims(claims: Mapping[str, Any], settings: OidcSettings) -> SignedInPerson:
    name = next((value for claim in (settings.username_claim, *FALLBACK_USERNAME_CLAIMS)
                 if isinstance(value := claim_value(claims, claim), str) and value.strip()), None)
    if name is None:
        raise ClaimsError(f"the provider's answer names nobody: no {settings.username_claim}, email or sub claim")
    display_name = claims.get("name")
    named = {value.lower() for value in strings(claim_value(claims, settings.roles_claim))}
    roles = [role for role in ROLES if role in named]
    return SignedInPerson(
        name=name.strip(),
        display_name=(display_name.strip() or None) if isinstance(display_name, str) else None,
        roles=roles or [settings.default_role],
        groups=sorted(set(strings(claim_value(claims, settings.groups_claim)))),
    )


def claim_value(claims: Mapping[str, Any], claim: str) -> Any:
    """A claim by its name, or by a dotted path into nested claims (Keycloak's "realm_access.roles")."""
    if claim in claims:
        return claims[claim]
    value: Any = claims
    for part in claim.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def strings(value: Any) -> list[str]:
    """A claim's text values: a list of them, or one (providers send a single group either way)."""
    values = value if isinstance(value, list) else [value]
    return [text.strip() for text in values if isinstance(text, str) and text.strip()]
