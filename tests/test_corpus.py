"""The compatibility corpus: every real-world file deploys or is refused with a reason, as recorded.

A change of outcome fails here until tests/corpus_expectations.json is
rewritten (python tests/corpus_outcomes.py --write) and the commit says why.
"""
import json

from corpus_outcomes import CORPUS, EXPECTATIONS, SECONDS_PER_FILE, outcomes, time_limit, totals

import engine
from engine import Handlers


def test_every_corpus_file_ends_as_recorded(capsys):
    assert CORPUS.is_dir(), f"the compatibility corpus is expected at {CORPUS} (shared/ beside the repository)"
    expected = json.loads(EXPECTATIONS.read_text())
    found = outcomes()
    published, forced, reasons = totals(found)
    with capsys.disabled():
        print(f"\ncorpus: {len(found)} files; {published} deploy as published, "
              f"{forced} with --force-executable; refused (forced) by reason:")
        for reason, count in reasons[:12]:
            print(f"  {count:4}  {reason}")
    assert set(found) == set(expected), "files were added to or removed from the corpus"
    changed = {name: (expected[name], found[name]) for name in found if found[name] != expected[name]}
    assert not changed, json.dumps(dict(list(changed.items())[:10]), indent=1)
    assert not any(r["forced"].startswith("HUNG") or r["published"].startswith("HUNG") for r in found.values())


class EveryTopic(Handlers):
    """A handler for every service task, doing nothing: the diagram alone decides what happens."""

    def task_for(self, topic):
        return lambda ctx: {}


def test_every_deployed_process_runs_to_its_end_a_wait_or_a_failure_it_names():
    """Deploying promises the file runs: no crash, no hang, no instance waiting with nothing to wait for
    (as a subprocess whose flows a tool wrote outside it was). A failure is allowed (the corpus's
    scripts read variables nobody set), as an incident with its message."""
    expected = json.loads(EXPECTATIONS.read_text())
    ended = {}
    for name in sorted(n for n, outcome in expected.items() if outcome["forced"] == "deploys"):
        library = engine.load([str(CORPUS / name)], force_executable=True)
        for process_id in library.executable_process_ids():
            if not library._is_top_level(process_id):
                continue
            with time_limit(SECONDS_PER_FILE):
                instance = engine.Instance.create(library, EveryTopic(), {}, process_id).run()
            status = instance.status
            assert status != "waiting" or instance.waiting_tasks(), f"{name}: {process_id} waits for nothing"
            assert status != "failed" or instance.error["message"], name
            ended[status] = ended.get(status, 0) + 1
    print(f"\ncorpus processes run with do-nothing handlers: {ended}")
    assert ended.get("completed", 0) > 250 and ended.get("waiting", 0) > 150


def test_a_declared_data_input_nobody_set_fails_naming_it():
    cardanit_c81 = CORPUS / "miwg-test-suite" / "Cardanit (prev. BeePMN) 4.9.1" / "C.8.1-roundtrip.bpmn"
    instance = engine.run(cardanit_c81, EveryTopic(), force_executable=True)
    assert instance.status == "failed"
    assert instance.error["message"] == ("the activity declares the data input 'Fixed input' (ioSpecification), "
                                         "but no variable '_8fd43f87-3dd6-47b2-bbe9-39d66e7fe316' is set")
