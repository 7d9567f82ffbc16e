"""`maestro serve`: the web app, the JSON API and a worker in one process.

The worker runs in the main thread, where SIGTERM and Ctrl-C reach it (engine.durable.worker_stop),
under a supervisor that restarts its loop, with backoff, if it ever dies; the web server
runs in a thread beside it and reports the worker's health at /api/health.
"""
import os
import sys
import threading

from engine.durable.startup import UserError, deploy_folder, load_processes, open_engine
from engine.durable.worker_health import WorkerHealth
from engine.durable.worker_stop import StopSignals

FIRST_RESTART_SECONDS, MAX_RESTART_SECONDS = 1.0, 30.0


def add_command(commands):
    serve = commands.add_parser("serve", help="web UI + JSON API + a worker")
    serve.add_argument("--processes", metavar="DIR", help="deploy its *.bpmn and load its *.py handlers "
                                                          "(default: $MAESTRO_PROCESSES or bpmn/)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=5000)
    serve.add_argument("--no-worker", action="store_true", help="serve only; workers run elsewhere")
    serve.set_defaults(command=serve_command)


def serve_command(args):
    # Imported here: `maestro --help` loads this module too, to learn of `serve`.
    import waitress

    from .app import create_app
    from .hosts import is_loopback

    folder = args.processes or os.environ.get("MAESTRO_PROCESSES") or "bpmn"
    handlers, diagrams = load_processes(folder)
    maestro = open_engine(handlers)
    if not deploy_folder(maestro, folder, diagrams):
        return 1
    app = create_app(maestro, listen_host=args.host, runs_handlers=not args.no_worker)
    if not is_loopback(args.host):
        print(f"maestro: warning: listening on {args.host} lets other machines reach Maestro, which has no sign-in "
              "yet: anyone who can connect can deploy, start, complete and cancel", file=sys.stderr, flush=True)
    health = None if args.no_worker else WorkerHealth()
    app.extensions["maestro_worker"] = health
    try:
        server = waitress.create_server(app, host=args.host, port=args.port, threads=8, ident="Maestro")
    except OSError as error:
        raise UserError(f"cannot listen on {args.host}:{args.port}: {error.strerror}") from error
    threading.Thread(target=server.run, name="web", daemon=True).start()
    print(f"Maestro at http://{args.host}:{args.port}/ (Ctrl-C stops it)", flush=True)
    stop = threading.Event()
    if health is None:
        with StopSignals(stop):
            while not stop.wait(1):
                pass
    else:
        supervise(maestro, stop, health)
    server.close()  # in-flight requests are cut: the process ends now
    print("Maestro stopped", flush=True)
    return 0


def supervise(maestro, stop, health, worker=None):
    """Runs the worker loop (`worker`, run_worker unless a test gives another) until `stop`; if it dies,
    says why (health included) and restarts it after a pause that doubles each time, up to MAX_RESTART_SECONDS."""
    if worker is None:
        from engine.durable.worker_loop import run_worker as worker  # the database's weight: `serve` only
    pause = FIRST_RESTART_SECONDS
    while not stop.is_set():
        try:
            worker(maestro, stop=stop, health=health)
            return
        except Exception as error:  # noqa: BLE001 (a dead worker is restarted, not the server's end)
            reason = f"died ({type(error).__name__}: {error}); restarting in {pause:g} s"
            health.died(reason)
            print(f"worker {reason}", file=sys.stderr, flush=True)
            with StopSignals(stop):
                stop.wait(pause)
            pause = min(pause * 2, MAX_RESTART_SECONDS)
