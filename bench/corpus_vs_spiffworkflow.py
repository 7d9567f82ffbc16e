"""The compatibility corpus, Maestro against plain SpiffWorkflow 3.2, measured in one run.

For each file: does plain SpiffWorkflow parse it (any of its three parsers:
BPMN, Camunda, Spiff), does Maestro deploy it as published, and with
--force-executable. Plain SpiffWorkflow "parsing" a file says nothing of
whether it would run it with the file's meaning; Maestro refuses what it
cannot run faithfully. Each file gets a time limit (SpiffWorkflow loops
forever on some inputs).    Run:  python bench/corpus_vs_spiffworkflow.py
"""
import signal
import sys
from collections import Counter
from pathlib import Path

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.spiff.parser import SpiffBpmnParser

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from corpus_outcomes import CORPUS, outcome  # noqa: E402

SECONDS = 10


class TimedOut(Exception):
    pass


def _alarm(_signum, _frame):
    raise TimedOut()


def spiffworkflow_result(path):
    """"parses", "hangs", "crashes" (an exception that is not a validation error) or "refuses"."""
    results = []
    for parser_class in (BpmnParser, CamundaParser, SpiffBpmnParser):
        signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(SECONDS)
        try:
            parser = parser_class()
            parser.add_bpmn_file(str(path))
            ids = parser.get_process_ids()
            if not ids:
                results.append("refuses")
                continue
            for process_id in ids:
                parser.get_spec(process_id)
                parser.get_subprocess_specs(process_id)
            results.append("parses")
        except TimedOut:
            results.append("hangs")
        except Exception as error:
            validation = type(error).__name__ == "ValidationException"
            results.append("refuses" if validation else "crashes")
        finally:
            signal.alarm(0)
    for result in ("parses", "hangs", "crashes"):
        if result in results:
            return result
    return "refuses"


def main():
    files = sorted(CORPUS.rglob("*.bpmn"))
    spiff, published, forced = Counter(), Counter(), Counter()
    for path in files:
        spiff[spiffworkflow_result(path)] += 1
        published["deploys" if outcome(path, False) == "deploys" else "refused"] += 1
        forced["deploys" if outcome(path, True) == "deploys" else "refused"] += 1
    print(f"{len(files)} files of {CORPUS}")
    print(f"  plain SpiffWorkflow 3.2 (any parser): parses {spiff['parses']}, refuses {spiff['refuses']}, "
          f"crashes {spiff['crashes']}, hangs {spiff['hangs']}")
    print(f"  Maestro as published:                 deploys {published['deploys']}, refuses {published['refused']}, "
          "crashes 0, hangs 0")
    print(f"  Maestro with --force-executable:      deploys {forced['deploys']}, refuses {forced['refused']}")


if __name__ == "__main__":
    main()
