"""The database-backed commands of `maestro`: deploy, start, instances, show, retry, cancel, complete,
publish, signal, worker. Argument parsing and printing only: the work is the durable wing's."""
import json
import os
import sys
import time

from engine.durable.errors import Busy, NotFound
from engine.durable.startup import UserError, deploy_folder, load_processes, open_engine
from engine.problems import DeployError
from engine.run.instance_errors import InstanceError
from engine.run.variable_limits import VariablesRefused


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
    listing.add_argument("--outcome", choices=["completed", "rolled_back"],
                         help="completed instances that ended so (rolled_back: their undo tasks ran)")
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

    publish = commands.add_parser("publish", help="publish a message: workers deliver it to the catches waiting "
                                                  "for it and start the processes that begin with it")
    publish.add_argument("message", metavar="MESSAGE", help="the message's name")
    publish.add_argument("--correlation", metavar="KEY|JSON",
                         help='which catches: a correlation key (o-1), or a JSON object of a "business_key" '
                              'and variables they must hold')
    publish.add_argument("--data", default="{}", metavar="JSON", help="variables the message carries")
    publish.add_argument("--ttl", metavar="DURATION", help="kept this long while nobody waits for it: seconds or "
                                                           "ISO 8601 (PT10M); default MAESTRO_MESSAGE_TTL_SECONDS")
    publish.add_argument("--wait", action="store_true",
                         help="wait until it is delivered, buffered or expired, and print its receivers")
    publish.set_defaults(command=publish_command)

    signal = commands.add_parser("signal", help="broadcast a signal to every instance and process that catches it")
    signal.add_argument("name", metavar="NAME", help="the signal's name")
    signal.add_argument("--data", default="{}", metavar="JSON", help="variables the signal carries")
    signal.add_argument("--wait", action="store_true", help="wait until it is delivered, and print its receivers")
    signal.set_defaults(command=signal_command)

    worker = commands.add_parser("worker", help="run due work until stopped")
    worker.add_argument("--processes", metavar="DIR", help="deploy its *.bpmn and load its *.py handlers "
                                                           "(default: $MAESTRO_PROCESSES or bpmn/)")
    worker.add_argument("--until-idle", action="store_true", help="stop when nothing is due")
    worker.add_argument("--batch-size", type=int, default=32, metavar="N",
                        help="instances advanced together, one commit per round (default 32)")
    worker.set_defaults(command=worker_command)


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
        if "form" in item:
            print(f"form {item['form']} version {item['version']}{note}")
            continue
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
    started = _guarded(lambda: open_engine().start(args.process, data, args.business_key, trace=_caller_trace()))
    print(started["id"])
    return 0


def instances_command(args):
    found = open_engine().instances(status=args.status, key=args.process, limit=args.limit, outcome=args.outcome)
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    for item in found:
        print(f"{item['id']}  {item['status']:<9}  {item['key']} v{item['version']}  "
              f"{item['business_key'] or '-'}  {item['created_at']}"
              + ("  rolled back" if item.get("outcome") == "rolled_back" else ""))
    return 0


def show_command(args):
    shown = _guarded(lambda: open_engine().show(args.id))
    if args.json:
        print(json.dumps(shown, indent=2, default=str))
    else:
        print_instance(shown)
    return 0


def print_instance(shown):
    how = ["rolled back"] if shown.get("outcome") == "rolled_back" else []
    how += [f"ended at {shown['end_event']}"] if shown.get("end_event") else []
    print(f"instance {shown['id']}: {shown['status']}" + (f" ({', '.join(how)})" if how else ""))
    print(f"  process {shown['key']} version {shown['version']}, business key {shown['business_key'] or '-'}")
    print(f"  started {shown['created_at']}" + (f", ended {shown['ended_at']}" if shown["ended_at"] else ""))
    retry, failure = shown.get("retry"), shown.get("failure")
    if retry and failure:
        print(f"  {failure['name']} failed: {failure['message']}; try {retry['attempt']} of {retry['of']} "
              f"at {retry['next_at']}")
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


def _caller_trace():
    """The trace a command belongs to: TRACEPARENT from its environment, as a script or CI job that
    traces passes it on (a W3C traceparent; an invalid one is ignored)."""
    return os.environ.get("TRACEPARENT")


def publish_command(args):
    data = _json_object(args.data, "--data")
    correlation = _correlation(args.correlation)
    ttl = args.ttl
    if ttl is not None and ttl.replace(".", "", 1).isdigit():
        ttl = float(ttl)
    engine = open_engine()
    published = _guarded(lambda: engine.publish(args.message, correlation, data, ttl, trace=_caller_trace()))
    print(published["id"])
    return _print_deliveries(engine, published["id"]) if args.wait else 0


def signal_command(args):
    data = _json_object(args.data, "--data")
    engine = open_engine()
    published = _guarded(lambda: engine.signal(args.name, data, trace=_caller_trace()))
    print(published["id"])
    return _print_deliveries(engine, published["id"]) if args.wait else 0


def _correlation(text):
    """A --correlation: a JSON object, or else a key as it is written."""
    if text is None:
        return None
    if text.lstrip().startswith("{"):
        return _json_object(text, "--correlation")
    return text


def _print_deliveries(engine, message_id, patience=60.0):
    """Waits (for a worker) until the message is no longer pending; prints who took it. Exit 1 when
    nobody did (buffered, expired) or no worker delivered it in time."""
    deadline = time.monotonic() + patience
    shown = engine.message(message_id)
    while shown["status"] == "pending" and time.monotonic() < deadline:
        time.sleep(0.1)
        shown = engine.message(message_id)
    for delivery in shown["deliveries"]:
        what = "started" if delivery["started"] else "reached"
        where = f", {delivery['element']}" if delivery["element"] else ""
        print(f"{what} {delivery['instance_id']} ({delivery['key']}{where})")
    if shown["status"] == "pending":
        print(f"still pending after {patience:g} s: is a worker running (maestro worker, maestro serve)?",
              file=sys.stderr)
        return 1
    if not shown["deliveries"]:
        note = {"buffered": f"kept until {shown['expires_at']} for a catch to come",
                "expired": "expired", "delivered": "delivered to nobody"}[shown["status"]]
        print(f"nobody waits for {shown['kind']} '{shown['name']}' (with that correlation) and no process starts "
              f"with it: {note}", file=sys.stderr)
        return 1
    return 0


def worker_command(args):
    folder = args.processes or os.environ.get("MAESTRO_PROCESSES") or "bpmn"
    handlers, diagrams = load_processes(folder)
    if args.batch_size < 1:
        raise UserError("--batch-size must be at least 1")
    engine = open_engine(handlers, batch_size=args.batch_size)
    if not deploy_folder(engine, folder, diagrams):
        return 1
    from engine.durable.worker_loop import run_worker
    run_worker(engine, until_idle=args.until_idle)
    return 0
