"""Runs the real `maestro` command line in a subprocess, as a user would."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAGA = ROOT / "bpmn" / "order_fulfillment"


def maestro(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "engine.cli", *map(str, args)],
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def run_saga(data, *extra):
    result = maestro("run", SAGA / "order_fulfillment.bpmn", "--handlers", SAGA / "handlers.py",
                     "--data", json.dumps(data), "--json", *extra)
    return result, json.loads(result.stdout) if result.stdout.strip().startswith("{") else None
