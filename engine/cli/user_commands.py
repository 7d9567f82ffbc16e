"""`maestro user ...`: the accounts of the web app and API (engine/durable/people.py). The command
talks to the database directly, as the other commands do: whoever may open it needs no account."""
import sys

from engine.durable.errors import NotFound
from engine.durable.startup import UserError, open_engine

ROLES = ("viewer", "worker", "operator", "modeler", "admin")  # engine.durable.people.ROLES, without importing it


def user_commands(commands):
    user = commands.add_parser("user", help="accounts of the web app and API: add, list, token, disable, remove")
    actions = user.add_subparsers(required=True, metavar="ACTION", dest="user_action")

    add = actions.add_parser("add", help="add a local account (prints a generated password once)")
    add.add_argument("name")
    add.add_argument("--role", action="append", required=True, choices=ROLES, dest="roles",
                     help="a role (repeat for several): " + ", ".join(ROLES))
    add.add_argument("--group", action="append", default=[], dest="groups", metavar="GROUP",
                     help="a group, for user tasks' candidate groups (repeat for several)")
    add.add_argument("--display-name", metavar="TEXT")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input instead of generating one")
    add.set_defaults(command=add_command)

    listing = actions.add_parser("list", help="every account, its roles, groups and whether it is disabled")
    listing.set_defaults(command=list_command)

    token = actions.add_parser("token", help="a new API token of an account (printed once)")
    token.add_argument("name")
    token.add_argument("--name", dest="label", default="cli", metavar="LABEL", help="what the token is for")
    token.set_defaults(command=token_command)

    password = actions.add_parser("password", help="set a new password (generated and printed, or --password-stdin)")
    password.add_argument("name")
    password.add_argument("--password-stdin", action="store_true")
    password.set_defaults(command=password_command)

    for action, helptext in (("disable", "stop an account signing in (its tokens are revoked)"),
                             ("enable", "let a disabled account sign in again"),
                             ("remove", "delete an account and its tokens")):
        parser = actions.add_parser(action, help=helptext)
        parser.add_argument("name")
        parser.set_defaults(command=change_command)


def _people():
    return open_engine().people


def _refused(action):
    from engine.durable.people import AccountRefused
    try:
        return action()
    except (AccountRefused, NotFound) as error:
        raise UserError(str(error)) from error


def _password_from_stdin():
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise UserError("--password-stdin: standard input gave no password")
    return line


def add_command(args):
    given = _password_from_stdin() if args.password_stdin else None
    person, password = _refused(lambda: _people().add(args.name, args.roles, args.groups, given, args.display_name))
    print(f"added {person['name']} ({', '.join(person['roles'])})")
    if given is None:
        print(f"password: {password}  (shown once: pass it on, or set another with `maestro user password`)")
    return 0


def list_command(args):
    people = _people().every()
    if not people:
        print("no accounts (`maestro serve` adds admin at its first start; or `maestro user add NAME --role ROLE`)")
    for person in people:
        groups = f"  groups: {', '.join(person['groups'])}" if person["groups"] else ""
        state = "  DISABLED" if person["disabled"] else ""
        print(f"{person['name']:<24} {person['source']:<6} {','.join(person['roles']) or '-':<30}{groups}{state}")
    return 0


def token_command(args):
    made = _refused(lambda: _people().new_token(args.name, args.label))
    print(made["token"])
    print(f"(token {made['id']} \"{made['name']}\" of {made['owner']}: shown once; send it as "
          "`Authorization: Bearer TOKEN`)", file=sys.stderr)
    return 0


def password_command(args):
    given = _password_from_stdin() if args.password_stdin else None
    password = _refused(lambda: _people().set_password(args.name, given))
    print(f"password of {args.name} changed" + ("" if given else f": {password}  (shown once)"))
    return 0


def change_command(args):
    people = _people()
    if args.user_action == "remove":
        _refused(lambda: people.remove(args.name))
        print(f"removed {args.name}")
    else:
        _refused(lambda: people.update(args.name, disabled=args.user_action == "disable"))
        print(f"{args.name} {args.user_action}d")
    return 0
