"""What Maestro does with each file of the compatibility corpus (../shared/corpus).

    python tests/corpus_outcomes.py --write    records them in tests/corpus_expectations.json

An outcome is "deploys", or "refused" with the first problem (line, element,
message) — once as published, once with --force-executable. Any change to the
expectations file is explained in the commit that makes it.
"""
import json
import re
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import engine  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
EXPECTATIONS = Path(__file__).with_name("corpus_expectations.json")
SECONDS_PER_FILE = 20
_ADDRESS = re.compile(r" at 0x[0-9a-f]+")


class TookTooLong(Exception):
    pass


def _alarm(_signum, _frame):
    raise TookTooLong()


@contextmanager
def time_limit(seconds):
    """Raises TookTooLong inside the block once `seconds` have passed (SIGALRM: Unix, main thread)."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)


def outcome(path, force_executable):
    try:
        with time_limit(SECONDS_PER_FILE):
            problems = engine.lint([path], force_executable=force_executable)
    except TookTooLong:
        return f"HUNG (over {SECONDS_PER_FILE} s)"
    if not problems:
        return "deploys"
    first = problems[0]
    return _ADDRESS.sub("", f"refused: {first.line}: {first.element}: {first.message}")


def outcomes():
    results = {}
    for path in sorted(CORPUS.rglob("*.bpmn")):
        results[str(path.relative_to(CORPUS))] = {
            "published": outcome(path, False),
            "forced": outcome(path, True),
        }
    return results


def totals(results):
    published = sum(r["published"] == "deploys" for r in results.values())
    forced = sum(r["forced"] == "deploys" for r in results.values())
    reasons = {}
    for r in results.values():
        if r["forced"] != "deploys":
            reason = r["forced"].split(": ", 3)[-1][:60]
            reasons[reason] = reasons.get(reason, 0) + 1
    return published, forced, sorted(reasons.items(), key=lambda item: -item[1])


if __name__ == "__main__":
    found = outcomes()
    if "--write" in sys.argv:
        EXPECTATIONS.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    published, forced, reasons = totals(found)
    print(f"{len(found)} files: {published} deploy as published, {forced} with --force-executable")
    for reason, count in reasons[:20]:
        print(f"  {count:4}  {reason}")
