"""Sign-in with OpenID Connect in a real browser: Chromium goes from `maestro serve` to the test provider
and back. Maestro is reached as localhost and the provider as 127.0.0.1, two different sites, so the
session cookie must come back on the provider's cross-site redirect (SameSite=Lax does; Strict would
lose the sign-in's state). Screenshots go to artifacts/oidc/."""
import pytest
from browser_helpers import browser_fixture, handlers_only, page_for, screenshot
from oidc_provider import running_provider
from playwright.sync_api import expect
from serve_helpers import running_serve
from test_oidc import oidc_environment, who

SECRET = "browser-test-secret"


@pytest.fixture(scope="module")
def provider():
    with running_provider() as provider:
        yield provider


@pytest.fixture(scope="module")
def server(tmp_path_factory, provider):
    folder = tmp_path_factory.mktemp("serve")
    env = {**oidc_environment(provider.issuer), "MAESTRO_SECRET_KEY": SECRET}
    with running_serve(folder, "--no-worker", env=env, processes=handlers_only(folder)) as serve:
        yield {**serve, "base": f"http://localhost:{serve['port']}"}


browser = browser_fixture()


@pytest.fixture(params=[{"width": 1400, "height": 900}, {"width": 390, "height": 844}], ids=["desktop", "phone"])
def page(request, browser, server):
    with page_for(browser, server["base"], request.param, signed_in_as=None) as page:
        yield page


def test_a_person_signs_in_through_the_provider_and_lands_on_the_page_asked_for(page, server, provider):
    provider.refusal = None
    page.goto("/sign-in/oidc?next=/instances")

    page.wait_for_url(f"{server['base']}/instances")
    assert who(page.context.request.get(f"{server['base']}/api/me")) == {
        "person": "ada", "roles": ["operator"], "groups": ["billing"]}


def test_a_refusal_shows_why_and_offers_to_try_again(page, server, provider, request):
    provider.refusal = "access_denied"
    page.goto("/sign-in/oidc?next=/instances")

    expect(page.locator("h1")).to_have_text("Sign-in with Test ID failed")
    expect(page.get_by_role("alert")).to_have_text("Test ID did not sign you in: access_denied: the person said no")
    screenshot(page, "oidc", f"refused-{request.node.callspec.id}")

    provider.refusal = None
    page.get_by_role("link", name="Sign in with Test ID again").click()
    page.wait_for_url(f"{server['base']}/instances")
