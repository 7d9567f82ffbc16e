"""The corpus's compensation files (MIWG's C.6.0 "Simple Travel Booking", as ~15 tools wrote it) run
their rollback as BPMN says, with handlers that do nothing but record that they ran.

The story: a travel request arrives (message start), the offer is approved (a message at an
event-based gateway whose other branches are a message and a timer), Make Booking books the
hotel and the flight in parallel, then Charge Credit Card fails with a business error. Its
error boundary event throws the compensation event "Booking", which starts Make Booking's
compensation event subprocess; that compensates the hotel and the flight: Cancel Hotel and
Cancel Flight run, once each, and the instance ends at "Failed Credit Transaction".
"""
import json

import pytest
from conftest import make_recorder
from corpus_outcomes import CORPUS, EXPECTATIONS
from durable_helpers import delivered, drain, fresh_maestro

from engine import BpmnError

# The tool flattened Make Booking's compensation event subprocess into Make Booking itself (its
# start event lost the compensation trigger and became a second none start event), so the file
# describes another process: the "undo" throws run whenever Make Booking starts.
NOT_C60_ANY_MORE = {"miwg-test-suite/BPMN-Modeler for Confluence Enterprise 3.38.0/C.6.0-export.bpmn"}


def compensation_files():
    if not CORPUS.is_dir():
        return []
    files = [path for path in sorted(CORPUS.rglob("*.bpmn")) if b"compensateEventDefinition" in path.read_bytes()]
    return [str(path.relative_to(CORPUS)) for path in files]


def deploying(files):
    expected = json.loads(EXPECTATIONS.read_text())
    return [name for name in files if expected[name]["forced"] == "deploys"]


def words(text):
    return " ".join((text or "").lower().split())


def test_most_compensation_files_deploy_and_the_others_name_their_defect():
    files = compensation_files()
    assert CORPUS.is_dir(), f"the compatibility corpus is expected at {CORPUS}"
    expected = json.loads(EXPECTATIONS.read_text())
    refused = {name: expected[name]["forced"] for name in files if name not in deploying(files)}
    print(f"\n{len(files)} corpus files use compensation; {len(files) - len(refused)} deploy")
    assert len(files) - len(refused) >= 19
    for name, reason in refused.items():  # each refusal names a line and an element
        line, element = reason.split(": ")[1:3]
        assert int(line) > 0 and element, (name, reason)


@pytest.mark.parametrize("name", [n for n in deploying(compensation_files())
                                  if "C.6.0" in n and n not in NOT_C60_ANY_MORE])
def test_the_travel_booking_is_rolled_back_when_the_card_is_declined(tmp_path, name):
    handlers, calls = make_recorder("book_hotel", "book_flight", "charge_credit_card", "cancel_hotel",
                                    "cancel_flight",
                                    raise_on={"charge_credit_card": BpmnError("CARD_DECLINED")})
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy_paths([CORPUS / name], force_executable=True)

    started = delivered(maestro, "Receive Travel Request")["started"]
    assert len(started) == 1, "the message start event starts the process"
    instance_id = started[0]
    for _ in range(10):  # answer what the instance waits for, as its users would
        drain(maestro)
        shown = maestro.show(instance_id)
        if shown["status"] != "waiting":
            break
        ready = [task for task in shown["waiting"] if task["state"] == "READY"]  # user tasks (Cardanit)
        if ready:
            maestro.complete_task(instance_id, ready[0]["id"])
        else:
            assert delivered(maestro, "Offer Approved")["reached"] == [instance_id], shown["waiting"]

    shown = maestro.show(instance_id)
    assert shown["status"] == "completed", shown["error"] or shown["waiting"]
    assert sorted(calls[:2]) == ["book_flight", "book_hotel"] and calls[2] == "charge_credit_card"
    assert sorted(calls[3:]) == ["cancel_flight", "cancel_hotel"], calls
    tasks = {words(task["name"]): task for task in shown["tasks"] if task["state"] == "COMPLETED"}
    assert tasks["book hotel"]["compensated"] and tasks["book flight"]["compensated"]
    assert tasks["cancel hotel"]["undo_of"] and tasks["cancel flight"]["undo_of"]
    assert "failed credit transaction" in tasks and "booking confirmed" not in tasks
