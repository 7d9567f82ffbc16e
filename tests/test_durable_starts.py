"""Accepting a start: never one of a version whose specs cannot build, and, in a process that has read no
XML yet (a `maestro start`), no parsing when a start of the same versions was accepted before."""
import pytest
from conftest import FIXTURES
from durable_helpers import DURABLE, drain, fresh_maestro

from engine.durable.store import definitions
from engine.durable.store.models import Definition
from engine.problems import DeployError

BILLING, SHOP = FIXTURES / "dialect_call_billing.bpmn", FIXTURES / "dialect_call_main.bpmn"


@pytest.fixture
def builds(monkeypatch):
    """The keys of the processes whose specs were built (parsed from their XML), in order."""
    built, original = [], definitions.SpecCache.specs

    def counting(cache, session, definition_id, called):
        if not cache.cached(definition_id, called):
            built.append(session.get(Definition, definition_id).key)
        return original(cache, session, definition_id, called)

    monkeypatch.setattr(definitions.SpecCache, "specs", counting)
    return built


def pins(maestro, instance_id):
    """{called process key: its version} that the instance was started with."""
    with maestro.Session() as session:
        called = maestro._row(session, instance_id).called_definitions
        return {key: session.get(Definition, definition_id).version for key, definition_id in called.items()}


def test_a_process_that_read_nothing_parses_only_a_versions_first_start(tmp_path, builds):
    deployer = fresh_maestro(tmp_path)
    deployer.deploy_paths([BILLING])
    deployer.deploy_paths([SHOP])
    builds.clear()  # deploying built them in the deployer

    first = fresh_maestro(tmp_path).start("shop_order")["id"]
    assert builds == ["shop_order"]  # nothing was accepted before: the specs are built first
    second = fresh_maestro(tmp_path).start("shop_order")["id"]
    assert builds == ["shop_order"]  # the same versions were accepted before: no XML read
    assert pins(deployer, first) == pins(deployer, second) == {"shared_billing": 1}

    # A new version of the called process: what the last start proved no longer holds.
    changed = BILLING.read_text().replace('id="shared_billing" isExecutable="true"',
                                          'id="shared_billing" name="Billing v2" isExecutable="true"')
    deployer.deploy([("dialect_call_billing.bpmn", changed.encode())])
    builds.clear()
    third = fresh_maestro(tmp_path).start("shop_order")["id"]
    assert builds == ["shop_order"] and pins(deployer, third) == {"shared_billing": 2}
    fourth = fresh_maestro(tmp_path).start("shop_order")["id"]
    assert builds == ["shop_order"] and pins(deployer, fourth) == {"shared_billing": 2}


def test_a_long_running_engine_builds_a_version_once_and_sees_a_new_called_version(tmp_path, builds):
    maestro = fresh_maestro(tmp_path)
    maestro.deploy_paths([BILLING])
    maestro.deploy_paths([SHOP])
    started = [maestro.start("shop_order")["id"] for _ in range(3)]
    changed = BILLING.read_text().replace('id="shared_billing" isExecutable="true"',
                                          'id="shared_billing" name="Billing v2" isExecutable="true"')
    maestro.deploy([("dialect_call_billing.bpmn", changed.encode())])
    started.append(maestro.start("shop_order")["id"])
    assert [pins(maestro, i) for i in started] == [{"shared_billing": 1}] * 3 + [{"shared_billing": 2}]


def test_a_version_whose_specs_cannot_build_is_never_started_though_an_older_one_was(tmp_path):
    maestro = fresh_maestro(tmp_path)
    maestro.deploy_paths([DURABLE / "approval.bpmn"])
    maestro.start("approval")
    with maestro.Session() as session:  # a version this Maestro cannot read (as a newer one might leave)
        session.add(Definition(key="approval", version=2, name=None, file_name="approval.bpmn",
                               xml="<definitions", content_hash="0" * 64))
        session.commit()
    for engine in (maestro, fresh_maestro(tmp_path), fresh_maestro(tmp_path)):
        with pytest.raises(DeployError):
            engine.start("approval")
    assert [i["version"] for i in maestro.instances()] == [1]
    assert drain(maestro) == 1  # the accepted start runs
