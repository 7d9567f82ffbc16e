"""`maestro serve`: the web app and the JSON API in one process, and its workers each in their own.

The web server runs in a thread; the main thread, where SIGTERM and Ctrl-C arrive, watches the
worker processes (webapp/worker_processes.py) and restarts one that dies. /api/health reports the
database and the workers. Stopping stops the workers first, each finishing its step in flight.
"""
import os
import sys
import tempfile
import threading

from engine.durable.startup import UserError, deploy_folder, load_processes, open_engine
from engine.durable.worker_stop import StopSignals, stop_signals_ignored

ADMIN_PASSWORD_SETTING = "MAESTRO_ADMIN_PASSWORD"


def add_command(commands):
    serve = commands.add_parser("serve", help="web UI + JSON API + workers")
    serve.add_argument("--processes", metavar="DIR", help="deploy its *.bpmn and load its *.py handlers "
                                                          "(default: $MAESTRO_PROCESSES or bpmn/)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=5000)
    serve.add_argument("--workers", type=int, default=1, metavar="N",
                       help="worker processes to run beside the web server (default 1)")
    serve.add_argument("--no-worker", action="store_true", help="serve only; workers run elsewhere (--workers 0)")
    serve.set_defaults(command=serve_command)


def serve_command(args):
    # Imported here: `maestro --help` loads this module too, to learn of `serve`.
    import waitress

    from .app import create_app
    from .hosts import is_loopback
    from .metrics import share_between_processes
    from .worker_processes import WorkerProcesses

    workers = 0 if args.no_worker else args.workers
    if workers < 0:
        raise UserError("--workers must be 0 or more")
    folder = args.processes or os.environ.get("MAESTRO_PROCESSES") or "bpmn"
    handlers, diagrams = load_processes(folder)
    maestro = open_engine(handlers)
    if not deploy_folder(maestro, folder, diagrams):
        return 1
    _first_admin(maestro)
    with tempfile.TemporaryDirectory(prefix="maestro-metrics-") as metrics_folder:
        if workers:
            share_between_processes(metrics_folder)
        app = create_app(maestro, listen_host=args.host, runs_handlers=workers > 0)
        if not is_loopback(args.host):
            print(f"maestro: warning: listening on {args.host} lets other machines reach Maestro's sign-in: "
                  "passwords, tokens and session cookies cross the network in clear text unless a TLS proxy is "
                  "in front (see MAESTRO_TRUSTED_PROXIES)", file=sys.stderr, flush=True)
        processes = WorkerProcesses(workers, folder) if workers else None
        app.extensions["maestro_worker"] = processes
        try:
            server = waitress.create_server(app, host=args.host, port=args.port, threads=8, ident="Maestro")
        except OSError as error:
            raise UserError(f"cannot listen on {args.host}:{args.port}: {error.strerror}") from error
        threading.Thread(target=server.run, name="web", daemon=True).start()
        stop = threading.Event()
        try:
            if processes:
                processes.start()
            print(f"Maestro at http://{args.host}:{args.port}/ (Ctrl-C stops it)", flush=True)
            with StopSignals(stop):
                if processes:
                    processes.supervise(stop)
                else:
                    while not stop.wait(1):
                        pass
        finally:  # whatever ended the watch, no worker outlives the server (nor its metrics folder)
            if processes:
                with stop_signals_ignored():  # a second Ctrl-C must not leave workers behind
                    processes.stop()
        server.close()  # in-flight requests are cut: the process ends now
    print("Maestro stopped", flush=True)
    return 0


def _first_admin(maestro):
    """On a database without accounts, adds "admin" and prints its password once: with
    MAESTRO_ADMIN_PASSWORD, that one (for automation), else a generated one."""
    from engine.durable.people import AccountRefused

    given = os.environ.get(ADMIN_PASSWORD_SETTING) or None
    try:
        password = maestro.people.first_admin(given)
    except AccountRefused as error:
        raise UserError(f"{ADMIN_PASSWORD_SETTING}: {error}") from error
    if password is None:
        return
    shown = "(the one MAESTRO_ADMIN_PASSWORD gives)" if given else password
    print("\n".join([
        "", "=" * 72,
        "  Maestro has no accounts yet: it made an administrator. Sign in with",
        "    name:     admin",
        f"    password: {shown}",
        "  This is shown once. Change it with `maestro user password admin`;",
        "  add people with `maestro user add NAME --role ROLE` or on the People page.",
        "=" * 72, ""]), flush=True)
