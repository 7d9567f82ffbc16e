"""Signing in, the account's tokens and the People page in Chromium against `maestro serve`.
Screenshots go to artifacts/sign-in/."""
import pytest
from browser_helpers import browser_fixture, handlers_only, page_for, screenshot, sign_in
from playwright.sync_api import expect
from serve_helpers import ADMIN_PASSWORD, running_serve

SCREENSHOTS = "sign-in"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sign-in")
    with running_serve(folder, "--no-worker", processes=handlers_only(folder)) as serve:
        yield serve


browser = browser_fixture()


def test_a_stranger_is_sent_to_sign_in_and_comes_back_to_the_page_asked_for(browser, server):
    with page_for(browser, server["base"], {"width": 1200, "height": 800}, signed_in_as=None) as page:
        page.goto("/instances?status=failed")
        expect(page).to_have_url(f"{server['base']}/sign-in?next=/instances%3Fstatus%3Dfailed")
        screenshot(page, SCREENSHOTS, "sign-in")
        page.fill("#name", "admin")
        page.fill("#password", "not the password")
        page.click("#sign-in-form button[type=submit]")
        expect(page.locator("#sign-in-error")).to_have_text(
            "That name and password do not match an account that may sign in.")
        expect(page.locator("#name")).to_have_value("admin")
        screenshot(page, SCREENSHOTS, "sign-in-refused")
        page.fill("#password", ADMIN_PASSWORD)
        page.click("#sign-in-form button[type=submit]")
        expect(page).to_have_url(f"{server['base']}/instances?status=failed")
        expect(page.locator("#signed-in")).to_contain_text("Administrator")
        page.click("#signed-in button")
        expect(page).to_have_url(f"{server['base']}/sign-in")
        page.goto("/processes")
        expect(page).to_have_url(f"{server['base']}/sign-in?next=/processes")


def test_an_admin_adds_a_person_who_signs_in_and_makes_a_token(browser, server):
    with page_for(browser, server["base"], {"width": 1400, "height": 900}) as page:
        page.goto("/people")
        page.fill("#new-name", "wanda")
        page.fill("#new-display-name", "Wanda Worker")
        page.check('#add-person input[value="worker"]')
        page.fill("#new-groups", "sales, night shift")
        page.click("#add-person button[type=submit]")
        shown = page.locator("#shown-password")
        expect(shown).to_contain_text("The password of wanda is")
        password = shown.locator("code").inner_text()
        expect(page.locator('#people tr[data-person="wanda"]')).to_contain_text("local")
        screenshot(page, SCREENSHOTS, "people")
    with page_for(browser, server["base"], {"width": 1400, "height": 900}, signed_in_as=("wanda", password)) as page:
        expect(page.locator("#signed-in")).to_contain_text("Wanda Worker")
        expect(page.locator("header nav")).not_to_contain_text("People")
        page.click("#signed-in a")
        page.fill("#token-name", "laptop script")
        page.click("#new-token-form button[type=submit]")
        token = page.locator("#new-token").inner_text()
        assert token.startswith("mae_")
        expect(page.locator("#tokens")).to_contain_text("laptop script")
        screenshot(page, SCREENSHOTS, "account-new-token")
        answer = page.request.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert answer.json()["name"] == "wanda"
        page.click("#tokens button:has-text('Revoke')")
        expect(page.locator("#tokens")).to_contain_text("revoked")
        assert page.request.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status == 401
        page.goto("/people")
        expect(page.locator("h1")).to_have_text("Not allowed")
        screenshot(page, SCREENSHOTS, "not-allowed")


def test_a_phone_signs_in_too(browser, server):
    with page_for(browser, server["base"], {"width": 390, "height": 844}, signed_in_as=None) as page:
        sign_in(page, server["base"], "admin", ADMIN_PASSWORD)
        screenshot(page, SCREENSHOTS, "signed-in-phone")
