"""A worker survives everything but SIGKILL (issue 11, items 2 and 4): handlers raising
BaseException or returning what JSON cannot carry fail their task, a database that goes away or
stays locked makes it wait and carry on, and SIGTERM stops it within seconds at any point,
committing what is done and releasing its leases. `maestro serve` reports all this at /api/health."""
import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from cli_helpers import ROOT
from postgres_server import PostgresServer
from postgres_server import _free_port as free_port
from sqlalchemy import select
from web_helpers import api_token

from engine.durable import Maestro
from engine.durable.store.models import Job
from webapp.worker_processes import WorkerProcesses

FIXTURES = Path(__file__).parent / "fixtures" / "survival"
PRODUCE = "the handler for topic 'produce' (task 'Produce values')"


class RestartablePostgres(PostgresServer):
    """The test server, which a test can stop and start again on the same port and data."""

    def options(self):
        return f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"

    def halt(self):
        self._run(self.bin / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def resume(self):
        self._run(self.bin / "pg_ctl", "-D", self.data, "-o", self.options(), "-l", self.folder / "server.log",
                  "-w", "start")

    def fresh_database(self, name):
        self._run(self.bin / "createdb", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres", name)
        return self.url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="module")
def postgres():
    server = RestartablePostgres().start()
    yield server
    server.stop()


class Running:
    """A `maestro` command in a subprocess whose output a test can await line by line."""

    def __init__(self, env, *args):
        self.process = subprocess.Popen([sys.executable, "-m", "engine.cli", *map(str, args)], cwd=ROOT, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines, self.output = queue.Queue(), []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def await_line(self, text, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(f"no line with {text!r} within {timeout} s:\n{''.join(self.output)}") from None
            if line is None:
                raise AssertionError(f"the process ended without a line with {text!r}:\n{''.join(self.output)}")
            if text in line:
                return line

    def terminate(self, timeout=20):
        """SIGTERM; (exit code, seconds it took to exit)."""
        sent = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        self.reader.join(timeout=5)
        return code, time.monotonic() - sent

    def wait(self, timeout=60):
        code = self.process.wait(timeout=timeout)
        self.reader.join(timeout=5)
        return code

    @property
    def text(self):
        return "".join(self.output)


def environment(tmp_path, url, **extra):
    return {**os.environ, "MAESTRO_DATABASE_URL": url, "MAESTRO_TEST_LOG": str(tmp_path / "calls.log"),
            "MAESTRO_RETRY_BASE_SECONDS": "0", "PYTHONPATH": str(ROOT), **extra}


def calls(tmp_path):
    """(instance, topic, attempt, pid) of every handler call so far."""
    log = tmp_path / "calls.log"
    return [tuple(line.split()) for line in log.read_text().splitlines()] if log.exists() else []


def await_true(condition, what, timeout=30):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


def deployed(url):
    """A Maestro over the database, with the diagrams the workers deploy already deployed."""
    maestro = Maestro(url)
    maestro.deploy_paths(sorted(FIXTURES.glob("*.bpmn")))
    return maestro


# -- errors outside handlers fail the task, never the worker ------------------------------------

def test_a_handler_raising_systemexit_keyboardinterrupt_or_baseexception_fails_its_task_not_the_worker(tmp_path):
    url = f"sqlite:///{tmp_path / 'maestro.db'}"
    maestro = deployed(url)
    raising = {kind: maestro.start("values", {"kind": kind})["id"]
               for kind in ("system_exit", "keyboard_interrupt", "base_exception")}
    fine = maestro.start("values", {"kind": "fine"})["id"]

    worker = Running(environment(tmp_path, url), "worker", "--processes", FIXTURES, "--until-idle")
    assert worker.wait() == 0, worker.text
    assert "stopped" in worker.text

    raised = {"system_exit": "SystemExit: 3", "keyboard_interrupt": "KeyboardInterrupt",
              "base_exception": "Unwinding: unwound"}
    for kind, instance_id in raising.items():
        shown = maestro.show(instance_id)
        assert shown["status"] == "failed"
        assert shown["incident"]["message"] == f"{PRODUCE} raised {raised[kind]}"
        assert [attempt for i, _, attempt, _ in calls(tmp_path) if i == instance_id] == ["1", "2", "3"]
    assert maestro.show(fine)["status"] == "waiting"
    assert maestro.show(fine)["data"]["produced"] is True


NOT_JSON = {
    "set": "variable 'tags' is of type set, which is not a JSON value",
    "datetime": "variable 'order'['placed'] is of type datetime, which is not a JSON value",
    "object": "variable 'thing' is of type object, which is not a JSON value",
    "nan": "variable 'ratio' is nan, which JSON (and PostgreSQL) cannot store; use null or a string",
    "infinity": "variable 'ratios'[1] is inf, which JSON (and PostgreSQL) cannot store; use null or a string",
}


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_result_json_cannot_carry_fails_its_task_naming_the_variable_on_every_database(tmp_path, database,
                                                                                          request):
    url = f"sqlite:///{tmp_path / 'maestro.db'}" if database == "sqlite" else \
        request.getfixturevalue("postgres").fresh_database("not_json")
    maestro = deployed(url)
    refused = {kind: maestro.start("values", {"kind": kind})["id"] for kind in NOT_JSON}
    fine = maestro.start("values", {"kind": "fine"})["id"]

    worker = Running(environment(tmp_path, url), "worker", "--processes", FIXTURES, "--until-idle")
    assert worker.wait() == 0, worker.text

    for kind, instance_id in refused.items():
        shown = maestro.show(instance_id)
        assert shown["status"] == "failed"
        assert shown["incident"]["message"].startswith(f"what {PRODUCE} returned: {NOT_JSON[kind]}")
        assert shown["data"] == {"kind": kind}  # nothing of the result was written
    assert maestro.show(fine)["status"] == "waiting"


def test_a_worker_waits_out_a_postgresql_restart_mid_step_and_carries_on(tmp_path, postgres):
    url, gate = postgres.fresh_database("restarted"), tmp_path / "gate"
    maestro = deployed(url)
    instance_id = maestro.start("steps", {})["id"]
    worker = Running(environment(tmp_path, url, MAESTRO_TEST_GATE=str(gate)), "worker", "--processes", FIXTURES)
    await_true(lambda: [topic for _, topic, *_ in calls(tmp_path)] == ["first", "slow"], "the slow step began")

    postgres.halt()
    gate.touch()  # the slow step ends while the database is down: its commit fails
    worker.await_line("the database failed")
    postgres.resume()
    await_true(lambda: maestro.show(instance_id)["status"] == "completed", "the worker carried on after the restart")
    after = Maestro(url).start("steps", {})["id"]
    await_true(lambda: maestro.show(after)["status"] == "completed", "the worker took new work")

    code, _ = worker.terminate()
    assert code == 0, worker.text
    # Only the step whose commit failed ran again.
    assert [topic for i, topic, *_ in calls(tmp_path) if i == instance_id] == ["first", "slow", "slow", "last"]
    assert maestro.show(instance_id)["data"] == {"first": True, "slow": True, "last": True}


def test_a_worker_waits_while_sqlite_stays_locked_beyond_its_busy_timeout(tmp_path):
    path = tmp_path / "maestro.db"
    maestro = deployed(f"sqlite:///{path}")
    instance_id = maestro.start("values", {})["id"]
    lock = sqlite3.connect(path, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")  # what a long backup or a stuck writer does
    try:
        worker = Running(environment(tmp_path, f"sqlite:///{path}", MAESTRO_SQLITE_BUSY_SECONDS="0.2"),
                         "worker", "--processes", FIXTURES)
        worker.await_line("the database failed: OperationalError: database is locked")
    finally:
        lock.execute("COMMIT")
        lock.close()
    await_true(lambda: maestro.show(instance_id)["status"] == "waiting", "the worker ran the instance once unlocked")
    code, _ = worker.terminate()
    assert code == 0, worker.text
    assert [i for i, *_ in calls(tmp_path)] == [instance_id]


# -- SIGTERM -----------------------------------------------------------------------------------

def test_sigterm_stops_an_idle_worker_within_seconds(tmp_path):
    worker = Running(environment(tmp_path, f"sqlite:///{tmp_path / 'maestro.db'}"), "worker", "--processes", FIXTURES)
    worker.await_line("started")
    code, seconds = worker.terminate()
    assert code == 0, worker.text
    assert seconds < 5, f"took {seconds:.1f} s to stop"
    assert worker.text.endswith(" stopped\n")


def test_sigterm_during_a_long_handler_stops_the_worker_within_seconds_and_another_finishes_the_instance(tmp_path):
    url = f"sqlite:///{tmp_path / 'maestro.db'}"
    maestro = deployed(url)
    instance_id = maestro.start("steps", {})["id"]
    first = Running(environment(tmp_path, url, MAESTRO_TEST_SLOW_SECONDS="120", MAESTRO_STOP_GRACE_SECONDS="1"),
                    "worker", "--processes", FIXTURES)
    await_true(lambda: [topic for _, topic, *_ in calls(tmp_path)] == ["first", "slow"], "the slow step began")

    code, seconds = first.terminate()
    assert code == 0, first.text
    assert seconds < 10, f"took {seconds:.1f} s to stop"
    assert "stopped (abandoned its step in flight" in first.text
    with maestro.Session() as session:  # released: another worker may claim it at once
        assert session.scalars(select(Job.locked_by).where(Job.instance_id == instance_id)).all() == [None]

    second = Running(environment(tmp_path, url), "worker", "--processes", FIXTURES, "--until-idle")
    assert second.wait() == 0, second.text
    assert [(topic, pid == str(first.process.pid)) for _, topic, _, pid in calls(tmp_path)] == [
        ("first", True), ("slow", True), ("slow", False), ("last", False)]
    shown = maestro.show(instance_id)
    assert shown["status"] == "completed"
    assert shown["data"] == {"first": True, "slow": True, "last": True}


def test_sigterm_mid_batch_commits_every_finished_step_and_hands_the_rest_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'maestro.db'}"
    maestro = deployed(url)
    instances = [maestro.start("steps", {})["id"] for _ in range(8)]
    # One batch of 8; a round of slow steps takes 8 s, so the worker must stop within it.
    first = Running(environment(tmp_path, url, MAESTRO_TEST_SLOW_SECONDS="1"), "worker", "--processes", FIXTURES)
    await_true(lambda: any(topic == "slow" for _, topic, *_ in calls(tmp_path)), "a slow step began")

    code, seconds = first.terminate()
    assert code == 0, first.text
    assert seconds < 5, f"took {seconds:.1f} s to stop"
    assert "abandoned" not in first.text  # the step in flight finished within the grace

    second = Running(environment(tmp_path, url), "worker", "--processes", FIXTURES, "--until-idle")
    assert second.wait() == 0, second.text
    counted = Counter((instance_id, topic) for instance_id, topic, *_ in calls(tmp_path))
    assert counted == {(instance_id, topic): 1 for instance_id in instances for topic in ("first", "slow", "last")}
    assert {maestro.show(instance_id)["status"] for instance_id in instances} == {"completed"}


# -- maestro serve ------------------------------------------------------------------------------

def health(base):
    try:
        with urllib.request.urlopen(f"{base}/api/health", timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def start_over_api(base, key, token):
    request = urllib.request.Request(f"{base}/api/definitions/{key}/instances", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)["id"]


def test_serve_reports_its_database_and_worker_at_api_health_and_stops_on_sigterm(tmp_path, postgres):
    url, port, gate = postgres.fresh_database("served"), free_port(), tmp_path / "gate"
    maestro = deployed(url)
    token = api_token(maestro, "worker")
    # An idle loop beats about every second: a stall of 3 s is a held step, not an idle wait.
    env = environment(tmp_path, url, MAESTRO_TEST_GATE=str(gate), MAESTRO_WORKER_STALL_SECONDS="3")
    server = Running(env, "serve", "--processes", FIXTURES, "--port", port)
    server.await_line("Maestro at")
    base = f"http://127.0.0.1:{port}"
    # The worker process says "starting" until its loop runs.
    await_true(lambda: health(base) == (200, {"status": "ok", "database": "ok", "worker": "ok"}), "the worker runs")

    held = start_over_api(base, "steps", token)  # its slow step waits for the gate: the worker's loop stalls
    await_true(lambda: health(base)[0] == 503, "health says the worker is stuck")
    status, body = health(base)
    assert body["status"] == "unavailable" and body["database"] == "ok"
    assert body["reason"].startswith("the worker is not working: its loop has not moved for ")
    gate.touch()
    await_true(lambda: maestro.show(held)["status"] == "completed", "the held instance completed")
    await_true(lambda: health(base)[0] == 200, "health is back to ok")

    postgres.halt()
    await_true(lambda: health(base)[0] == 503, "health says the database is unreachable")
    assert health(base)[1]["reason"].startswith("the database is unreachable (OperationalError: ")
    postgres.resume()
    await_true(lambda: health(base)[0] == 200, "health is back to ok after the restart")
    after = start_over_api(base, "steps", token)
    await_true(lambda: maestro.show(after)["status"] == "completed", "the worker ran on after the restart")

    gate.unlink()
    stuck = start_over_api(base, "steps", token)
    await_true(lambda: (stuck, "slow") in [(i, topic) for i, topic, *_ in calls(tmp_path)], "a step is held")
    code, seconds = server.terminate()
    assert code == 0, server.text
    assert seconds < 10, f"took {seconds:.1f} s to stop"
    assert "Maestro stopped" in server.text
    assert Counter(topic for i, topic, *_ in calls(tmp_path) if i in (held, after)) == \
        {"first": 2, "slow": 2, "last": 2}


def test_a_dead_worker_process_is_started_again_and_health_says_why_meanwhile(tmp_path):
    """`maestro serve`'s worker processes: one that cannot run says why, dies, and is started again."""
    missing = tmp_path / "gone"
    workers = WorkerProcesses(1, str(missing))
    stop, said = threading.Event(), []
    watching = threading.Thread(target=workers.supervise, args=(stop, 0.05))
    workers.start()
    watching.start()
    try:
        await_true(lambda: "restarting" in (workers.problem() or ""), "health says the worker died")
        said.append(workers.problem())
        await_true(lambda: workers.workers[0].pause == 4.0, "it was started again, and died again")
    finally:
        stop.set()
        watching.join()
        workers.stop()
    assert said == [f"died (exit code 2: processes folder {missing} does not exist); restarting in 1 s"]


def test_a_stopping_worker_releases_its_leases_even_if_ctrl_c_is_pressed_again(tmp_path):
    """The release runs with SIGTERM and SIGINT ignored: a further Ctrl-C cannot leave leases held."""
    from engine.durable.worker_loop import _release_leases

    maestro = Maestro(f"sqlite:///{tmp_path / 'maestro.db'}")
    interrupted_release = maestro.release_leases

    def release_while_ctrl_c_is_pressed():
        os.kill(os.getpid(), signal.SIGINT)  # delivered at once, in this (the main) thread
        os.kill(os.getpid(), signal.SIGTERM)
        return interrupted_release()

    maestro.release_leases = release_while_ctrl_c_is_pressed
    assert _release_leases(maestro) == 0  # no KeyboardInterrupt, no termination
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back afterwards
