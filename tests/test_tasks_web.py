"""The Tasks page and /api/tasks: what a worker, an operator and a viewer see and may do.

Who is asking is the sign-in's to say: each person here is a real account (their name, roles and
groups) whose API token the test client sends.
"""
from pathlib import Path

import pytest
from durable_helpers import drain
from web_helpers import TEST_PASSWORD, signed_in, web_app

TASKS = Path(__file__).parent / "fixtures" / "tasks"


@pytest.fixture
def app(tmp_path):
    app, maestro = web_app(tmp_path)
    app.config["WTF_CSRF_ENABLED"] = False  # the pages' forms carry the token; these tests post without it
    maestro.deploy_paths(sorted(TASKS.glob("*.bpmn")))
    return app


@pytest.fixture
def maestro(app):
    return app.extensions["maestro"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def as_person(maestro, client):
    """as_person(name, groups, roles): the requests of `client` that follow are that person's (an
    account with those roles and groups, made the first time)."""
    def sign_in(name, groups=(), roles=("worker",)):
        if not any(person["name"] == name for person in maestro.people.every()):
            maestro.people.add(name, list(roles), list(groups), password=TEST_PASSWORD)
        found = maestro.people.get(name)
        assert (sorted(found["roles"]), sorted(found["groups"])) == (sorted(roles), sorted(groups))
        signed_in(client, name=name)
    return sign_in


def review_task(maestro):
    instance_id = maestro.start("assigned_camunda7", {"extraGroup": "audit", "approver": "fozzie", "urgency": 5},
                                business_key="INV-1")["id"]
    drain(maestro)
    [task] = maestro.tasks(None, [], "all")["tasks"]
    return instance_id, task["task_id"]


def test_lists_per_view_with_what_the_person_may_do(client, maestro, as_person):
    instance_id, task_id = review_task(maestro)
    as_person("waldorf", ["audit"])
    listed = client.get("/api/tasks?view=groups").get_json()
    assert (listed["view"], listed["views"]) == ("groups", ["mine", "groups", "unassigned"])
    [task] = listed["tasks"]
    assert (task["instance_id"], task["task_id"], task["name"]) == (instance_id, task_id, "Review invoice")
    assert task["may"] == {"claim": True, "unclaim": False, "complete": True}
    assert client.get("/api/tasks?view=mine").get_json()["tasks"] == []
    assert client.get("/api/tasks").get_json()["view"] == "mine"  # a worker's first list
    refused = client.get("/api/tasks?view=all")  # All is for operators (and viewers, read-only)
    assert refused.status_code == 403 and refused.get_json()["error"] == "not_yours"

    as_person("statler", [], roles=("viewer",))
    seen = client.get("/api/tasks").get_json()
    assert seen["views"] == ["all"] and seen["tasks"][0]["may"] == {"claim": False, "unclaim": False,
                                                                     "complete": False}
    looking_only = client.post(f"/api/tasks/{instance_id}/{task_id}/claim")  # a viewer's role reads only
    assert looking_only.status_code == 403 and looking_only.get_json()["error"] == "forbidden"
    assert maestro.user_task(instance_id, task_id)["assignee"] is None
    as_person("sam", ["sales"])
    assert client.get("/api/tasks?view=groups").get_json()["tasks"] == []


def test_claim_unclaim_and_complete_through_the_api(client, maestro, as_person):
    instance_id, task_id = review_task(maestro)
    url = f"/api/tasks/{instance_id}/{task_id}"

    as_person("sam", ["sales"])
    not_offered = client.post(f"{url}/claim")
    assert not_offered.status_code == 403 and "not offered to you" in not_offered.get_json()["message"]
    assert client.post(f"{url}/complete", json={"data": {}}).status_code == 403

    as_person("waldorf", ["audit"])
    claimed = client.post(f"{url}/claim")
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "waldorf"

    as_person("kermit", [])  # a candidate user, but waldorf has it now
    taken = client.post(f"{url}/claim")
    assert taken.status_code == 409 and taken.get_json()["message"] == "the task 'Review invoice' is claimed by waldorf"
    assert client.post(f"{url}/complete", json={"data": {}}).status_code == 409
    assert client.post(f"{url}/unclaim").status_code == 403  # not kermit's to give back

    as_person("waldorf", ["audit"])
    assert client.post(f"{url}/complete", json={"data": "no"}).status_code == 400
    done = client.post(f"{url}/complete", json={"data": {"approved": True}})
    assert done.status_code == 200
    assert (done.get_json()["state"], done.get_json()["completed_by"]) == ("completed", "waldorf")
    shown = maestro.show(instance_id)
    assert shown["data"]["approved"] is True
    assert [(h["state"], h["actor"]) for h in shown["history"] if h["bpmn_id"] == "review"] == \
        [("READY", shown["history"][1]["actor"]), ("CLAIMED", "waldorf"), ("COMPLETED", "waldorf")]
    again = client.post(f"{url}/complete", json={"data": {}})
    assert again.status_code == 409 and "no longer waits" in again.get_json()["message"]
    assert client.post(f"{url}/claim").status_code == 409
    assert client.post(f"/api/tasks/{instance_id}/nope/claim").status_code == 404
    assert client.get("/api/tasks/nope/nope").status_code == 404


def test_an_operator_gives_back_anyones_task_and_sees_all(client, maestro, as_person):
    instance_id, task_id = review_task(maestro)
    maestro.claim(instance_id, task_id, "kermit")
    as_person("statler", [], roles=("worker", "operator"))
    assert client.get("/api/tasks").get_json()["views"] == ["mine", "groups", "unassigned", "all"]
    [task] = client.get("/api/tasks?view=all").get_json()["tasks"]
    assert task["may"] == {"claim": False, "unclaim": True, "complete": True}
    given_back = client.post(f"/api/tasks/{instance_id}/{task_id}/unclaim")
    assert given_back.status_code == 200 and given_back.get_json()["assignee"] is None


def test_bad_list_parameters_are_400(client, maestro, as_person):
    as_person("waldorf")
    assert client.get("/api/tasks?view=nope").status_code == 400
    bad_cursor = client.get("/api/tasks?after=not-a-cursor")
    assert bad_cursor.status_code == 400 and "cursor" in bad_cursor.get_json()["message"]
    assert client.get("/api/tasks?limit=0").status_code == 400


def test_the_pages_work_without_javascript(client, maestro, as_person):
    instance_id, task_id = review_task(maestro)
    as_person("waldorf", ["audit"])
    page = client.get("/tasks?view=groups").get_data(as_text=True)
    assert 'id="tab-mine"' in page and 'id="tab-all"' not in page
    assert "Review invoice" in page and "INV-1" in page and "due in 2 d" in page
    assert f'action="/tasks/{instance_id}/{task_id}/claim"' in page

    claimed = client.post(f"/tasks/{instance_id}/{task_id}/claim", data={"back": "/tasks?view=groups"})
    assert claimed.status_code == 302 and claimed.location == "/tasks?view=groups"
    assert maestro.user_task(instance_id, task_id)["assignee"] == "waldorf"
    mine = client.get("/tasks?view=mine").get_data(as_text=True)
    assert f'action="/tasks/{instance_id}/{task_id}/unclaim"' in mine

    shown = client.get(f"/tasks/{instance_id}/{task_id}").get_data(as_text=True)
    assert "Review invoice" in shown and "Invoice review (Camunda 7)" in shown
    assert f'href="/instances/{instance_id}"' in shown and "&#34;approver&#34;: &#34;fozzie&#34;" in shown
    bad = client.post(f"/tasks/{instance_id}/{task_id}/complete", data={"data": "[1]"})
    assert bad.status_code == 400 and "must be a JSON object" in bad.get_data(as_text=True)
    assert maestro.user_task(instance_id, task_id)["state"] == "open"  # nothing half done
    done = client.post(f"/tasks/{instance_id}/{task_id}/complete", data={"data": '{"approved": true}'})
    assert done.status_code == 302 and done.location == "/tasks"
    assert maestro.user_task(instance_id, task_id)["completed_by"] == "waldorf"
    assert client.get(f"/tasks/{instance_id}/nope").status_code == 404


OVERDUE = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="late_defs" targetNamespace="t">
  <bpmn:process id="late" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="answer"/>
    <bpmn:userTask id="answer" name="Answer the letter" camunda:dueDate="2020-01-01T00:00:00Z"/>
    <bpmn:sequenceFlow id="f2" sourceRef="answer" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_an_overdue_task_is_marked(client, maestro, as_person):
    maestro.deploy([("late.bpmn", OVERDUE)])
    maestro.start("late")
    drain(maestro)
    as_person("waldorf")
    [task] = client.get("/api/tasks?view=unassigned").get_json()["tasks"]
    assert (task["name"], task["overdue"], task["due_at"]) == ("Answer the letter", True, "2020-01-01T00:00:00+00:00")
    page = client.get("/tasks?view=unassigned").get_data(as_text=True)
    assert 'class="overdue"' in page and "overdue by" in page


def test_the_instance_page_and_the_instance_api_keep_the_same_rule(client, maestro, as_person):
    instance_id, task_id = review_task(maestro)
    as_person("sam", ["sales"])
    refused = client.post(f"/api/instances/{instance_id}/tasks/review/complete", json={"data": {}})
    assert refused.status_code == 403 and "not offered to you" in refused.get_json()["message"]
    page = client.post(f"/instances/{instance_id}/tasks/{task_id}/complete", data={"data": "{}"})
    assert page.status_code == 302
    assert maestro.user_task(instance_id, task_id)["state"] == "open"

    as_person("waldorf", ["audit"])
    done = client.post(f"/api/instances/{instance_id}/tasks/review/complete", json={"data": {"ok": 1}})
    assert done.status_code == 200
    assert maestro.user_task(instance_id, task_id)["completed_by"] == "waldorf"
