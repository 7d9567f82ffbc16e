"""`maestro serve` as a stranger meets it: aborted connections, foreign Host names, browser safety headers.

Each test runs a real server on a loopback port (tests/serve_helpers.py).
"""
import http.client
import json
import re
import signal
import socket
import struct
import subprocess
import sys
import urllib.request

import pytest
from serve_helpers import running_serve
from web_helpers import ROOT, SAGA, signed_in, web_app

BIG_DOCUMENTATION = "x" * (8 * 1024 * 1024)  # the response must outgrow every socket buffer


def _big_diagram():
    """The saga, renamed `big`, carrying 8 MB of documentation."""
    xml = SAGA.read_text(encoding="utf-8").replace('id="order_fulfillment"', 'id="big"')
    return xml.replace("</bpmn:process>", f"<bpmn:documentation>{BIG_DOCUMENTATION}</bpmn:documentation>"
                                          "</bpmn:process>", 1).encode("utf-8")


def _request(server, method, path, body=None, headers=None):
    """(status, headers, body bytes) of one request as the server's admin; HTTP errors are answers too."""
    request = urllib.request.Request(server["base"] + path, data=body, method=method,
                                     headers={**server["headers"], **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def _abort_while_it_answers(server, path):
    """Sends a GET, reads the first bytes of the answer, and closes the socket while the server still writes."""
    port = server["port"]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        client.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                       f"Authorization: Bearer {server['token']}\r\n\r\n".encode())
        assert client.recv(1024).startswith(b"HTTP/1.1 200")
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_serve(tmp_path_factory.mktemp("serve")) as running:
        yield running


def test_a_client_that_hangs_up_mid_answer_does_not_end_the_server(server):
    status, _, body = _request(server, "POST", "/api/definitions?name=big.bpmn", _big_diagram(),
                               {"Content-Type": "application/xml"})
    assert status == 201, body
    for _ in range(3):
        _abort_while_it_answers(server, "/api/definitions/big/xml")
    status, _, body = _request(server, "GET", "/api/definitions/big/xml")
    assert server["process"].poll() is None
    assert status == 200 and BIG_DOCUMENTATION.encode() in body


def test_a_printing_command_piped_into_head_ends_quietly(tmp_path):
    files = [tmp_path / f"entity-{n}.bpmn" for n in range(1500)]  # one line each: more than a pipe holds
    for entity in files:
        entity.write_text('<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY e "e">]><d/>')
    lint = subprocess.Popen([sys.executable, "-m", "engine.cli", "lint", *map(str, files)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert lint.stdout.read(100)  # `| head -c 100`
    lint.stdout.close()
    _, errors = lint.communicate(timeout=60)
    assert lint.returncode == -signal.SIGPIPE and errors == b""


# -- DNS rebinding: the Host header must name this server ------------------------------------------

def _with_host(server, path, host):
    """(status, headers, body) of a GET sent to the server with the given Host header."""
    connection = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=30)
    try:
        connection.request("GET", path, headers={"Host": host, **server["headers"]})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("host", ["localhost:{port}", "LOCALHOST", "127.0.0.1:{port}", "[::1]:{port}"])
def test_the_loopback_names_are_answered(server, host):
    status, _, _ = _with_host(server, "/api/instances", host.format(port=server["port"]))
    assert status == 200


@pytest.mark.parametrize("path, json_answer", [("/api/instances", True), ("/api/openapi.json", True),
                                               ("/processes", False)])
def test_a_foreign_host_name_is_refused(server, path, json_answer):
    status, headers, body = _with_host(server, path, f"rebind.attacker.example:{server['port']}")
    assert status == 421
    if json_answer:
        assert json.loads(body) == {"error": "unknown_host", "message": "this server does not answer to the name "
                                    f"'rebind.attacker.example:{server['port']}': add it to MAESTRO_ALLOWED_HOSTS"}
    else:
        assert headers["Content-Type"].startswith("text/html") and b"MAESTRO_ALLOWED_HOSTS" in body


def test_allowed_host_names_are_configurable(tmp_path, monkeypatch):
    monkeypatch.setenv("MAESTRO_ALLOWED_HOSTS", "maestro.example.com, .corp.example")
    app, _ = web_app(tmp_path)
    client = signed_in(app.test_client())
    answers = {host: client.get("/api/instances", headers={"Host": host}).status_code
               for host in ["maestro.example.com", "ci.corp.example:8080", "localhost", "corp.example.evil"]}
    assert answers == {"maestro.example.com": 200, "ci.corp.example:8080": 200, "localhost": 421,
                       "corp.example.evil": 421}


def test_serve_warns_when_it_listens_beyond_this_machine(tmp_path):
    with running_serve(tmp_path, "--no-worker", host="0.0.0.0") as running:
        status, _, _ = _with_host(running, "/api/instances", f"127.0.0.1:{running['port']}")
    assert status == 200
    assert "warning: listening on 0.0.0.0 lets other machines reach Maestro's sign-in: passwords, tokens and " \
        "session cookies cross the network in clear text" in running["log"].read_text()


def test_serve_on_loopback_prints_no_warning(server):
    assert "warning" not in server["log"].read_text()


# -- what browsers are told -------------------------------------------------------------------------

SAFETY_HEADERS = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


def _page_paths(server):
    """The cockpit's pages, with an instance waiting for a user task: its page follows it and offers to cancel."""
    status, _, body = _request(server, "POST", "/api/definitions/order_approval/instances",
                               b'{"data": {"customer": "ACME"}}', {"Content-Type": "application/json"})
    assert status == 201
    instance = json.loads(body)["id"]
    return ["/processes", "/processes/order_approval", "/instances", f"/instances/{instance}", "/nowhere"]


def test_every_page_forbids_inline_script_framing_and_sniffing(server):
    for path in _page_paths(server):
        _, headers, body = _request(server, "GET", path)
        policy = headers["Content-Security-Policy"]
        assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
        assert {name: headers[name] for name in SAFETY_HEADERS} == SAFETY_HEADERS
        page = body.decode("utf-8")
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == [], path  # the policy would block them
        assert re.findall(r"\son[a-z]+=", page) == [], path


def test_the_definition_xml_is_a_download_a_browser_never_renders(server):
    status, headers, body = _request(server, "GET", "/api/definitions/order_fulfillment/xml?version=1")
    assert status == 200 and body.startswith(b"<?xml")
    assert headers["Content-Disposition"] == 'attachment; filename=order_fulfillment-v1.bpmn'
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"].startswith("sandbox")


def _cookie_attributes(tmp_path, headers):
    """The attributes of the session cookie a fresh app sets on the first page (its form token lives there)."""
    folder = tmp_path / str(len(list(tmp_path.iterdir())))
    folder.mkdir()
    response = signed_in(web_app(folder)[0].test_client()).get("/processes", headers=headers)
    cookie, = [value for name, value in response.headers.items() if name == "Set-Cookie"]
    return {part.strip() for part in cookie.split(";")[1:]}


def test_the_session_cookie_is_same_site_lax_and_secure_over_tls(tmp_path, monkeypatch):
    plain = _cookie_attributes(tmp_path, {})
    assert {"SameSite=Lax", "HttpOnly"} <= plain and "Secure" not in plain
    # Without MAESTRO_TRUSTED_PROXIES the header is anyone's to send, and changes nothing.
    assert "Secure" not in _cookie_attributes(tmp_path, {"X-Forwarded-Proto": "https"})
    monkeypatch.setenv("MAESTRO_TRUSTED_PROXIES", "1")
    assert "Secure" in _cookie_attributes(tmp_path, {"X-Forwarded-Proto": "https"})
    assert "Secure" not in _cookie_attributes(tmp_path, {"X-Forwarded-Proto": "http"})
