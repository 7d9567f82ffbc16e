"""Starts that arrive together share one transaction (engine/durable/group_commit.py): each gets its
own instance, a refused one refuses only itself, and a failed write leaves nothing half-written."""
import threading

import pytest
from durable_helpers import DURABLE, drain, fresh_maestro
from sqlalchemy import func, select

from engine.durable import NotFound
from engine.durable.group_commit import GroupCommit
from engine.durable.store.models import Instance, Job


def _starting_together(maestro, keys):
    """Starts of `keys` from as many threads, released at once: {key index: answer or error}."""
    gate, answers = threading.Barrier(len(keys)), {}

    def start(number, key):
        gate.wait()
        try:
            answers[number] = maestro.start(key, {"n": number})
        except Exception as error:  # noqa: BLE001 (what the test looks at)
            answers[number] = error

    threads = [threading.Thread(target=start, args=(number, key)) for number, key in enumerate(keys)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def _counts(maestro):
    with maestro.engine.connect() as connection:
        return (connection.scalar(select(func.count()).select_from(Instance)),
                connection.scalar(select(func.count()).select_from(Job)))


def test_starts_together_each_get_an_instance_and_a_refused_one_refuses_only_itself(tmp_path, recorder):
    handlers, calls = recorder("ship", "reject")
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy([("approval.bpmn", (DURABLE / "approval.bpmn").read_bytes())])
    keys = ["approval"] * 7 + ["nothing_like_it"]
    answers = _starting_together(maestro, keys)

    refused = answers.pop(7)
    assert isinstance(refused, NotFound) and "nothing_like_it" in str(refused)
    ids = {answer["id"] for answer in answers.values()}
    assert len(ids) == 7 and _counts(maestro) == (7, 7)
    drain(maestro)
    assert sorted(maestro.show(instance_id)["data"]["n"] for instance_id in ids) == list(range(7))
    assert {maestro.show(instance_id)["status"] for instance_id in ids} == {"waiting"}


def test_a_write_that_fails_rolls_the_whole_group_back(tmp_path):
    maestro = fresh_maestro(tmp_path)
    with maestro.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE written (writer TEXT)")
    group = GroupCommit(maestro.engine)
    entered, release = threading.Event(), threading.Event()
    outcomes = {}

    def first_write(connection, _checked):
        connection.exec_driver_sql("INSERT INTO written VALUES ('first')")
        entered.set()
        release.wait(5)  # the others queue up behind this commit meanwhile
        return "first"

    def failing_write(connection, _checked):
        connection.exec_driver_sql("INSERT INTO written VALUES ('failing')")
        raise RuntimeError("the disk is full")

    def ok_write(connection, _checked):
        connection.exec_driver_sql("INSERT INTO written VALUES ('ok')")
        return "ok"

    def run(name, write):
        try:
            outcomes[name] = group.run(lambda connection: None, write)
        except RuntimeError as error:
            outcomes[name] = str(error)

    leader = threading.Thread(target=run, args=("first", first_write))
    leader.start()
    entered.wait(5)
    followers = [threading.Thread(target=run, args=("failing", failing_write)),
                 threading.Thread(target=run, args=("ok", ok_write))]
    for thread in followers:
        thread.start()
    while len(group._waiting) < 2:
        threading.Event().wait(0.01)
    release.set()
    for thread in [leader, *followers]:
        thread.join()

    assert outcomes == {"first": "first", "failing": "the disk is full", "ok": "the disk is full"}
    with maestro.engine.connect() as connection:
        written = [name for (name,) in connection.exec_driver_sql("SELECT writer FROM written")]
    assert written == ["first"]  # its own commit, before the others queued behind it


@pytest.mark.parametrize("count", [1, 3])
def test_a_lone_start_and_a_few_commit_as_before(tmp_path, count, recorder):
    handlers, _calls = recorder("ship", "reject")
    maestro = fresh_maestro(tmp_path, handlers)
    maestro.deploy([("approval.bpmn", (DURABLE / "approval.bpmn").read_bytes())])
    answers = _starting_together(maestro, ["approval"] * count)
    assert len({answer["id"] for answer in answers.values()}) == count
    assert _counts(maestro) == (count, count)
