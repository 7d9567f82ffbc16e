"""The compatibility corpus, Maestro against plain SpiffWorkflow 3.2, measured in one run.

For each file: does plain SpiffWorkflow parse it (any of its three parsers:
BPMN, Camunda, Spiff), does Maestro deploy it as published, and with
--force-executable. Plain SpiffWorkflow "parsing" a file says nothing of
whether it would run it with the file's meaning; Maestro refuses what it
cannot run faithfully. Each file gets a time limit (SpiffWorkflow loops
forever on some inputs).    Run:  python bench/corpus_vs_spiffworkflow.py
"""
import re
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
    """(result, reason): result is "parses" (by any parser), else "hangs", "crashes" (an exception
    that is not a validation error) or "refuses"; reason is the message of the first parser that
    ended so, with ids and names blanked out."""
    results = []  # (result, reason) per parser
    for parser_class in (BpmnParser, CamundaParser, SpiffBpmnParser):
        signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(SECONDS)
        try:
            parser = parser_class()
            parser.add_bpmn_file(str(path))
            ids = parser.get_process_ids()
            if not ids:
                results.append(("refuses", "no executable process"))
                continue
            for process_id in ids:
                parser.get_spec(process_id)
                parser.get_subprocess_specs(process_id)
            results.append(("parses", ""))
        except TimedOut:
            results.append(("hangs", f"over {SECONDS} s"))
        except Exception as error:
            validation = type(error).__name__ == "ValidationException"
            results.append(("refuses" if validation else "crashes", _reason(error, validation)))
        finally:
            signal.alarm(0)
    for wanted in ("parses", "hangs", "crashes", "refuses"):
        for result, reason in results:
            if result == wanted:
                return result, reason


def _reason(error, validation):
    message = str(error).split("\n")[0].strip() if validation else f"{type(error).__name__}: {error}"
    message = _ELEMENT.sub("<…>", _NAMED.sub("with name … has", _QUOTED.sub("'…'", message)))
    return _IDS.sub("…", message)[:90]


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_NAMED = re.compile(r"with name .* has")
_ELEMENT = re.compile(r"<Element .*")
_IDS = re.compile(r"\b\w*[_-]\w*\d\w*\b")


def _print_reasons(title, reasons, top=12):
    print(f"  {title}:")
    for reason, count in reasons.most_common(top):
        print(f"    {count:4}  {reason}")


def main():
    files = sorted(CORPUS.rglob("*.bpmn"))
    spiff, published, forced = Counter(), Counter(), Counter()
    spiff_reasons, maestro_reasons = {"refuses": Counter(), "crashes": Counter()}, Counter()
    for path in files:
        result, reason = spiffworkflow_result(path)
        spiff[result] += 1
        if result in spiff_reasons:
            spiff_reasons[result][reason] += 1
        published["deploys" if outcome(path, False) == "deploys" else "refused"] += 1
        forced_outcome = outcome(path, True)
        forced["deploys" if forced_outcome == "deploys" else "refused"] += 1
        if forced_outcome != "deploys":
            maestro_reasons[_QUOTED.sub("'…'", forced_outcome.split(": ", 3)[-1])[:90]] += 1
    print(f"{len(files)} files of {CORPUS}")
    print(f"  plain SpiffWorkflow 3.2 (any parser): parses {spiff['parses']}, refuses {spiff['refuses']}, "
          f"crashes {spiff['crashes']}, hangs {spiff['hangs']}")
    print(f"  Maestro as published:                 deploys {published['deploys']}, refuses {published['refused']}, "
          "crashes 0, hangs 0")
    print(f"  Maestro with --force-executable:      deploys {forced['deploys']}, refuses {forced['refused']}")
    _print_reasons("SpiffWorkflow refuses", spiff_reasons["refuses"])
    _print_reasons("SpiffWorkflow crashes", spiff_reasons["crashes"])
    _print_reasons("Maestro --force-executable refuses", maestro_reasons)


if __name__ == "__main__":
    main()
