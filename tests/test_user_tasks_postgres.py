"""User tasks on PostgreSQL: the user_tasks table follows the instances (its JSON lists, its
insert-if-absent) and of many claims at once on one task, one wins."""
import threading
from pathlib import Path

import pytest
from durable_helpers import drain
from postgres_server import PostgresServer

from engine.durable import Maestro, TaskTaken

TASKS = Path(__file__).parent / "fixtures" / "tasks"


@pytest.fixture(scope="module")
def postgres():
    server = PostgresServer().start()
    yield server
    server.stop()


def test_the_lists_and_claims_on_postgresql(postgres):
    maestro = Maestro(postgres.url)
    maestro.deploy_paths([TASKS / "assigned_camunda8.bpmn"])
    instance_id = maestro.start("assigned_camunda8", {"teams": ["claims"], "lead": "rowlf", "level": 9})["id"]
    drain(maestro)
    [check] = maestro.tasks("piggy", [], "groups")["tasks"]
    assert (check["candidate_groups"], check["candidate_users"]) == (["claims"], ["piggy", "gonzo"])

    people = [f"person{n}" for n in range(6)]
    outcomes, start = {}, threading.Barrier(len(people))

    def claim(person):
        start.wait()
        try:
            outcomes[person] = maestro.claim(instance_id, check["task_id"], person)["assignee"]
        except TaskTaken:
            outcomes[person] = None

    threads = [threading.Thread(target=claim, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [person for person, assignee in outcomes.items() if assignee == person]
    assert len(winners) == 1 and maestro.user_task(instance_id, check["task_id"])["assignee"] == winners[0]

    maestro.complete_task(instance_id, check["task_id"], by=winners[0])
    drain(maestro)
    [sign] = maestro.tasks("rowlf", [], "mine")["tasks"]
    assert sign["priority"] == 90
    maestro.cancel(instance_id)
    assert maestro.tasks(None, [], "all")["tasks"] == []
    assert maestro.user_task(instance_id, sign["task_id"])["state"] == "cancelled"
