"""The `maestro` command line (DESIGN.md, "Command line")."""
import argparse
import json
import signal
import sys

from engine.durable.startup import UserError
from engine.handlers import HandlerModuleError, load_handler_module
from engine.problems import DeployError
from engine.run import instance_limits

from .durable_commands import durable_commands
from .surgery_commands import surgery_commands
from .user_commands import user_commands

# A command imports what it needs when it runs, not before: each `maestro` process does one thing, and
# importing the reading wing, the durable wing and the web app for every one of them cost seconds.

EXIT_CODES = {"completed": 0, "failed": 1, "cancelled": 1, "waiting": 3, "running": 3}
EXIT_BAD_INPUT = 2
FORCE_HELP = ('treat processes marked isExecutable="false" (most tools\' default) as executable, '
              'and let timers without a time (documentation models leave them empty) never fire')



class UsageError(Exception):
    pass



# Commands that run until stopped: a peer closing its end (a browser, a handler's HTTP call) must
# raise BrokenPipeError in the thread that wrote, never end the process with SIGPIPE.
LONG_RUNNING = {"serve", "worker"}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _argument_parser(argv)
    args = parser.parse_args(argv)
    if args.command_name not in LONG_RUNNING:
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `maestro show ID | head` ends quietly
    try:
        instance_limits.check_settings()
        return args.command(args)
    except (UsageError, UserError, instance_limits.SettingError) as error:
        print(f"maestro: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _argument_parser(argv):
    parser = argparse.ArgumentParser(prog="maestro", description="Maestro, a BPMN process engine.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND", dest="command_name")

    run = commands.add_parser("run", help="run a process in memory to its end or its first wait")
    run.add_argument("file", metavar="FILE.bpmn")
    run.add_argument("--process", help="id of the process to start (when the file has several)")
    run.add_argument("--handlers", required=True, metavar="FILE.py", help="handler module")
    run.add_argument("--data", default="{}", metavar="JSON", help="start variables as a JSON object")
    run.add_argument("--json", action="store_true", help="print the result as JSON")
    run.add_argument("--force-executable", action="store_true", help=FORCE_HELP)
    run.set_defaults(command=run_command)

    lint = commands.add_parser("lint", help="report what Maestro cannot run, per file, line and element")
    lint.add_argument("files", nargs="+", metavar="FILE.bpmn")
    lint.add_argument("--handlers", metavar="FILE.py", help="also check service task bindings")
    lint.add_argument("--force-executable", action="store_true", help=FORCE_HELP)
    lint.set_defaults(command=lint_command)
    durable_commands(commands)
    surgery_commands(commands)
    user_commands(commands)
    if not (argv and argv[0] in commands.choices):
        # Another package's command, the overview (--help) or a mistake: learn the commands of other
        # packages (e.g. `serve`, which webapp adds: engine never imports webapp). A command of ours
        # never loads them, so `maestro show` does not import the web app.
        from importlib.metadata import entry_points
        for plugin in entry_points(group="maestro.commands"):
            plugin.load()(commands)
    return parser


def _handlers(path):
    try:
        return load_handler_module(path)
    except HandlerModuleError as error:
        raise UsageError(str(error)) from error


def _data(text):
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"--data is not valid JSON: {error.msg} at column {error.colno}") from error
    if not isinstance(data, dict):
        raise UsageError("--data must be a JSON object, e.g. '{\"amount\": 10}'")
    return data


def run_command(args):
    handlers, data = _handlers(args.handlers), _data(args.data)
    duplicates = [f"topic '{b.topic}' is bound twice: {a.location} and {b.location}" for a, b in handlers.duplicates]
    if duplicates:
        raise UsageError("; ".join(duplicates))
    from engine.read.loader import load
    from engine.run.instance import Instance
    try:
        instance = Instance.create(load(args.file, args.force_executable), handlers, data, args.process).run()
    except DeployError as error:
        if args.json:
            print(json.dumps({"status": "invalid", "errors": [p.as_dict() for p in error.problems]}, indent=2))
        else:
            for problem in error.problems:
                print(problem, file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        print(json.dumps(_result(instance), indent=2, default=str))
    else:
        _print_result(instance)
    return EXIT_CODES[instance.status]


def _result(instance):
    error = instance.error and {k: instance.error[k] for k in ("task", "bpmn_id", "message", "type", "traceback")}
    tasks = [{k: t[k] for k in ("id", "bpmn_id", "name", "type", "state", "compensated", "undo_of")}
             for t in instance.tasks()]
    return {"status": instance.status, "data": instance.data, "tasks": tasks, "error": error}


def _print_result(instance):
    print(f"instance {instance.id}: {instance.status}")
    for task in instance.tasks():
        marks = " (compensated)" if task["compensated"] else ""
        marks += " [undo]" if task["undo_of"] else ""
        print(f"  {task['state']:<10} {task['name']}{marks}")
    if instance.error:
        print(f"error in {instance.error['bpmn_id']}: {instance.error['message']}")
    print("data: " + json.dumps(instance.data, default=str))


def lint_command(args):
    from engine.read.lint import lint_files
    handlers = _handlers(args.handlers) if args.handlers else None
    problems = lint_files(args.files, handlers, args.force_executable)
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{len(args.files)} file(s): no problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
