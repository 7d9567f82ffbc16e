"""Untrusted XML: no entity expansion, no file or network access, bounded size and depth."""
import time
from pathlib import Path

import pytest

import engine

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
XXE_PROBES = ["sample-process-models/misc/test/a101/invoice.bpmn",
              "sample-process-models/misc/test/a102/invoice.bpmn",
              "sample-process-models/misc/service-tests/testing-sec/test/test.bpmn"]

BILLION_LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n' + "".join(
    f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10)) +
    ']>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" '
    'targetNamespace="t"><bpmn:process id="p" name="&lol9;" isExecutable="true">'
    '<bpmn:startEvent id="s"/></bpmn:process></bpmn:definitions>')


@pytest.mark.parametrize("probe", XXE_PROBES)
def test_external_entity_probes_from_the_corpus_are_refused(probe):
    problems = engine.lint([CORPUS / probe])
    assert len(problems) == 1
    assert "entity declarations are not allowed" in problems[0].message and problems[0].line > 0


def test_billion_laughs_is_refused_quickly():
    began = time.perf_counter()
    with pytest.raises(engine.DeployError) as raised:
        engine.load(BILLION_LAUGHS)
    assert time.perf_counter() - began < 1.0
    problem, = raised.value.problems
    assert "entity declarations are not allowed" in problem.message and problem.line == 3


def test_absurdly_deep_nesting_is_refused_as_malformed():
    deep = ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">'
            + "<x>" * 5000 + "</x>" * 5000 + "</bpmn:definitions>")
    with pytest.raises(engine.DeployError) as raised:
        engine.load(deep)
    assert "not well-formed" in raised.value.problems[0].message


def test_oversized_files_are_refused_before_parsing():
    from engine.parser import MAX_XML_BYTES
    huge = b"<a>" + b" " * (MAX_XML_BYTES + 1) + b"</a>"
    with pytest.raises(engine.DeployError) as raised:
        engine.load(huge)
    assert "larger than" in raised.value.problems[0].message
