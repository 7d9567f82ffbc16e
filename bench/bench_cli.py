"""Benchmark: the wall time of `maestro` commands that do not serve, each in a fresh process as a user runs it.

Against a real SQLite database holding the deployed seed saga and some instances (completed ones,
with their history and logged steps, and started ones), each round runs every command once, in
turn: `start`, `instances`, `instances --json`, `show ID` (a completed saga: its snapshot loaded and
steps replayed), `lint` of the saga and `--help`; and, as the baseline measured in the same run,
`python -c pass` (starting the interpreter). It prints each command's median wall time, its ratio
to the baseline, and whether it meets the target of < 0.4 s. `import sqlalchemy.orm` is timed too:
what the database layer's import alone costs on this machine, a floor for every database command.

Commands read compiled bytecode, as an installed Maestro does (kept in a private cache folder, filled
by a first round that is not counted), even where PYTHONDONTWRITEBYTECODE is set.
`--before REV` also times the same commands on the code of git revision REV (its engine and webapp,
exported to a temporary folder), in the same rounds, for a before/after.

Run:  python bench/bench_cli.py [--quick] [--rounds N] [--before REV]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_runtime import SAGA, SAGA_TOPICS, noop  # noqa: E402

TARGET_SECONDS = 0.4


def prepared_database(folder, completed, started):
    """A SQLite file with the saga deployed, `completed` instances run to the end and `started` waiting
    for a worker; returns (database URL, the id of a completed instance)."""
    from engine import Handlers, Maestro
    handlers = Handlers()
    for topic in SAGA_TOPICS:
        handlers.task(topic)(noop)
    url = f"sqlite:///{folder / 'maestro.db'}"
    maestro = Maestro(url, handlers=handlers)
    maestro.deploy_paths([SAGA])
    done = [maestro.start("order_fulfillment", {"n": n}, f"order-{n}")["id"] for n in range(completed)]
    while maestro.work_batch():
        pass
    for n in range(started):
        maestro.start("order_fulfillment", {"n": n}, f"later-{n}")
    maestro.engine.dispose()
    return url, done[-1]


def commands(shown_id):
    """(label, arguments after `python`) of what each round runs, the baselines first."""
    cli = ["-m", "engine.cli"]
    return [
        ("python -c pass (baseline)", ["-c", "pass"]),
        ("import sqlalchemy.orm (floor)", ["-c", "import sqlalchemy.orm"]),
        ("maestro start", [*cli, "start", "order_fulfillment", "--data", '{"amount": 1}']),
        ("maestro instances", [*cli, "instances"]),
        ("maestro instances --json", [*cli, "instances", "--json", "--status", "completed"]),
        ("maestro show ID", [*cli, "show", shown_id]),
        ("maestro lint", [*cli, "lint", str(SAGA)]),
        ("maestro --help", [*cli, "--help"]),
    ]


def exported(revision, folder):
    """The engine and webapp packages of git revision `revision`, written under `folder` (the repository
    is only read)."""
    folder.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "engine", "webapp"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def environment(url, pycache, source=None):
    env = dict(os.environ, MAESTRO_DATABASE_URL=url, PYTHONPYCACHEPREFIX=str(pycache))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if source is not None:  # that checkout's engine and webapp before this one's (installed editable)
        env["PYTHONPATH"] = str(source)
    return env


def timed(arguments, env, cwd):
    began = time.perf_counter()
    result = subprocess.run([sys.executable, *arguments], env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, timeout=120)
    seconds = time.perf_counter() - began
    if result.returncode != 0:
        sys.exit(f"{' '.join(arguments)} failed ({result.returncode}): {result.stderr.strip()}")
    return seconds


def measure(todo, envs, rounds, cwd):
    """{(variant, label): [seconds per round]}; each round runs everything once, in turn, after one
    round that is not counted (it fills the bytecode cache)."""
    times = {(variant, label): [] for variant in envs for label, _ in todo}
    for round_number in range(rounds + 1):
        for variant, env in envs.items():
            for label, arguments in todo:
                seconds = timed(arguments, env, cwd)
                if round_number:
                    times[variant, label].append(seconds)
    return times


def report(times, envs, todo, rounds):
    baseline = {variant: statistics.median(times[variant, todo[0][0]]) for variant in envs}
    print(f"median wall time of {rounds} rounds, each command in a fresh process; ratio = / `python -c pass`")
    header = f"{'command':<32} {'seconds':>8} {'ratio':>7}  target < {TARGET_SECONDS} s"
    if "before" in envs:
        header += f"   {'before':>7} {'ratio':>7}  speed-up"
    print(header)
    for label, _ in todo:
        median = statistics.median(times["this", label])
        line = f"{label:<32} {median:8.3f} {median / baseline['this']:7.1f}"
        if label.startswith("maestro"):
            line += "  " + ("met" if median < TARGET_SECONDS else "not met")
        if "before" in envs:
            before = statistics.median(times["before", label])
            line = f"{line:<64} {before:7.3f} {before / baseline['before']:7.1f}"
            if label.startswith("maestro"):
                line += f"  {before / median:6.1f}x"
        print(line)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 rounds, a small database")
    parser.add_argument("--rounds", type=int, help="rounds to take the median of (default 7, --quick 2)")
    parser.add_argument("--before", metavar="REV", help="also time the code of git revision REV (e.g. main)")
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 7)
    with tempfile.TemporaryDirectory(prefix="bench_cli_") as scratch:
        folder = Path(scratch)
        completed, started = (20, 10) if args.quick else (200, 100)
        url, shown_id = prepared_database(folder, completed, started)
        print(f"database: the saga, {completed} completed and {started} started instances (SQLite)")
        envs = {"this": environment(url, folder / "pycache")}
        if args.before:
            envs["before"] = environment(url, folder / "pycache_before", exported(args.before, folder / "before"))
        todo = commands(shown_id)
        report(measure(todo, envs, rounds, folder), envs, todo, rounds)


if __name__ == "__main__":
    main()
