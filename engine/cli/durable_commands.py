"""The database-backed commands of `maestro`: deploy, start, instances, show, retry, cancel, worker."""
import json
import os
import sys
import threading
import traceback
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from engine.durable import Busy, Maestro, NotFound
from engine.durable.store import jobs
from engine.durable.worker_health import WorkerHealth
from engine.durable.worker_stop import StopSignals, stop_signals_ignored
from engine.handlers import HandlerModuleError, Handlers, load_handler_module
from engine.problems import DeployError
from engine.run.instance import InstanceError
from engine.run.interruptions import StepAbandoned
from engine.run.variable_limits import VariablesRefused


class UserError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


def durable_commands(commands):
    deploy = commands.add_parser("deploy", help="deploy BPMN files (a new version per changed process)")
    deploy.add_argument("files", nargs="+", metavar="FILE.bpmn")
    deploy.add_argument("--force-executable", action="store_true",
                        help='deploy processes marked isExecutable="false" too, '
                             'letting timers without a time never fire')
    deploy.set_defaults(command=deploy_command)

    start = commands.add_parser("start", help="start an instance of the newest version of a process")
    start.add_argument("process", metavar="PROCESS_ID")
    start.add_argument("--data", default="{}", metavar="JSON")
    start.add_argument("--business-key", metavar="K")
    start.set_defaults(command=start_command)

    listing = commands.add_parser("instances", help="list instances, newest first")
    listing.add_argument("--status", choices=["running", "waiting", "completed", "failed", "cancelled"])
    listing.add_argument("--process", metavar="PROCESS_ID")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(command=instances_command)

    show = commands.add_parser("show", help="an instance with its tasks, history and incident")
    show.add_argument("id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(command=show_command)

    for name, helptext, function in (("retry", "resume a failed instance from its failed task", retry_command),
                                     ("cancel", "stop an instance", cancel_command)):
        action = commands.add_parser(name, help=helptext)
        action.add_argument("id")
        action.set_defaults(command=function)

    complete = commands.add_parser("complete", help="complete a waiting user task")
    complete.add_argument("id")
    complete.add_argument("task", metavar="TASK", help="task id or BPMN element id")
    complete.add_argument("--data", default="{}", metavar="JSON")
    complete.set_defaults(command=complete_command)

    publish = commands.add_parser("publish", help="deliver a message to the instances waiting for it "
                                                  "and start the processes that begin with it")
    publish.add_argument("message", metavar="MESSAGE", help="the message's name")
    publish.add_argument("--correlation", default="{}", metavar="JSON",
                         help='which instances: variables (or "business_key") they must hold')
    publish.add_argument("--data", default="{}", metavar="JSON", help="variables the message carries")
    publish.set_defaults(command=publish_command)

    worker = commands.add_parser("worker", help="run due work until stopped")
    worker.add_argument("--processes", metavar="DIR", help="deploy its *.bpmn and load its *.py handlers "
                                                           "(default: $MAESTRO_PROCESSES or bpmn/)")
    worker.add_argument("--until-idle", action="store_true", help="stop when nothing is due")
    worker.add_argument("--batch-size", type=int, default=32, metavar="N",
                        help="instances advanced together, one commit per round (default 32)")
    worker.set_defaults(command=worker_command)


def open_engine(handlers=None, **options):
    try:
        return Maestro(handlers=handlers, **options)
    except Exception as error:  # a bad URL or an unreachable database: say so in one line
        raise UserError(f"cannot open the database: {type(error).__name__}: {error}") from error


def _json_object(text, option):
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"{option} is not valid JSON: {error.msg} at column {error.colno}") from error
    if not isinstance(value, dict):
        raise UserError(f"{option} must be a JSON object")
    return value


def _guarded(action):
    try:
        return action()
    except (NotFound, InstanceError, Busy, VariablesRefused) as error:
        raise UserError(str(error)) from error


def deploy_command(args):
    try:
        deployed = open_engine().deploy_paths(args.files, args.force_executable)
    except DeployError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 1
    except OSError as error:
        raise UserError(f"cannot read {error.filename}: {error.strerror}") from error
    for item in deployed:
        note = "" if item["new"] else " (unchanged)"
        if item["forced_executable"]:
            note += ' (marked isExecutable="false"; deployed as executable because of --force-executable)'
        if item["untimed_timers"]:
            note += f" (timers without a time never fire: {', '.join(item['untimed_timers'])})"
        if item.get("started"):
            note += f", started {item['started']} (timer start event)"
        print(f"{item['key']} version {item['version']}{note}")
    return 0


def start_command(args):
    data = _json_object(args.data, "--data")
    started = _guarded(lambda: open_engine().start(args.process, data, args.business_key))
    print(started["id"])
    return 0


def instances_command(args):
    found = open_engine().instances(status=args.status, key=args.process, limit=args.limit)
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    for item in found:
        print(f"{item['id']}  {item['status']:<9}  {item['key']} v{item['version']}  "
              f"{item['business_key'] or '-'}  {item['created_at']}")
    return 0


def show_command(args):
    shown = _guarded(lambda: open_engine().show(args.id))
    if args.json:
        print(json.dumps(shown, indent=2, default=str))
    else:
        print_instance(shown)
    return 0


def print_instance(shown):
    print(f"instance {shown['id']}: {shown['status']}")
    print(f"  process {shown['key']} version {shown['version']}, business key {shown['business_key'] or '-'}")
    print(f"  started {shown['created_at']}" + (f", ended {shown['ended_at']}" if shown["ended_at"] else ""))
    if shown["incident"]:
        print(f"  INCIDENT at {shown['incident']['bpmn_id']}: {shown['incident']['message']}")
    if shown["waiting"]:
        print("  waiting for: " + ", ".join(f"{t['name']} ({t['bpmn_id']})" for t in shown["waiting"]))
    print("history:")
    for entry in shown["history"]:
        undo = " [undo]" if entry["undo_of"] else ""
        error = f"  error: {entry['error']['message']}" if entry["error"] else ""
        print(f"  {entry['at']}  {entry['state']:<9}  {entry['name']}{undo}  ({entry['actor']}){error}")
    print("variables: " + json.dumps(shown["data"], default=str))


def retry_command(args):
    _guarded(lambda: open_engine().retry(args.id))
    print(f"{args.id}: retry scheduled")
    return 0


def cancel_command(args):
    _guarded(lambda: open_engine().cancel(args.id))
    print(f"{args.id}: cancelled")
    return 0


def complete_command(args):
    data = _json_object(args.data, "--data")
    _guarded(lambda: open_engine().complete_task(args.id, args.task, data))
    print(f"{args.id}: {args.task} completed")
    return 0


def publish_command(args):
    correlation, data = _json_object(args.correlation, "--correlation"), _json_object(args.data, "--data")
    outcome = _guarded(lambda: open_engine().publish(args.message, correlation, data))
    for what in ("reached", "started", "busy"):
        for instance_id in outcome[what]:
            print(f"{what} {instance_id}")
    if outcome["busy"]:
        print("busy instances were being advanced and did not get the message: publish again", file=sys.stderr)
    if not (outcome["reached"] or outcome["started"] or outcome["busy"]):
        print(f"no instance waits for message '{args.message}' (with that correlation) "
              "and no process starts with it", file=sys.stderr)
        return 1
    return 0


def load_processes(folder):
    """(handlers, bpmn paths) of a processes folder: every *.py is a handler module."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"processes folder {folder} does not exist")
    handlers = Handlers()
    try:
        for module in sorted(folder.rglob("*.py")):
            handlers.merge(load_handler_module(module))
    except HandlerModuleError as error:
        raise UserError(str(error)) from error
    return handlers, sorted(folder.rglob("*.bpmn"))


def worker_command(args):
    folder = args.processes or os.environ.get("MAESTRO_PROCESSES") or "bpmn"
    handlers, diagrams = load_processes(folder)
    if args.batch_size < 1:
        raise UserError("--batch-size must be at least 1")
    engine = open_engine(handlers, batch_size=args.batch_size)
    if not deploy_folder(engine, diagrams):
        return 1
    run_worker(engine, until_idle=args.until_idle)
    return 0


def deploy_folder(engine, diagrams):
    """Deploys a processes folder's diagrams, saying what it did; False (problems printed) if refused."""
    if not diagrams:
        return True
    try:
        for item in engine.deploy_paths(diagrams):
            print(f"deployed {item['key']} version {item['version']}" + ("" if item["new"] else " (unchanged)"))
    except DeployError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return False
    return True


def run_worker(engine, until_idle=False, max_sleep=1.0, stop=None, health=None):
    """Advances due instances until `stop` is set or, with until_idle, until none is due.

    In the main thread SIGTERM and SIGINT set `stop` (engine.durable.worker_stop): the round in flight
    is committed, a step still running after the grace is abandoned, and every lease this
    worker holds is released before it says it stopped. Errors outside handlers (the database
    restarted, SQLite locked beyond its busy timeout) make it wait and try again, never end it.
    """
    stop = stop or threading.Event()
    health = health or WorkerHealth()
    engine.stop_requested = lambda: (health.beat(), stop.is_set())[1]
    abandoned = False
    try:
        with StopSignals(stop):
            print(f"worker {engine.actor} started", flush=True)  # once a SIGTERM would stop it cleanly
            health.running()
            _work(engine, stop, until_idle, max_sleep, health)
    except StepAbandoned:
        abandoned = True
    released = _release_leases(engine)
    note = " (abandoned its step in flight: another worker runs it again)" if abandoned else ""
    print(f"worker {engine.actor} stopped{note}" + (f", released {released} lease(s)" if released else ""), flush=True)
    health.died("stopped")


def _work(engine, stop, until_idle, max_sleep, health):
    retry_in, release_due = None, False
    while not stop.is_set():
        try:
            if release_due:  # the failed batch's leases: its instances need not wait for them to run out
                engine.release_leases()
                release_due = False
            if engine.work_batch():
                health.beat()
                retry_in = None
                continue
            due = engine.next_due()
        except Exception as error:  # noqa: BLE001 (nothing outside a handler may end the worker)
            retry_in = min(retry_in * 2, MAX_RETRY_SECONDS) if retry_in else FIRST_RETRY_SECONDS
            reason = _failure(error)
            health.failed(reason)
            print(f"worker {engine.actor}: {reason}; trying again in {retry_in:g} s", file=sys.stderr, flush=True)
            release_due = True
            stop.wait(retry_in)
            continue
        health.beat()
        retry_in = None
        if until_idle and due is None:
            break
        wait = max_sleep if due is None else (due - jobs.now()).total_seconds()
        stop.wait(min(max(wait, 0.01), max_sleep))


FIRST_RETRY_SECONDS, MAX_RETRY_SECONDS = 0.5, 8.0


def _failure(error):
    """One line for the worker's log: the database's own words when it is the database."""
    if isinstance(error, SQLAlchemyError):
        original = getattr(error, "orig", None) or error
        first_line = (str(original).strip().splitlines() or [""])[0]
        return f"the database failed: {type(original).__name__}: {first_line}"
    traceback.print_exception(error)  # a fault of Maestro itself: its traceback is what to report
    return f"the worker's loop failed: {type(error).__name__}: {error}"


def _release_leases(engine):
    try:
        with stop_signals_ignored():
            return engine.release_leases()
    except Exception as error:  # noqa: BLE001 (the database is gone: the leases run out by themselves)
        print(f"worker {engine.actor}: could not release its leases ({_failure(error)}); "
              "they run out after MAESTRO_LEASE_SECONDS", file=sys.stderr, flush=True)
        return 0
