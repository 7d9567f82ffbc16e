"""The `maestro` command line (DESIGN.md, "Command line"): argument parsing and printing, nothing else.

In-memory commands (run, lint) call the reading and running wings; the database
commands (deploy, start, instances, show, retry, cancel, complete, publish, worker) call the
durable wing. Other packages add commands through the `maestro.commands` entry
point (the web app adds `serve`). May import any wing; no wing imports it.
"""
from .main import main

__all__ = ["main"]
