"""A real `maestro serve` on a loopback port, for tests whose behaviour depends on the process and its sockets."""
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request

from web_helpers import ROOT, processes_folder

# The first admin's password of every `maestro serve` the tests run (MAESTRO_ADMIN_PASSWORD).
ADMIN_PASSWORD = "admin-password-of-tests"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_serve(folder, *arguments, env=None, host="127.0.0.1", processes=None):
    """Yields {"base", "process", "log", "admin", "token", "headers"} for `maestro serve` over the SQLite
    file maestro.db in `folder` (fresh the first time: running it again on the same folder is a restart).
    "admin" is (name, password) of its first admin; "token" an API token of that admin, "headers" the
    Authorization header that sends it.

    The saga and the web fixtures are deployed at start, unless `processes` names another processes
    folder; `arguments` are added to the command line (e.g. "--no-worker"); `env` adds environment variables.
    """
    port, log_path = free_port(), folder / "serve.log"
    processes = processes if processes is not None else processes_folder(folder)
    environment = {**os.environ, "MAESTRO_DATABASE_URL": f"sqlite:///{folder / 'maestro.db'}",
                   "MAESTRO_ADMIN_PASSWORD": ADMIN_PASSWORD, **(env or {})}
    command = [sys.executable, "-m", "engine.cli", "serve", "--processes", str(processes),
               "--host", host, "--port", str(port), *arguments]
    with open(log_path, "a") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_it_answers(base, process, log_path)
        token = admin_token(environment)
        yield {"base": base, "port": port, "process": process, "log": log_path,
               "admin": ("admin", environment["MAESTRO_ADMIN_PASSWORD"]), "token": token,
               "headers": {"Authorization": f"Bearer {token}"}}
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def admin_token(environment) -> str:
    """A new API token of the first admin, made by `maestro user token` on the server's database."""
    made = subprocess.run([sys.executable, "-m", "engine.cli", "user", "token", "admin", "--name", "tests"],
                          cwd=ROOT, env=environment, capture_output=True, text=True, check=True)
    return made.stdout.strip()


def wait_until_it_answers(base, process, log_path, seconds=30):
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/health", timeout=1)
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"maestro serve did not come up:\n{log_path.read_text()}") from None
            time.sleep(0.1)
