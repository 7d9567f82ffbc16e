"""An OpenID Connect provider of the tests' own, on a loopback port: what Maestro's sign-in talks to.

It approves whoever the test names (no login form): /authorize sends the browser straight back to
the client's redirect_uri with a code and the state. It is strict where a real provider is strict,
so a client that skips a step fails here too: the code is single-use and bound to its client,
redirect_uri, nonce and PKCE challenge (S256 only); /token checks the client's secret and the PKCE
verifier; id_tokens are RS256-signed with a key generated for this provider. Tests bend it to play
a misbehaving or hostile provider: sign with another key, change claims of the id_token, refuse.
"""
import base64
import contextlib
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

CLIENT_ID = "maestro"
CLIENT_SECRET = "maestro-test-secret"
ID_TOKEN_SECONDS = 300


def new_signing_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


class TestProvider:
    """The provider's state; its HTTP side is `wsgi`. Attributes a test sets:

    `person`: the claims of whoever /authorize approves (sub, preferred_username, email, name, roles, groups).
    `refusal`: an OAuth error code (e.g. "access_denied") /authorize answers instead of approving.
    `id_token_changes`: claims to replace in (or, with value None, remove from) the next id_tokens.
    `signing_key`: the key id_tokens are signed with (another one than `published_key` forges them).
    `id_token_signer`: a function of the claims giving the id_token text, replacing RS256 with `signing_key`.
    `userinfo_changes`: claims to replace in /userinfo's answers.
    `out_of_order`: paths that answer 503 with an HTML page, as a provider being restarted does.
    """

    __test__ = False  # a helper, not a test class

    def __init__(self) -> None:
        self.issuer = ""  # its base URL, once it listens
        self.published_key = new_signing_key("maestro-test-key")
        self.signing_key = self.published_key
        self.person: dict[str, Any] = {"sub": "u-1", "preferred_username": "ada", "email": "ada@example.org",
                                       "name": "Ada Lovelace", "roles": ["operator"], "groups": ["billing"]}
        self.refusal: str | None = None
        self.id_token_changes: dict[str, Any] = {}
        self.id_token_signer: Callable[[dict[str, Any]], str] | None = None
        self.userinfo_changes: dict[str, Any] = {}
        self.out_of_order: set[str] = set()
        self.authorize_requests: list[dict[str, str]] = []
        self._codes: dict[str, dict[str, Any]] = {}
        self._access_tokens: dict[str, dict[str, Any]] = {}
        self._urls = Map([
            Rule("/.well-known/openid-configuration", endpoint=self.discovery),
            Rule("/authorize", endpoint=self.authorize, methods=["GET"]),
            Rule("/token", endpoint=self.token, methods=["POST"]),
            Rule("/jwks", endpoint=self.jwks),
            Rule("/userinfo", endpoint=self.userinfo),
        ])

    def wsgi(self, environ, start_response):
        request = Request(environ)
        if request.path in self.out_of_order:
            return Response("<h1>Service Unavailable</h1>", status=503, mimetype="text/html")(environ, start_response)
        try:
            view, arguments = self._urls.bind_to_environ(environ).match()
            response = view(request, **arguments)
        except HTTPException as error:
            response = error.get_response()
        return response(environ, start_response)

    # -- endpoints -------------------------------------------------------------------

    def discovery(self, request: Request) -> Response:
        return _json({
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "profile", "email"],
        })

    def authorize(self, request: Request) -> Response:
        query = request.args.to_dict()
        self.authorize_requests.append(query)
        # A wrong client or redirect_uri is shown to the person, never redirected to (RFC 6749, 4.1.2.1).
        if query.get("client_id") != CLIENT_ID:
            return Response("unknown client", status=400)
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_uri.startswith(("http://", "https://")):
            return Response("redirect_uri missing", status=400)
        state = query.get("state")
        if self.refusal:
            return _redirect(redirect_uri, error=self.refusal, error_description="the person said no", state=state)
        problem = _authorize_problem(query)
        if problem:
            return _redirect(redirect_uri, error="invalid_request", error_description=problem, state=state)
        code = secrets.token_urlsafe(24)
        self._codes[code] = {"redirect_uri": redirect_uri, "nonce": query.get("nonce"),
                             "challenge": query["code_challenge"], "person": dict(self.person)}
        return _redirect(redirect_uri, code=code, state=state)

    def token(self, request: Request) -> Response:
        if not self._client_authenticated(request):
            return _json({"error": "invalid_client", "error_description": "wrong client id or secret"}, 401)
        form = request.form
        if form.get("grant_type") != "authorization_code":
            return _json({"error": "unsupported_grant_type"}, 400)
        grant = self._codes.pop(form.get("code", ""), None)  # a code works once
        if grant is None:
            return _json({"error": "invalid_grant", "error_description": "unknown or used code"}, 400)
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return _json({"error": "invalid_grant", "error_description": "redirect_uri differs from the authorize request's"}, 400)
        if _s256(form.get("code_verifier", "")) != grant["challenge"]:
            return _json({"error": "invalid_grant", "error_description": "PKCE verifier does not match the challenge"}, 400)
        access_token = secrets.token_urlsafe(24)
        self._access_tokens[access_token] = grant["person"]
        return _json({"access_token": access_token, "token_type": "Bearer", "expires_in": 300,
                      "id_token": self._id_token(grant), "scope": "openid profile email"})

    def jwks(self, request: Request) -> Response:
        return _json({"keys": [self.published_key.as_dict(private=False)]})

    def userinfo(self, request: Request) -> Response:
        scheme, _, access_token = request.headers.get("Authorization", "").partition(" ")
        person = self._access_tokens.get(access_token) if scheme.lower() == "bearer" else None
        if person is None:
            return _json({"error": "invalid_token"}, 401)
        return _json({**person, **self.userinfo_changes})

    # -- the parts ---------------------------------------------------------------------

    def _client_authenticated(self, request: Request) -> bool:
        auth = request.authorization
        if auth is not None and auth.type == "basic":
            client_id, secret = auth.username, auth.password
        else:
            client_id, secret = request.form.get("client_id"), request.form.get("client_secret")
        return client_id == CLIENT_ID and secret is not None and secrets.compare_digest(secret, CLIENT_SECRET)

    def _id_token(self, grant: dict[str, Any]) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + ID_TOKEN_SECONDS,
                  "nonce": grant["nonce"], **grant["person"]}
        for name, value in self.id_token_changes.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        if self.id_token_signer:
            return self.id_token_signer(claims)
        key = self.signing_key
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def _authorize_problem(query: dict[str, str]) -> str | None:
    if query.get("response_type") != "code":
        return "response_type must be code"
    if "openid" not in query.get("scope", "").split():
        return "scope must include openid"
    if not query.get("state") or not query.get("nonce"):
        return "state and nonce are required"
    if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
        return "PKCE with S256 is required"
    return None


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json",
                    headers={"Cache-Control": "no-store"})


def _redirect(uri: str, **parameters: str | None) -> Response:
    query = urlencode({name: value for name, value in parameters.items() if value is not None})
    return Response(status=302, headers={"Location": f"{uri}{'&' if '?' in uri else '?'}{query}"})


class QuietRequestHandler(WSGIRequestHandler):
    def log_request(self, *arguments) -> None:  # the tests' output is theirs, not a log of every request
        pass


@contextlib.contextmanager
def running_provider():
    """Yields a TestProvider answering on a loopback port (its `issuer` is its base URL)."""
    provider = TestProvider()
    server = make_server("127.0.0.1", 0, provider.wsgi, threaded=True, request_handler=QuietRequestHandler)
    provider.issuer = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="oidc-provider", daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        thread.join(timeout=5)
