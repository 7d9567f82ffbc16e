"""`maestro move` and `maestro migrate`: an operator's surgery on stored instances (Maestro.move_token,
Maestro.migrate). Argument parsing and printing only."""
import json

from engine.durable.startup import open_engine

from .durable_commands import _guarded


def surgery_commands(commands):
    move = commands.add_parser("move", help="cancel an active activity of an instance and start another element "
                                            "of its scope (a reason is required)")
    move.add_argument("id")
    move.add_argument("--from", dest="source", required=True, metavar="TASK",
                      help="the active activity: task id or element id")
    move.add_argument("--to", dest="target", required=True, metavar="ELEMENT", help="the element id to start")
    move.add_argument("--reason", required=True, help="why (kept in the history)")
    move.set_defaults(command=move_command)

    migrate = commands.add_parser("migrate", help="move the running, waiting and failed instances of one version "
                                                  "of a process to another; exit 1 when some are refused")
    migrate.add_argument("process", metavar="PROCESS_ID")
    migrate.add_argument("--from", dest="source", type=int, required=True, metavar="N")
    migrate.add_argument("--to", dest="target", type=int, required=True, metavar="M")
    migrate.add_argument("--ids", nargs="+", metavar="ID", help="only these instances")
    migrate.add_argument("--dry-run", action="store_true", help="say what would happen; change nothing")
    migrate.add_argument("--json", action="store_true")
    migrate.set_defaults(command=migrate_command)


def move_command(args):
    moved = _guarded(lambda: open_engine().move_token(args.id, args.source, args.target, args.reason))
    print(f"{args.id}: moved from {moved['moved']['from']} to {moved['moved']['to']}"
          f"{' (incident resolved)' if moved['incident_resolved'] else ''}")
    for warning in moved["warnings"]:
        print(f"  warning: {warning}")
    return 0


def migrate_command(args):
    result = _guarded(lambda: open_engine().migrate(args.process, args.source, args.target, args.ids, args.dry_run))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        verb = "would move" if args.dry_run else "migrated"
        print(f"{len(result['migrated'])} {verb} from version {args.source} to {args.target}, "
              f"{len(result['refused'])} refused")
        for refused in result["refused"]:
            print(f"  {refused['id']}: {'; '.join(refused['reasons'])}")
    return 1 if result["refused"] else 0
