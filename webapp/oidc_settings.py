"""OpenID Connect sign-in's configuration: read from the environment in this one place, checked at start.

Sign-in with a provider is on when MAESTRO_OIDC_ISSUER is set; it then needs the client's id and
secret too. A partial configuration stops `maestro serve` with the name of what is missing, rather
than a sign-in button that fails for every person later.
"""
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from engine.durable.startup import UserError

from .access import ROLES

REQUIRED = ("MAESTRO_OIDC_ISSUER", "MAESTRO_OIDC_CLIENT_ID", "MAESTRO_OIDC_CLIENT_SECRET")


@dataclass(frozen=True)
class OidcSettings:
    issuer: str                 # the provider's issuer URL; its discovery document is under it
    client_id: str
    client_secret: str
    name: str = "single sign-on"                 # the provider's name on the sign-in button
    scopes: str = "openid profile email"
    username_claim: str = "preferred_username"   # then "email", then "sub"
    roles_claim: str = "roles"
    groups_claim: str = "groups"
    default_role: str = "viewer"                 # for a person the provider gives no Maestro role

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


def from_environment(environ: Mapping[str, str] = os.environ) -> OidcSettings | None:
    """The settings, None when sign-in with a provider is not configured; UserError when half of it is."""
    def value(name: str) -> str:
        return (environ.get(name) or "").strip()

    given = [name for name in REQUIRED if value(name)]
    if not given:
        return None
    missing = [name for name in REQUIRED if not value(name)]
    if missing:
        raise UserError(f"OpenID Connect sign-in needs {', '.join(missing)} as well as {', '.join(given)}")
    issuer = value("MAESTRO_OIDC_ISSUER")
    parts = urlsplit(issuer)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UserError(f"MAESTRO_OIDC_ISSUER must be the provider's http(s) URL, not {issuer!r}")
    scopes = value("MAESTRO_OIDC_SCOPES") or OidcSettings.scopes
    if "openid" not in scopes.split():
        raise UserError(f"MAESTRO_OIDC_SCOPES must include openid (OpenID Connect sign-in), not {scopes!r}")
    default_role = value("MAESTRO_OIDC_DEFAULT_ROLE") or OidcSettings.default_role
    if default_role not in ROLES:
        raise UserError(f"MAESTRO_OIDC_DEFAULT_ROLE must be one of {', '.join(ROLES)}, not {default_role!r}")
    return OidcSettings(
        issuer=issuer,
        client_id=value("MAESTRO_OIDC_CLIENT_ID"),
        client_secret=value("MAESTRO_OIDC_CLIENT_SECRET"),
        name=value("MAESTRO_OIDC_NAME") or OidcSettings.name,
        scopes=scopes,
        username_claim=value("MAESTRO_OIDC_USERNAME_CLAIM") or OidcSettings.username_claim,
        roles_claim=value("MAESTRO_OIDC_ROLES_CLAIM") or OidcSettings.roles_claim,
        groups_claim=value("MAESTRO_OIDC_GROUPS_CLAIM") or OidcSettings.groups_claim,
        default_role=default_role,
    )
