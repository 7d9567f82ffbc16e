"""`maestro user ...` (engine/cli/user_commands.py) and the first admin `maestro serve` makes."""
import json
import os
import re
import subprocess
import sys
import urllib.request

from cli_helpers import ROOT
from serve_helpers import running_serve

from engine.durable import Maestro


def user(tmp_path, *args, stdin=None):
    environment = {**os.environ, "MAESTRO_DATABASE_URL": f"sqlite:///{tmp_path / 'maestro.db'}"}
    return subprocess.run([sys.executable, "-m", "engine.cli", "user", *args], cwd=ROOT, env=environment,
                          input=stdin, capture_output=True, text=True, timeout=120)


def test_adding_a_person_prints_a_generated_password_once_that_signs_in(tmp_path):
    added = user(tmp_path, "add", "wanda", "--role", "worker", "--role", "viewer", "--group", "sales")
    assert added.returncode == 0, added.stderr
    password = re.search(r"^password: (\S+)", added.stdout, re.M).group(1)
    people = Maestro(f"sqlite:///{tmp_path / 'maestro.db'}").people
    assert people.authenticate("wanda", password) == people.get("wanda")
    assert (people.get("wanda")["roles"], people.get("wanda")["groups"]) == (["viewer", "worker"], ["sales"])
    listed = user(tmp_path, "list")
    assert re.search(r"^wanda\s+local\s+viewer,worker\s+groups: sales$", listed.stdout, re.M), listed.stdout


def test_a_password_from_stdin_is_the_password_and_is_not_printed(tmp_path):
    added = user(tmp_path, "add", "otto", "--role", "operator", "--password-stdin", stdin="correct horse battery\n")
    assert added.returncode == 0 and "correct horse" not in added.stdout and "password:" not in added.stdout
    assert Maestro(f"sqlite:///{tmp_path / 'maestro.db'}").people.authenticate("otto", "correct horse battery")


def test_a_token_is_printed_once_and_works_as_a_bearer_token(tmp_path):
    user(tmp_path, "add", "ci", "--role", "modeler")
    made = user(tmp_path, "token", "ci", "--name", "pipeline")
    assert made.returncode == 0 and "shown once" in made.stderr
    token = made.stdout.strip()
    people = Maestro(f"sqlite:///{tmp_path / 'maestro.db'}").people
    assert people.person_for_token(token)["name"] == "ci"
    assert [(t["name"], t["revoked"]) for t in people.tokens("ci")] == [("pipeline", False)]


def test_disable_enable_and_remove(tmp_path):
    user(tmp_path, "add", "pia", "--role", "viewer", "--password-stdin", stdin="pia-password\n")
    people = Maestro(f"sqlite:///{tmp_path / 'maestro.db'}").people
    assert user(tmp_path, "disable", "pia").returncode == 0
    assert people.authenticate("pia", "pia-password") is None and "DISABLED" in user(tmp_path, "list").stdout
    assert user(tmp_path, "enable", "pia").returncode == 0
    assert people.authenticate("pia", "pia-password") is not None
    assert user(tmp_path, "remove", "pia").returncode == 0
    assert people.every() == []


def test_mistakes_are_said_in_one_line_with_exit_code_2(tmp_path):
    user(tmp_path, "add", "wanda", "--role", "worker")
    answers = {
        "taken": user(tmp_path, "add", "wanda", "--role", "viewer"),
        "bad name": user(tmp_path, "add", "two words", "--role", "viewer"),
        "short password": user(tmp_path, "add", "x", "--role", "viewer", "--password-stdin", stdin="short\n"),
        "nobody": user(tmp_path, "token", "nobody"),
        "no role": user(tmp_path, "add", "y", "--role", "boss"),
    }
    assert {what: answer.returncode for what, answer in answers.items()} == {what: 2 for what in answers}
    assert answers["taken"].stderr == "maestro: there is already an account named 'wanda'\n"
    assert answers["nobody"].stderr == "maestro: no account named 'nobody'\n"
    assert "a password is 8 to 1024 characters long" in answers["short password"].stderr
    assert "invalid choice: 'boss'" in answers["no role"].stderr


def test_serve_makes_the_first_admin_on_an_empty_database_and_prints_its_password_once(tmp_path):
    with running_serve(tmp_path, "--no-worker", env={"MAESTRO_ADMIN_PASSWORD": ""}) as server:
        log = server["log"].read_text()
    password = re.search(r"^    password: (\S+)$", log, re.M).group(1)
    assert "    name:     admin" in log and len(password) >= 16
    assert Maestro(f"sqlite:///{tmp_path / 'maestro.db'}").people.authenticate("admin", password)["roles"] == ["admin"]
    with running_serve(tmp_path, "--no-worker", processes=tmp_path / "processes") as restarted:  # nothing made
        request = urllib.request.Request(f"{restarted['base']}/api/me", headers=restarted["headers"])
        assert json.load(urllib.request.urlopen(request))["name"] == "admin"
        assert "password:" not in restarted["log"].read_text().split("Maestro stopped")[-1]
