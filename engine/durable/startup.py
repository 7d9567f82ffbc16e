"""Getting a durable engine ready for a worker or a server: opening the database, loading a processes
folder's handlers and deploying its diagrams. UserError is what the user must fix (said in one line)."""
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from engine.handlers import HandlerModuleError, Handlers, load_handler_module
from engine.problems import DeployError

if TYPE_CHECKING:  # imported by open_engine: the command line names UserError before it opens anything
    from .maestro import Maestro


class UserError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


def open_engine(handlers: Handlers | None = None, **options) -> "Maestro":
    from .maestro import Maestro
    try:
        return Maestro(handlers=handlers, **options)
    except Exception as error:  # a bad URL or an unreachable database: say so in one line
        raise UserError(f"cannot open the database: {type(error).__name__}: {error}") from error


def load_processes(folder) -> tuple[Handlers, list[Path]]:
    """(handlers, paths to deploy) of a processes folder: every *.py is a handler module; the paths are
    its diagrams and its form files (form_files)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"processes folder {folder} does not exist")
    handlers = Handlers()
    try:
        for module in sorted(folder.rglob("*.py")):
            handlers.merge(load_handler_module(module))
    except HandlerModuleError as error:
        raise UserError(str(error)) from error
    diagrams = sorted(folder.rglob("*.bpmn"))
    return handlers, diagrams + form_files(folder, diagrams)


def form_files(folder: Path, diagrams: list[Path]) -> list[Path]:
    """The forms of a processes folder: every *.form (Camunda Forms), every *-schema.json and
    *-uischema.json (Spiff Arena), and any other .json one of its diagrams names as a form."""
    from engine.read.forms import named_json_files
    named = {name for diagram in diagrams for name in named_json_files(diagram.read_bytes())}
    return sorted(path for path in folder.rglob("*")
                  if path.suffix == ".form" or path.name.endswith(("-schema.json", "-uischema.json"))
                  or (path.suffix == ".json" and path.name in named))


def deploy_folder(engine: "Maestro", folder, diagrams) -> bool:
    """Deploys a processes folder's diagrams that changed since it last deployed them (engine/durable/folders.py),
    saying what it did with each; False (problems printed) if refused."""
    if not diagrams:
        return True
    try:
        outcomes = engine.deploy_folder(folder, diagrams)
    except DeployError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return False
    for outcome in outcomes:
        for line in _said(outcome):
            print(line, flush=True)
    return True


def _what(item) -> str:
    """A deployed process by its key, a deployed form as "form ID"."""
    return f"form {item['form']}" if "form" in item else item["key"]


def _said(outcome) -> list[str]:
    """What a folder deploy did with one file, a line per process."""
    if outcome["skipped"] is None:
        return [f"deployed {_what(item)} version {item['version']}" + ("" if item["new"] else " (unchanged)")
                for item in outcome["deployed"]]
    why = ("unchanged since this folder last deployed it" if outcome["skipped"] == "unchanged"
           else "already deployed")
    lines = []
    for key, version in outcome["versions"].items():
        newest = outcome["newest"].get(key)
        stays = f"; the newest, version {newest}, stays" if newest and newest != version else ""
        lines.append(f"{outcome['file']}: {why} as {key} version {version}: not deployed again{stays}")
    return lines
