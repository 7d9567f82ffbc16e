"""Helpers for the web app's tests: the processes they use, an app over a fresh database, and signing
a test client in (the app refuses a request without credentials)."""
import re
import shutil
from pathlib import Path

from engine.durable import Maestro
from engine.durable.startup import load_processes
from webapp import create_app

ROOT = Path(__file__).resolve().parent.parent
WEB = Path(__file__).parent / "fixtures" / "web"
SAGA = ROOT / "bpmn" / "order_fulfillment" / "order_fulfillment.bpmn"


def processes_folder(tmp_path):
    """A processes folder with the seed saga and the web fixtures, diagrams and handler modules."""
    folder = tmp_path / "processes"
    shutil.copytree(SAGA.parent, folder / "order_fulfillment")
    shutil.copytree(WEB, folder / "web")
    return folder


def web_app(tmp_path):
    """(app, maestro) over a fresh SQLite file, with the handlers of processes_folder (nothing deployed)."""
    handlers, _ = load_processes(processes_folder(tmp_path))
    maestro = Maestro(f"sqlite:///{tmp_path / 'web.db'}", handlers=handlers)
    app = create_app(maestro, secret_key="test")
    return app, maestro


def signed_in(client, role: str = "admin", name: str | None = None, groups: list[str] | None = None):
    """`client` (a Flask test client) making every request as an account with `role` (made, named `name`
    or after the role, unless it exists), by a personal API token; returns the client."""
    token = api_token(client.application.extensions["maestro"], role, name, groups)
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def api_token(maestro, role: str = "admin", name: str | None = None, groups: list[str] | None = None) -> str:
    """A new API token of an account with `role` (made, named `name` or after the role, unless it exists)."""
    people = maestro.people
    name = name or f"{role}-tester"
    if not any(person["name"] == name for person in people.every()):
        people.add(name, [role], groups or [], password=TEST_PASSWORD)
    return people.new_token(name, "tests")["token"]


TEST_PASSWORD = "password-of-tests"


def sign_in_with_form(client, name: str, password: str = TEST_PASSWORD):
    """Signs `client` in through the /sign-in form (a session cookie, as a browser has); returns the
    page's CSRF token, which the session's writes to /api send as X-CSRFToken."""
    response = client.post("/sign-in", data={"csrf_token": csrf_token(client, "/sign-in"), "name": name,
                                             "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return csrf_token(client, "/account")


def csrf_token(client, path: str) -> str:
    """The CSRF token of the page at `path` (its meta "csrf-token")."""
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
