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
    from engine.read.untrusted_xml import MAX_XML_BYTES
    huge = b"<a>" + b" " * (MAX_XML_BYTES + 1) + b"</a>"
    with pytest.raises(engine.DeployError) as raised:
        engine.load(huge)
    assert "larger than" in raised.value.problems[0].message


# (encoding named in the XML declaration, Python codec writing the bytes): byte-order marks, none, 8-bit.
ENCODINGS = [("UTF-16", "utf-16"), ("UTF-16", "utf-16-le"), ("UTF-16", "utf-16-be"), ("UTF-32", "utf-32"),
             ("UTF-32", "utf-32-be"), ("UTF-8", "utf-8-sig"), ("ISO-8859-1", "latin-1"), ("windows-1252", "cp1252")]
EXTERNAL_ENTITY = ('<?xml version="1.0"?>\n<!DOCTYPE d [\n<!ENTITY % secret SYSTEM "file:///etc/passwd">\n]>\n'
                   '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" '
                   'targetNamespace="t"><bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s"/>'
                   '</bpmn:process></bpmn:definitions>')


def _encoded(document, declared, codec):
    """[(file name, bytes)] of the document written in `codec`, its XML declaration naming `declared`."""
    data = document.replace('<?xml version="1.0"?>', f'<?xml version="1.0" encoding="{declared}"?>').encode(codec)
    return [("upload.bpmn", data)]


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "parameter-entity"])
@pytest.mark.parametrize("declared, codec", ENCODINGS, ids=[codec for _, codec in ENCODINGS])
def test_entity_declarations_are_refused_in_every_encoding(document, declared, codec):
    with pytest.raises(engine.DeployError) as raised:
        engine.load(_encoded(document, declared, codec))
    problem, = raised.value.problems
    assert "entity declarations are not allowed" in problem.message and problem.line == 3


def test_an_ebcdic_document_is_refused_naming_its_encoding():
    with pytest.raises(engine.DeployError) as raised:
        engine.load(_encoded(EXTERNAL_ENTITY, "IBM037", "cp037"))
    problem, = raised.value.problems
    assert "EBCDIC" in problem.message or "entity declarations are not allowed" in problem.message


LATIN_1_PROCESS = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n'
                   '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" '
                   'targetNamespace="t">\n<bpmn:process id="p" name="Bestellung für Müller" isExecutable="true">'
                   '<bpmn:startEvent id="s"/></bpmn:process></bpmn:definitions>')


@pytest.mark.parametrize("declared, codec", ENCODINGS, ids=[codec for _, codec in ENCODINGS])
def test_a_file_in_any_encoding_is_stored_as_the_same_document_in_utf8(declared, codec):
    from engine.read.untrusted_xml import as_utf8
    stored = as_utf8(LATIN_1_PROCESS.replace("ISO-8859-1", declared).encode(codec))
    assert stored.decode("utf-8").splitlines()[1:] == LATIN_1_PROCESS.splitlines()[1:]
    assert stored.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    assert engine.load(stored).build("p")  # reads back with its meaning
