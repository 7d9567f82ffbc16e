"""Helpers for the web app's tests: the processes they use, and an app over a fresh database."""
import shutil
from pathlib import Path

from engine.durable import Maestro
from engine.durable.startup import load_processes
from webapp import create_app

ROOT = Path(__file__).resolve().parent.parent
WEB = Path(__file__).parent / "fixtures" / "web"
SAGA = ROOT / "bpmn" / "order_fulfillment" / "order_fulfillment.bpmn"


def processes_folder(tmp_path):
    """A processes folder with the seed saga and the web fixtures, diagrams and handler modules."""
    folder = tmp_path / "processes"
    shutil.copytree(SAGA.parent, folder / "order_fulfillment")
    shutil.copytree(WEB, folder / "web")
    return folder


def web_app(tmp_path):
    """(app, maestro) over a fresh SQLite file, with the handlers of processes_folder (nothing deployed)."""
    handlers, _ = load_processes(processes_folder(tmp_path))
    maestro = Maestro(f"sqlite:///{tmp_path / 'web.db'}", handlers=handlers)
    app = create_app(maestro, secret_key="test")
    return app, maestro
