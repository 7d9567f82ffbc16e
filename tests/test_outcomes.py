"""How instances ended and where they failed, as lists and pages see them (issue 16, "outcomes")."""
from pathlib import Path

from durable_helpers import drain, fresh_maestro

from engine import load_handler_module

SAGA = Path(__file__).resolve().parent.parent / "bpmn" / "order_fulfillment"


def saga_maestro(tmp_path, handlers=None):
    maestro = fresh_maestro(tmp_path, handlers or load_handler_module(SAGA / "handlers.py"))
    maestro.deploy_paths([SAGA / "order_fulfillment.bpmn"])
    return maestro


def run(maestro, data, business_key=None):
    instance_id = maestro.start("order_fulfillment", data, business_key)["id"]
    drain(maestro)
    return instance_id


def test_a_rolled_back_saga_completes_with_the_outcome_rolled_back_and_a_happy_one_does_not(tmp_path):
    maestro = saga_maestro(tmp_path)
    happy = run(maestro, {"items": ["book"]})
    rolled_back = run(maestro, {"items": ["book"], "fail_at": "distribution_center"})

    shown = maestro.show(rolled_back)
    assert shown["status"] == "completed"  # the contract: the process reached an end
    assert shown["outcome"] == "rolled_back" and shown["end_event"] == "Order cancelled"
    happy_shown = maestro.show(happy)
    assert happy_shown["status"] == "completed"
    assert happy_shown["outcome"] == "completed" and happy_shown["end_event"] == "Order fulfilled"


def test_an_empty_cart_is_handled_without_undo_so_it_completed_at_its_cancel_end(tmp_path):
    maestro = saga_maestro(tmp_path)
    shown = maestro.show(run(maestro, {"items": []}))
    assert (shown["status"], shown["outcome"], shown["end_event"]) == ("completed", "completed", "Order cancelled")


def test_lists_filter_on_the_outcome_and_counts_say_how_many_rolled_back(tmp_path):
    maestro = saga_maestro(tmp_path)
    happy = run(maestro, {"items": ["book"]})
    rolled_back = [run(maestro, {"items": ["book"], "fail_at": step}) for step in ("stock", "shipping")]

    assert [i["id"] for i in maestro.instances(outcome="rolled_back")] == rolled_back[::-1]  # newest first
    assert [i["id"] for i in maestro.instances(outcome="completed")] == [happy]
    assert len(maestro.instances(status="completed")) == 3
    assert maestro.instance_counts()["order_fulfillment"] == {"completed": 3, "rolled_back": 2}


def test_a_failed_instance_lists_the_element_by_name_with_its_error_and_when(tmp_path):
    maestro = saga_maestro(tmp_path)
    failed = run(maestro, {"items": ["book"], "crash_at": "invoice"})
    listed = maestro.instances(status="failed")[0]
    assert listed["id"] == failed and listed["outcome"] is None
    assert listed["failure"]["element"] == "invoice"
    assert listed["failure"]["name"] == "Create invoice"
    assert "invoice service unavailable" in listed["failure"]["message"]
    assert listed["failure"]["at"] == listed["updated_at"]
    assert listed["retry"] is None  # its tries are used up: an incident


def test_a_task_waiting_to_retry_says_which_try_comes_next_and_when(tmp_path, monkeypatch):
    monkeypatch.setenv("MAESTRO_RETRY_BASE_SECONDS", "1.5")  # the second try comes 1.5 s after the first
    handlers = load_handler_module(SAGA / "handlers.py")
    tries = []
    del handlers.tasks["invoice"]  # this test's invoice service fails once

    @handlers.task("invoice")
    def flaky_invoice(ctx):
        tries.append(ctx.attempt)
        if ctx.attempt == 1:
            raise RuntimeError("invoice service timed out")
        return {"invoice_id": "i-1"}

    maestro = saga_maestro(tmp_path, handlers)
    instance_id = maestro.start("order_fulfillment", {"items": ["book"]})["id"]
    drain(maestro, patience=0.2)  # the first try failed; the second is not due yet
    listed = maestro.instances()[0]
    assert listed["status"] == "running"
    assert listed["retry"]["attempt"] == 2 and listed["retry"]["of"] == 3
    assert listed["retry"]["next_at"] == maestro.next_due().isoformat()
    assert listed["failure"]["name"] == "Create invoice"
    assert maestro.show(instance_id)["retry"] == listed["retry"]

    drain(maestro)
    done = maestro.show(instance_id)
    assert tries == [1, 2]
    assert (done["status"], done["outcome"], done["retry"], done["failure"]) == ("completed", "completed", None, None)


def test_the_migration_fills_in_the_outcomes_of_instances_that_completed_before_it(tmp_path):
    """0016 adds the outcome: a database from before it gets those of its completed instances from history."""
    from alembic import command
    from sqlalchemy import create_engine

    from engine.durable import Maestro
    from engine.durable.store.db import alembic_config

    maestro = saga_maestro(tmp_path)
    happy = run(maestro, {"items": ["book"]})
    rolled_back = run(maestro, {"items": ["book"], "fail_at": "distribution_center"})
    failed = run(maestro, {"items": ["book"], "crash_at": "invoice"})
    url = f"sqlite:///{tmp_path / 'maestro.db'}"
    old = create_engine(url)
    command.downgrade(alembic_config(old), "0015")  # as it was before outcomes were kept
    old.dispose()

    upgraded = Maestro(url)  # connecting migrates 0015 -> head
    outcomes = {shown["id"]: (shown["outcome"], shown["end_event"]) for shown in upgraded.instances()}
    assert outcomes == {happy: ("completed", "Order fulfilled"), rolled_back: ("rolled_back", "Order cancelled"),
                        failed: (None, None)}
    assert [i["id"] for i in upgraded.instances(outcome="rolled_back")] == [rolled_back]


def test_the_command_line_lists_and_shows_the_outcome(tmp_path, capsys, monkeypatch):
    from types import SimpleNamespace

    from engine.cli import durable_commands

    maestro = saga_maestro(tmp_path)
    run(maestro, {"items": ["book"]})
    rolled_back = run(maestro, {"items": ["book"], "fail_at": "stock"})
    durable_commands.print_instance(maestro.show(rolled_back))
    assert f"instance {rolled_back}: completed (rolled back, ended at Order cancelled)" in capsys.readouterr().out
    monkeypatch.setattr(durable_commands, "open_engine", lambda: maestro)  # what `maestro instances` opens
    args = SimpleNamespace(status=None, process=None, limit=50, outcome="rolled_back", json=False)
    durable_commands.instances_command(args)
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 1 and listed[0].startswith(rolled_back) and listed[0].endswith("rolled back")
