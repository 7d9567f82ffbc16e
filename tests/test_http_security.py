"""`maestro serve` as a stranger meets it: aborted connections, foreign Host names, browser safety headers.

Each test runs a real server on a loopback port (tests/serve_helpers.py).
"""
import json
import signal
import socket
import struct
import subprocess
import sys
import urllib.request

import pytest

from serve_helpers import running_serve
from web_helpers import ROOT, SAGA

BIG_DOCUMENTATION = "x" * (8 * 1024 * 1024)  # the response must outgrow every socket buffer


def _big_diagram():
    """The saga, renamed `big`, carrying 8 MB of documentation."""
    xml = SAGA.read_text(encoding="utf-8").replace('id="order_fulfillment"', 'id="big"')
    return xml.replace("</bpmn:process>", f"<bpmn:documentation>{BIG_DOCUMENTATION}</bpmn:documentation>"
                                          "</bpmn:process>", 1).encode("utf-8")


def _request(base, method, path, body=None, headers=None):
    """(status, headers, body bytes) of one request; HTTP errors are answers too."""
    request = urllib.request.Request(base + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def _abort_while_it_answers(port, path):
    """Sends a GET, reads the first bytes of the answer, and closes the socket while the server still writes."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        client.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        assert client.recv(1024).startswith(b"HTTP/1.1 200")
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_serve(tmp_path_factory.mktemp("serve")) as running:
        yield running


def test_a_client_that_hangs_up_mid_answer_does_not_end_the_server(server):
    status, _, body = _request(server["base"], "POST", "/api/definitions?name=big.bpmn", _big_diagram(),
                               {"Content-Type": "application/xml"})
    assert status == 201, body
    for _ in range(3):
        _abort_while_it_answers(server["port"], "/api/definitions/big/xml")
    status, _, body = _request(server["base"], "GET", "/api/definitions/big/xml")
    assert server["process"].poll() is None
    assert status == 200 and BIG_DOCUMENTATION.encode() in body


def test_a_printing_command_piped_into_head_ends_quietly(tmp_path):
    entity = tmp_path / "entity.bpmn"
    entity.write_text('<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY e "e">]><d/>')
    lint = subprocess.Popen([sys.executable, "-m", "engine.cli", "lint", *[str(entity)] * 3000], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert lint.stdout.read(100)  # `| head -c 100`
    lint.stdout.close()
    _, errors = lint.communicate(timeout=60)
    assert lint.returncode == -signal.SIGPIPE and errors == b""
