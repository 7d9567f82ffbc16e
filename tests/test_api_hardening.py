"""Hostile client input gets a 4xx JSON error naming what is wrong, never a 500, and changes nothing.

Run over SQLite and a real PostgreSQL server: PostgreSQL refuses NUL
characters, lone surrogates and over-long strings that SQLite stores, so the
API must refuse them itself.
"""
import io
import re

import pytest
from postgres_server import PostgresServer
from web_helpers import SAGA, processes_folder, signed_in

from engine.durable import Maestro
from engine.durable.startup import load_processes
from webapp import create_app

START = "/api/definitions/order_fulfillment/instances"
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def client(request, tmp_path_factory):
    """A test client of the app over a database holding the deployed saga and no instance."""
    folder = tmp_path_factory.mktemp(request.param)
    server = PostgresServer().start() if request.param == "postgresql" else None
    url = server.url if server else f"sqlite:///{folder / 'maestro.db'}"
    handlers, _ = load_processes(processes_folder(folder))
    maestro = Maestro(url, handlers=handlers)
    try:
        client = signed_in(create_app(maestro, secret_key="test").test_client())
        assert client.post("/api/definitions?name=saga.bpmn", data=SAGA.read_bytes()).status_code == 201
        yield client
    finally:
        maestro.engine.dispose()
        if server:
            server.stop()


def _raw_json(text):
    return {"data": text.encode("utf-8"), "content_type": "application/json"}


# (what, method, path, request keywords, status, words the message must hold)
REFUSALS = [
    ("huge version", "GET", "/api/definitions/order_fulfillment/xml?version=99999999999999999999", {}, 400,
     "version must be between 1 and"),
    ("version zero", "GET", "/api/definitions/order_fulfillment/xml?version=0", {}, 400, "version must be between"),
    ("huge limit", "GET", "/api/instances?limit=99999999999999999999", {}, 400, "limit must be between 1 and 500"),
    ("unknown status", "GET", "/api/instances?status=nope", {}, 400, "status must be one of running"),
    ("deep JSON", "POST", START, _raw_json(DEEP), 400, "deeper than 100 levels"),
    ("deep JSON in data", "POST", START, _raw_json('{"data": {"a": ' + DEEP + "}}"), 400, "deeper than 100 levels"),
    ("lone surrogate", "POST", START, _raw_json('{"data": {"name": "\\ud800"}}'), 400,
     "'data.name' in the request body contains a lone surrogate (\\ud800)"),
    ("lone surrogate key", "POST", START, _raw_json('{"business_key": "a\\udfff"}'), 400,
     "'business_key' in the request body contains a lone surrogate"),
    ("NUL in data", "POST", START, _raw_json('{"data": {"note": "a\\u0000b"}}'), 400,
     "'data.note' in the request body contains a NUL character"),
    ("NUL in a name", "POST", START, _raw_json('{"data": {"a\\u0000": 1}}'), 400, "a name in 'data'"),
    ("NaN", "POST", START, _raw_json('{"data": {"amount": NaN}}'), 400, "holds NaN, which JSON does not have"),
    ("Infinity", "POST", START, _raw_json('{"data": {"amount": -Infinity}}'), 400, "holds -Infinity"),
    ("1e999", "POST", START, _raw_json('{"data": {"amount": 1e999}}'), 400, "'data.amount' in the request body is inf"),
    ("over-long business key", "POST", START, {"json": {"business_key": "k" * 256}}, 400,
     "256 characters long; at most 255 are kept"),
    ("not UTF-8", "POST", START, {"data": b'{"data": {"a": "\xff"}}', "content_type": "application/json"}, 400,
     "not UTF-8 text"),
    ("not JSON", "POST", START, _raw_json("{data"), 400, "not valid JSON"),
    ("not an object", "POST", START, _raw_json("[1]"), 400, "must be a JSON object"),
    ("NUL in a path", "GET", "/api/instances/a%00b", {}, 400, "'instance_id' contains a NUL character"),
    ("NUL in a query", "GET", "/api/instances?business_key=%00", {}, 400, "'business_key' contains a NUL"),
    ("NUL in a message", "POST", "/api/messages", {"json": {"name": "paid\x00"}}, 400, "contains a NUL character"),
    ("NaN in a completion", "POST", "/api/instances/x/tasks/y/complete", _raw_json('{"data": {"a": NaN}}'), 400,
     "holds NaN"),
    ("NUL in a file name", "POST", "/api/definitions?name=a%00.bpmn", {"data": SAGA.read_bytes()}, 400,
     "'name' contains a NUL"),
]


@pytest.mark.parametrize("what, method, path, keywords, status, words", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_hostile_input_is_a_client_error_naming_what_is_wrong(client, what, method, path, keywords, status, words):
    response = client.open(path, method=method, **keywords)
    assert (response.status_code, response.is_json) == (status, True), response.data[:300]
    assert words in response.get_json()["message"]
    assert client.get("/api/instances?key=order_fulfillment").get_json()["instances"] == []  # nothing half-written


@pytest.mark.parametrize("path, method", [("/api/definitions", "PUT"), ("/api/instances", "DELETE"),
                                          ("/processes", "PATCH")])
def test_a_method_not_allowed_says_which_are(client, path, method):
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert {"GET"} <= {allowed.strip() for allowed in response.headers["Allow"].split(",")}


LATIN_1 = ('<?xml version="1.0" encoding="{encoding}"?>\n'
           '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">\n'
           '<bpmn:process id="{key}" name="Bestellung für Müller" isExecutable="true">'
           '<bpmn:startEvent id="s"/></bpmn:process></bpmn:definitions>')


@pytest.mark.parametrize("encoding, codec", [("ISO-8859-1", "latin-1"), ("UTF-16", "utf-16"),
                                             ("UTF-16", "utf-16-be"), ("windows-1252", "cp1252")])
def test_a_bpmn_file_in_another_encoding_deploys_with_its_text(client, encoding, codec):
    key = f"p_{codec.replace('-', '_')}"
    upload = LATIN_1.format(encoding=encoding, key=key).encode(codec)
    response = client.post("/api/definitions?name=latin.bpmn", data=upload, content_type="application/xml")
    assert response.status_code == 201, response.data
    assert response.get_json()["name"] == "Bestellung für Müller"
    served = client.get(f"/api/definitions/{key}/xml").data.decode("utf-8")
    assert served.splitlines()[1:] == LATIN_1.format(encoding=encoding, key=key).splitlines()[1:]
    started = client.post(f"/api/definitions/{key}/instances", json={"business_key": "ü" * 255})
    assert started.status_code == 201


def test_a_file_with_an_entity_in_utf16_is_refused_with_its_line(client):
    upload = ('<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE d [\n<!ENTITY e SYSTEM "file:///etc/passwd">\n]>'
              '<d>&e;</d>').encode("utf-16")
    response = client.post("/api/definitions", data={"file": [(io.BytesIO(upload), "x.bpmn")]})
    assert response.status_code == 422
    problem, = response.get_json()["errors"]
    assert problem["line"] == 3 and "entity declarations are not allowed" in problem["message"]
    assert "x.bpmn" not in {definition["file_name"] for definition in client.get("/api/definitions").get_json()}


@pytest.mark.parametrize("upload, words", [
    (b"<data></data>", "not a BPMN file: its root element is <data>"),
    (b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t"/>',
     "the file holds no process: nothing to deploy")])
def test_an_upload_that_would_deploy_nothing_says_so(client, upload, words):
    response = client.post("/api/definitions?name=empty.bpmn", data=upload, content_type="application/xml")
    assert response.status_code == 422
    problem, = response.get_json()["errors"]
    assert (problem["file"], problem["line"]) == ("empty.bpmn", 1) and words in problem["message"]


@pytest.mark.parametrize("typed, words", [
    ('{"amount": NaN}', "NaN is not a JSON value"),
    ('{"note": "a\\u0000b"}', "'note' in the form contains a NUL character"),
    ('{"note": "\\udc00"}', "'note' in the form contains a lone surrogate"),
    ('{"deep": ' + DEEP + "}", "nested too deep"),
])
def test_a_start_form_with_what_no_database_stores_is_shown_again_with_why(client, typed, words):
    page = client.get("/processes/order_fulfillment").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    response = client.post("/processes/order_fulfillment/start", data={"csrf_token": token, "data": typed})
    assert response.status_code == 400 and words in response.get_data(as_text=True).replace("&#39;", "'")
    assert client.get("/api/instances?key=order_fulfillment").get_json()["instances"] == []
