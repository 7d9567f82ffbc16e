"""The compatibility corpus: every real-world file deploys or is refused with a reason, as recorded.

A change of outcome fails here until tests/corpus_expectations.json is
rewritten (python tests/corpus_outcomes.py --write) and the commit says why.
"""
import json

from corpus_outcomes import CORPUS, EXPECTATIONS, outcomes, totals


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
