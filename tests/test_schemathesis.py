"""Schemathesis against a real `maestro serve` on a loopback port: generated requests for every
operation of /api/openapi.json find no 500 and no answer that contradicts the document.

Bounded: a fixed number of examples per operation, derandomized (the same
requests every run), no shrinking; about a minute on a shared 2-core machine.
"""
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.config import SchemathesisConfig
from serve_helpers import running_serve

from webapp.openapi import document

EXAMPLES_PER_OPERATION = 60


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_serve(tmp_path_factory.mktemp("schemathesis")) as running:
        yield running


# A schema can say what a field looks like, not that a file is a BPMN diagram that deploys (or runs), that a
# draft is one whose process has its key, that a page cursor is one this server handed out, that data fits the
# form of a process or task, or that exactly one of two query parameters is given: for those, the documented
# refusal counts as an answer.
ANSWERS_BEYOND_THE_SCHEMA = {"POST /api/definitions": "422", "GET /api/instances": "400",
                             "PUT /api/drafts/{key}": "400", "POST /api/try": "422", "GET /api/event-paths": "400",
                             "POST /api/definitions/{key}/instances": "422",
                             "POST /api/instances/{instance_id}/tasks/{task}/complete": "422",
                             "GET /api/tasks": "400",
                             # an admin may not disable themselves nor drop their own admin role
                             "PATCH /api/people/{name}": "400"}
ACCEPTED = ["2XX", "404", "409"]
# NUL characters are refused in every text the API takes (tests/test_api_hardening.py shows how);
# the document says so in words, which generators cannot read.
CONFIG = SchemathesisConfig.from_dict({"generation": {"allow-x00": False}, "operations": [
    {"include-name": name, "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, status]}}}
    for name, status in ANSWERS_BEYOND_THE_SCHEMA.items()]})

# Revoking tokens by number would, sooner or later, revoke the one the fuzzer sends (tests/test_access.py
# tests revoking).
schema = schemathesis.openapi.from_dict(document(), config=CONFIG).exclude(method="DELETE", path="/api/tokens/{token_id}")


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_openapi_document(case, server):
    case.call_and_validate(base_url=server["base"], headers=server["headers"])
