"""`maestro serve`: the web app, the JSON API and a worker in one process."""
import os
import sys
import threading

from engine.durable_cli import UserError, deploy_folder, load_processes, open_engine, run_worker


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
    # Imported here: every `maestro` command loads this module to learn of `serve`.
    import waitress

    from .app import create_app
    from .hosts import is_loopback

    folder = args.processes or os.environ.get("MAESTRO_PROCESSES") or "bpmn"
    handlers, diagrams = load_processes(folder)
    maestro = open_engine(handlers)
    if not deploy_folder(maestro, diagrams):
        return 1
    app = create_app(maestro, listen_host=args.host)
    if not is_loopback(args.host):
        print(f"maestro: warning: listening on {args.host} lets other machines reach Maestro, which has no sign-in "
              "yet: anyone who can connect can deploy, start, complete and cancel", file=sys.stderr, flush=True)
    print(f"Maestro at http://{args.host}:{args.port}/ (Ctrl-C stops it)", flush=True)
    stop = threading.Event()
    worker = None
    if not args.no_worker:
        worker = threading.Thread(target=run_worker, args=(maestro,), kwargs={"stop": stop}, name="worker",
                                  daemon=True)
        worker.start()
    try:
        waitress.serve(app, host=args.host, port=args.port, threads=8, ident="Maestro")
    except OSError as error:
        raise UserError(f"cannot listen on {args.host}:{args.port}: {error.strerror}") from error
    finally:
        stop.set()
        if worker is not None:
            worker.join(timeout=10)
    return 0
