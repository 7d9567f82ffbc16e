"""Sign-in with an OpenID Connect provider (Keycloak, Entra ID, Google...): the authorization code flow.

Authlib's Flask client does the protocol: it reads the provider's discovery document, sends the
person to the provider with a state, a nonce and a PKCE challenge (S256) kept in the session, trades
the code for tokens and checks the id_token's signature against the provider's keys. Maestro adds
what Authlib leaves to the application: the discovery document must name the configured issuer, and
the id_token must be for this client (aud), from that issuer (iss), unexpired and carry the nonce.
Every way the provider can fail (unreachable, refusing, answering nonsense) ends on a page that says
so, never a 500.
"""
from typing import Any

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, current_app, redirect, render_template, request, session, url_for
from joserfc.errors import JoseError

from .access import public
from .oidc_claims import ClaimsError, person_from_claims
from .oidc_settings import OidcSettings
from .sign_in import SignInRefused, local_path, sign_in_person

blueprint = Blueprint("oidc", __name__)

CLIENT = "oidc"                 # the provider's name in Authlib's registry (its session keys start with it)
NEXT = "oidc_next"              # the session key of the page to return to after sign-in
TIMEOUT_SECONDS = 10            # a provider that does not answer must not hold a request thread for ever
# What a provider can break between discovery, the token endpoint, its keys and userinfo.
PROVIDER_FAILURES = (requests.RequestException, ValueError, TypeError, KeyError, RuntimeError)


class ProviderFailure(Exception):
    """The provider could not be used: said to the person on the failure page."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def install(app: Flask, settings: OidcSettings) -> None:
    """Adds the sign-in routes for `settings`' provider to `app` (nothing is fetched until someone signs in)."""
    oauth = OAuth(app)
    oauth.register(
        CLIENT,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        server_metadata_url=settings.discovery_url,
        client_kwargs={"scope": settings.scopes, "code_challenge_method": "S256", "default_timeout": TIMEOUT_SECONDS},
    )
    app.extensions["maestro_oidc"] = settings
    app.config["MAESTRO_OIDC"] = {"name": settings.name}
    app.register_blueprint(blueprint)


@blueprint.get("/sign-in/oidc")
@public
def begin():
    """Sends the person to the provider; ?next= is the page of this site to show after sign-in."""
    session[NEXT] = local_path(request.args.get("next"))
    _forget_unfinished_sign_ins()
    try:
        _checked_metadata()
        return _client().authorize_redirect(url_for("oidc.callback", _external=True))
    except ProviderFailure as failure:
        return _failed(failure)
    except PROVIDER_FAILURES as error:
        return _failed(_unreachable(error))


@blueprint.get("/sign-in/oidc/callback")
@public
def callback():
    """Where the provider sends the person back: the code becomes a checked id_token, the id_token a session."""
    next_page = session.pop(NEXT, None)
    try:
        person = person_from_claims(_verified_claims(), _settings())
    except ProviderFailure as failure:
        return _failed(failure, next_page)
    except ClaimsError as error:
        return _failed(ProviderFailure(401, str(error)), next_page)
    try:
        sign_in_person(person.name, person.display_name, person.roles, person.groups, source="oidc")
    except SignInRefused as refusal:  # a local account of that name, or a disabled one
        return _failed(ProviderFailure(403, str(refusal)), next_page)
    return redirect(local_path(next_page) or url_for("pages.home"))


def _forget_unfinished_sign_ins() -> None:
    """Drops the state of sign-ins started in this browser and never finished: Authlib keeps each one in
    the session cookie for an hour, and a dozen of them would outgrow what a browser keeps of a cookie.
    Only the newest sign-in of a browser can then finish; an older tab's says to start again."""
    for key in [key for key in session if key.startswith(f"_state_{CLIENT}_")]:  # Authlib's naming
        session.pop(key)


def _verified_claims() -> dict[str, Any]:
    """The claims of the provider's checked id_token, completed by its userinfo endpoint."""
    settings, client = _settings(), _client()
    if "error" in request.args:
        reason = _described(request.args.get("error", ""), request.args.get("error_description"))
        raise ProviderFailure(401, f"{settings.name} did not sign you in: {reason}")
    try:
        metadata = _checked_metadata()
        token = client.authorize_access_token(claims_options={
            "iss": {"essential": True, "values": [metadata["issuer"]]},
            "aud": {"essential": True, "values": [settings.client_id]},
        })
    except MismatchingStateError:
        raise ProviderFailure(400, "this sign-in answer does not belong to a sign-in started here "
                                   "(its state is missing or wrong): start again") from None
    except OAuthError as error:
        raise ProviderFailure(401, f"{settings.name} refused the sign-in: "
                                   f"{_described(error.error, error.description)}") from error
    except JoseError as error:
        raise ProviderFailure(401, f"the identity token from {settings.name} is not valid ({_jose_reason(error)}): "
                                   "nobody was signed in") from error
    except PROVIDER_FAILURES as error:
        raise _unreachable(error) from error
    claims = token.get("userinfo")
    if not claims:
        raise ProviderFailure(401, f"{settings.name} sent no identity token: nobody was signed in")
    return {**_userinfo(token, claims["sub"]), **claims}


def _userinfo(token: dict, subject: str) -> dict[str, Any]:
    """The userinfo endpoint's claims, for what the id_token leaves out (many providers put groups only there)."""
    client = _client()
    if not client.load_server_metadata().get("userinfo_endpoint"):
        return {}
    try:
        userinfo = dict(client.userinfo(token=token))
    except PROVIDER_FAILURES as error:
        raise _unreachable(error) from error
    if userinfo.get("sub") != subject:  # OpenID Connect Core 5.3.2: else the answer is about someone else
        raise ProviderFailure(401, f"{_settings().name} answered about another person than the one it signed in")
    return userinfo


def _checked_metadata() -> dict[str, Any]:
    """The provider's discovery document, which must name the issuer Maestro is configured with."""
    settings = _settings()
    metadata = _client().load_server_metadata()
    if str(metadata.get("issuer", "")).rstrip("/") != settings.issuer.rstrip("/"):
        raise ProviderFailure(502, f"the discovery document at {settings.discovery_url} names the issuer "
                                   f"{metadata.get('issuer')!r}, not {settings.issuer!r}: check MAESTRO_OIDC_ISSUER")
    return metadata


def _unreachable(error: Exception) -> ProviderFailure:
    settings = _settings()
    return ProviderFailure(502, f"{settings.name} could not be used for sign-in: {_what_went_wrong(error)}. "
                                "Try again later, or ask your administrator")


def _what_went_wrong(error: Exception) -> str:
    """One line for a person, not urllib3's chain of causes."""
    request_ = getattr(error, "request", None)
    url = getattr(request_, "url", None) or _settings().issuer
    if isinstance(error, requests.Timeout):  # before ConnectionError: a connect timeout is both
        return f"{url} did not answer within {TIMEOUT_SECONDS} s"
    if isinstance(error, requests.ConnectionError):
        return f"cannot connect to {url}"
    if isinstance(error, requests.HTTPError) and error.response is not None:
        return f"{url} answered {error.response.status_code} {error.response.reason}"
    if isinstance(error, requests.JSONDecodeError):
        return f"{url} did not answer with JSON"
    return f"the provider's answer could not be used ({type(error).__name__}: {error})"


def _described(error: str, description: str | None) -> str:
    """An OAuth error code with the provider's description of it, when it gave one."""
    return f"{error}: {description}" if description else error


def _jose_reason(error: JoseError) -> str:
    return error.description or error.error


def _failed(failure: ProviderFailure, next_page: str | None = None):
    again = url_for("oidc.begin", next=local_path(next_page))  # url_for leaves out a None
    return render_template("oidc_failed.html", provider=_settings().name, message=str(failure), again=again), \
        failure.status


def _settings() -> OidcSettings:
    return current_app.extensions["maestro_oidc"]


def _client():
    return current_app.extensions["authlib.integrations.flask_client"].create_client(CLIENT)
