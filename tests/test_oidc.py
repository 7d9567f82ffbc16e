"""Sign-in with OpenID Connect, against tests/oidc_provider.py on a loopback port.

The browser's part (following redirects between Maestro and the provider) is played by Flask's test
client on Maestro's side and `requests` on the provider's real socket; Maestro itself talks to the
provider over that socket too (discovery, token, keys, userinfo). The last tests run a real
`maestro serve`.
"""
import base64
import json
import re
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import OctKey
from oidc_provider import CLIENT_ID, CLIENT_SECRET, new_signing_key, running_provider
from serve_helpers import free_port, running_serve
from web_helpers import ROOT, processes_folder

from engine.durable import Maestro
from engine.durable.startup import UserError
from webapp import create_app
from webapp.oidc_claims import person_from_claims
from webapp.oidc_settings import OidcSettings, from_environment
from webapp.sign_in import local_path

SETTINGS = OidcSettings(issuer="https://id.example.org", client_id=CLIENT_ID, client_secret=CLIENT_SECRET)


@pytest.fixture
def provider():
    with running_provider() as provider:
        yield provider


def oidc_environment(issuer):
    return {"MAESTRO_OIDC_ISSUER": issuer, "MAESTRO_OIDC_CLIENT_ID": CLIENT_ID,
            "MAESTRO_OIDC_CLIENT_SECRET": CLIENT_SECRET, "MAESTRO_OIDC_NAME": "Test ID"}


@pytest.fixture
def configure(monkeypatch, tmp_path):
    """configure(issuer, **more_variables) -> a Flask app with sign-in through that issuer."""
    def app_for(issuer, **variables):
        for name, value in {**oidc_environment(issuer), **variables}.items():
            monkeypatch.setenv(name, value)
        app = create_app(Maestro(f"sqlite:///{tmp_path / 'oidc.db'}"), secret_key="test")
        app.config["TESTING"] = True
        return app
    return app_for


@pytest.fixture
def client(configure, provider):
    return configure(provider.issuer).test_client()


def through_provider(client, start="/sign-in/oidc"):
    """The browser's round trip: Maestro sends it to the provider, which sends it back; Maestro's last answer."""
    to_provider = client.get(start)
    assert to_provider.status_code == 302, to_provider.text
    to_callback = requests.get(to_provider.location, allow_redirects=False, timeout=10)
    assert to_callback.status_code == 302, to_callback.text
    back = urlsplit(to_callback.headers["Location"])
    assert (back.scheme, back.netloc, back.path) == ("http", "localhost", "/sign-in/oidc/callback")
    return client.get(f"{back.path}?{back.query}")


def signed_in(client):
    """Who the app says is signed in with the client's session cookie (GET /api/me)."""
    return who(client.get("/api/me"))


def who(answer):
    """{person, roles, groups} from an answer of GET /api/me (Flask's, requests' or Playwright's)."""
    status = answer.status if hasattr(answer, "status") and isinstance(answer.status, int) else answer.status_code
    if status == 401:
        return NOBODY
    person = answer.get_json() if hasattr(answer, "get_json") else answer.json()
    return {"person": person["name"], "roles": person["roles"], "groups": person["groups"]}


NOBODY = {"person": None, "roles": None, "groups": None}


# -- signing in ---------------------------------------------------------------------------

def test_sign_in_starts_a_session_for_the_person_the_provider_names(client, provider):
    answer = through_provider(client, "/sign-in/oidc?next=/instances?status=failed")

    assert answer.status_code == 302 and answer.location == "/instances?status=failed"
    assert signed_in(client) == {"person": "ada", "roles": ["operator"], "groups": ["billing"]}
    asked = provider.authorize_requests[0]
    assert asked["code_challenge_method"] == "S256" and asked["nonce"] and asked["state"]
    assert asked["redirect_uri"] == "http://localhost/sign-in/oidc/callback"
    assert asked["scope"] == "openid profile email"


def test_the_sign_in_page_learns_of_the_provider_by_its_configured_name(client):
    assert client.application.config["MAESTRO_OIDC"] == {"name": "Test ID"}


@pytest.mark.parametrize("roles, default_role, expected", [
    (["Admin", "modeler", "accounting"], None, ["modeler", "admin"]),  # Maestro's role names, in any case
    (["accounting"], None, ["viewer"]),                                 # none of Maestro's: the default role
    (None, "worker", ["worker"]),                                       # no roles claim: the configured default
])
def test_roles_are_the_maestro_role_names_among_the_claims_else_the_default(configure, provider, roles,
                                                                           default_role, expected):
    provider.person = {**provider.person, "roles": roles}
    client = configure(provider.issuer, **({"MAESTRO_OIDC_DEFAULT_ROLE": default_role} if default_role else {})).test_client()

    through_provider(client)

    assert signed_in(client)["roles"] == expected


def test_the_claims_that_name_roles_groups_and_the_person_are_configurable(configure, provider):
    provider.person = {"sub": "u-7", "upn": "grace@example.org", "realm_access": {"roles": ["worker"]},
                       "teams": "night-shift"}
    client = configure(provider.issuer, MAESTRO_OIDC_USERNAME_CLAIM="upn", MAESTRO_OIDC_ROLES_CLAIM="realm_access.roles",
                       MAESTRO_OIDC_GROUPS_CLAIM="teams").test_client()

    through_provider(client)

    assert signed_in(client) == {"person": "grace@example.org", "roles": ["worker"], "groups": ["night-shift"]}


def test_the_person_is_named_by_email_then_sub_when_the_username_claim_is_missing():
    assert person_from_claims({"sub": "u-1", "email": "ada@example.org"}, SETTINGS).name == "ada@example.org"
    assert person_from_claims({"sub": "u-1"}, SETTINGS).name == "u-1"
    person = person_from_claims({"sub": "u-1", "preferred_username": " ada ", "name": "Ada", "groups": ["b", "a", "b"]},
                                SETTINGS)
    assert (person.name, person.display_name, person.roles, person.groups) == ("ada", "Ada", ["viewer"], ["a", "b"])


def test_groups_only_in_userinfo_are_used(client, provider):
    provider.id_token_changes = {"groups": None}  # what Keycloak does without "add to ID token"

    through_provider(client)

    assert signed_in(client)["groups"] == ["billing"]


# -- what is refused ----------------------------------------------------------------------

def refused(answer, status, *words):
    page = answer.get_data(as_text=True)
    assert answer.status_code == status, page
    assert "Sign-in with Test ID failed" in page
    for word in words:
        assert word in page, page


@pytest.mark.parametrize("change_state", [lambda state: state[:-2] + "xx", lambda state: None])
def test_a_callback_whose_state_is_not_the_one_sent_is_refused(client, change_state):
    to_provider = client.get("/sign-in/oidc")
    to_callback = requests.get(to_provider.location, allow_redirects=False, timeout=10)
    query = parse_qs(urlsplit(to_callback.headers["Location"]).query)
    state = change_state(query["state"][0])

    answer = client.get("/sign-in/oidc/callback", query_string={"code": query["code"][0],
                                                               **({"state": state} if state else {})})

    refused(answer, 400, "state is missing or wrong")
    assert signed_in(client) == NOBODY


def test_a_sign_in_answer_works_once(client):
    to_provider = client.get("/sign-in/oidc")
    callback = urlsplit(requests.get(to_provider.location, allow_redirects=False, timeout=10).headers["Location"])
    assert client.get(f"{callback.path}?{callback.query}").status_code == 302
    with client.session_transaction() as session:
        session.clear()  # signed out

    refused(client.get(f"{callback.path}?{callback.query}"), 400, "state is missing or wrong")
    assert signed_in(client) == NOBODY


def test_sign_ins_started_and_left_do_not_grow_the_session_cookie(client):
    for _ in range(30):
        client.get("/sign-in/oidc")
    assert len(client.get_cookie("session").value) < 1000

    answer = through_provider(client)  # the newest one finishes

    assert answer.status_code == 302 and signed_in(client)["person"] == "ada"


@pytest.mark.parametrize("forge, reason", [
    ("other key, same kid", "bad_signature"),
    ("other key, other kid", "No key for kid"),
    ({"aud": "someone-else"}, "aud"),
    ({"aud": ["someone-else"], "azp": CLIENT_ID}, "aud"),
    ({"nonce": "replayed-nonce"}, "nonce"),
    ({"nonce": None}, "nonce"),
    ({"iss": "https://evil.example"}, "iss"),
    ({"exp": int(time.time()) - 3600}, "token is expired"),
])
def test_an_id_token_that_is_forged_or_for_another_client_or_sign_in_is_refused(client, provider, forge, reason):
    if forge == "other key, same kid":
        provider.signing_key = new_signing_key("maestro-test-key")
    elif forge == "other key, other kid":
        provider.signing_key = new_signing_key("attacker-key")
    else:
        provider.id_token_changes = forge

    answer = through_provider(client)

    refused(answer, 401, "identity token from Test ID is not valid", reason, "nobody was signed in")
    assert signed_in(client) == NOBODY


def unsigned(claims):
    def part(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize("signer, reason", [
    (lambda claims: "not-a-token", "Invalid JSON Web Signature"),
    (unsigned, "Algorithm of &#39;none&#39; is not allowed"),
    # HMAC with the client's own secret: what a forger who learnt the secret could make; discovery says RS256
    (lambda claims: jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(CLIENT_SECRET * 2)),
     "Algorithm of &#39;HS256&#39; is not allowed"),
])
def test_an_id_token_not_signed_with_the_providers_published_algorithm_is_refused(client, provider, signer, reason):
    provider.id_token_signer = signer

    refused(through_provider(client), 401, "identity token from Test ID is not valid", reason)
    assert signed_in(client) == NOBODY


def test_a_userinfo_answer_about_another_person_is_refused(client, provider):
    provider.userinfo_changes = {"sub": "u-2", "roles": ["admin"]}

    refused(through_provider(client), 401, "Test ID answered about another person than the one it signed in")
    assert signed_in(client) == NOBODY


def test_a_refusal_by_the_provider_is_said_and_offers_to_try_again(client, provider):
    provider.refusal = "access_denied"

    answer = through_provider(client, "/sign-in/oidc?next=/instances")

    refused(answer, 401, "Test ID did not sign you in: access_denied: the person said no",
            'href="/sign-in/oidc?next=/instances"')
    assert signed_in(client) == NOBODY


def test_an_unreachable_provider_gives_a_page_that_says_so(configure):
    issuer = f"http://127.0.0.1:{free_port()}/realms/maestro"
    client = configure(issuer).test_client()

    answer = client.get("/sign-in/oidc")

    refused(answer, 502, f"Test ID could not be used for sign-in: cannot connect to {issuer}/.well-known/openid-configuration. "
                         "Try again later, or ask your administrator")


@pytest.mark.parametrize("path", ["/token", "/jwks", "/userinfo"])
def test_a_provider_failing_after_the_person_approved_gives_a_page_that_says_so(client, provider, path):
    to_provider = client.get("/sign-in/oidc")
    to_callback = urlsplit(requests.get(to_provider.location, allow_redirects=False, timeout=10).headers["Location"])
    provider.out_of_order = {path}

    answer = client.get(f"{to_callback.path}?{to_callback.query}")

    refused(answer, 502, f"Test ID could not be used for sign-in: {provider.issuer}{path} answered 503")
    assert signed_in(client) == NOBODY


def test_a_discovery_document_naming_another_issuer_is_not_trusted(configure, provider):
    configured = provider.issuer.replace("127.0.0.1", "localhost")  # the same server, which calls itself 127.0.0.1
    client = configure(configured).test_client()

    answer = client.get("/sign-in/oidc")

    refused(answer, 502, f"names the issuer &#39;{provider.issuer}&#39;, not &#39;{configured}&#39;",
            "check MAESTRO_OIDC_ISSUER")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)",
                                    "http:/evil.example", "/\x01x"])
def test_next_never_leads_to_another_site(client, target):
    assert local_path(target) is None
    answer = through_provider(client, f"/sign-in/oidc?next={requests.utils.quote(target)}")
    assert answer.status_code == 302 and answer.location == "/"


def test_next_may_be_any_page_of_this_site():
    assert local_path("/instances/7?tab=history") == "/instances/7?tab=history"


# -- configuration ------------------------------------------------------------------------

@pytest.mark.parametrize("given, missing", [
    ({"MAESTRO_OIDC_ISSUER": "https://id.example.org"}, "MAESTRO_OIDC_CLIENT_ID, MAESTRO_OIDC_CLIENT_SECRET"),
    ({"MAESTRO_OIDC_CLIENT_ID": "m", "MAESTRO_OIDC_CLIENT_SECRET": "s"}, "MAESTRO_OIDC_ISSUER"),
])
def test_half_a_configuration_is_refused_naming_what_is_missing(given, missing):
    with pytest.raises(UserError, match=f"OpenID Connect sign-in needs {missing} as well as"):
        from_environment(given)


@pytest.mark.parametrize("variable, value, message", [
    ("MAESTRO_OIDC_ISSUER", "id.example.org", "MAESTRO_OIDC_ISSUER must be the provider's http(s) URL"),
    ("MAESTRO_OIDC_SCOPES", "profile email", "MAESTRO_OIDC_SCOPES must include openid"),
    ("MAESTRO_OIDC_DEFAULT_ROLE", "boss", "MAESTRO_OIDC_DEFAULT_ROLE must be one of viewer, worker"),
])
def test_a_wrong_setting_is_refused_naming_it(variable, value, message):
    with pytest.raises(UserError, match=re.escape(message)):
        from_environment({**oidc_environment("https://id.example.org"), variable: value})


def test_without_configuration_there_is_no_sign_in_with_a_provider(monkeypatch, tmp_path):
    for name in oidc_environment(""):
        monkeypatch.delenv(name, raising=False)
    app = create_app(Maestro(f"sqlite:///{tmp_path / 'plain.db'}"), secret_key="test")
    assert "MAESTRO_OIDC" not in app.config
    assert app.test_client().get("/sign-in/oidc").status_code == 404


# -- a real server ------------------------------------------------------------------------

def test_maestro_serve_signs_a_person_in_over_real_sockets(tmp_path, provider):
    secret = "serve-test-secret"
    with running_serve(tmp_path, env={**oidc_environment(provider.issuer), "MAESTRO_SECRET_KEY": secret}) as server:
        browser = requests.Session()
        landed = browser.get(f"{server['base']}/sign-in/oidc?next=/instances", timeout=30)
        me = who(browser.get(f"{server['base']}/api/me", timeout=30))

    assert landed.status_code == 200 and landed.url == f"{server['base']}/instances"
    assert [urlsplit(step.url).path for step in landed.history] == ["/sign-in/oidc", "/authorize", "/sign-in/oidc/callback"]
    assert me == {"person": "ada", "roles": ["operator"], "groups": ["billing"]}


def test_maestro_serve_refuses_to_start_with_half_a_configuration(tmp_path):
    environment = {"MAESTRO_DATABASE_URL": f"sqlite:///{tmp_path / 'maestro.db'}", "PATH": "/usr/bin:/bin",
                   "MAESTRO_OIDC_ISSUER": "https://id.example.org", "MAESTRO_OIDC_CLIENT_ID": CLIENT_ID}
    finished = subprocess.run([sys.executable, "-m", "engine.cli", "serve", "--processes", str(processes_folder(tmp_path)),
                               "--port", str(free_port())], cwd=ROOT, env=environment, capture_output=True, text=True,
                              timeout=60)

    assert finished.returncode != 0
    assert "OpenID Connect sign-in needs MAESTRO_OIDC_CLIENT_SECRET as well as" in finished.stderr
