"""Helpers for tests of the durable engine: a Maestro on a fresh SQLite file, and a worker loop."""
import time
from datetime import datetime, timezone
from pathlib import Path

from engine.durable import Maestro

DURABLE = Path(__file__).parent / "fixtures" / "durable"


def fresh_maestro(tmp_path, handlers=None, **kwargs):
    return Maestro(f"sqlite:///{tmp_path / 'maestro.db'}", handlers=handlers, **kwargs)


def drain(maestro, patience=10.0):
    """Works like a worker until nothing is due within `patience` seconds; returns jobs done."""
    done, deadline = 0, time.monotonic() + patience
    while time.monotonic() < deadline:
        if maestro.work_once():
            done += 1
            continue
        due = maestro.next_due()
        if due is None:
            return done
        wait = (due - datetime.now(timezone.utc)).total_seconds()
        if time.monotonic() + wait > deadline:
            return done
        time.sleep(max(wait, 0.01))
    return done
