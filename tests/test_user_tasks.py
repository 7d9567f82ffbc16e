"""User tasks as people work them: who a task is for (read from Camunda 7, Camunda 8 and plain BPMN),
when it is due, the user_tasks table following the instance, the lists, claims and completion."""
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from durable_helpers import drain, fresh_maestro

from engine import Handlers
from engine.durable import NotYours, TaskTaken
from engine.durable.store.models import UserTask
from engine.problems import DeployError
from engine.run.assignment import may_work

TASKS = Path(__file__).parent / "fixtures" / "tasks"
COMPENSATION = Path(__file__).parent / "fixtures" / "compensation_manual_undo.bpmn"


@pytest.fixture
def maestro(tmp_path):
    handlers = Handlers()
    for topic in ("A", "B", "C", "undoA", "undoC"):
        handlers.task(topic)(lambda ctx: None)
    engine = fresh_maestro(tmp_path, handlers)
    engine.deploy_paths([*sorted(TASKS.glob("*.bpmn")), COMPENSATION])
    return engine


def started(maestro, key, data=None, business_key=None, patience=10.0):
    instance_id = maestro.start(key, data, business_key)["id"]
    drain(maestro, patience)
    return instance_id


def open_tasks(maestro, instance_id):
    """{element: user_tasks row} of the instance's open tasks, read from the table."""
    with maestro.Session() as session:
        rows = session.query(UserTask).filter_by(instance_id=instance_id, state="open").all()
        return {row.element: row for row in rows}


def assert_table_agrees(maestro, instance_id):
    """The open rows of the table are exactly the user tasks the instance waits in."""
    waiting = {task["id"] for task in maestro.show(instance_id)["waiting"] if task["type"] == "userTask"}
    with maestro.Session() as session:
        rows = session.query(UserTask).filter_by(instance_id=instance_id, state="open").all()
        assert {row.task_id for row in rows} == waiting


def row_states(maestro, instance_id):
    with maestro.Session() as session:
        return {row.element: row.state for row in session.query(UserTask).filter_by(instance_id=instance_id)}


def near(iso_text, expected, seconds=60):
    return abs(datetime.fromisoformat(iso_text) - expected) < timedelta(seconds=seconds)


# -- reading the diagram -------------------------------------------------------------

def test_camunda_7_attributes_static_and_expressions(maestro):
    before = datetime.now(timezone.utc)
    instance_id = started(maestro, "assigned_camunda7", {"extraGroup": "audit", "approver": "fozzie", "urgency": 90},
                          business_key="INV-7")
    [review] = maestro.tasks("kermit", [], "groups")["tasks"]
    assert (review["name"], review["key"], review["business_key"]) == ("Review invoice", "assigned_camunda7", "INV-7")
    assert review["process_name"] == "Invoice review (Camunda 7)"
    assert review["assignee"] is None
    assert review["candidate_users"] == ["kermit"]
    assert review["candidate_groups"] == ["accounting", "audit"]  # the static one and ${extraGroup}
    assert review["priority"] == 80
    assert near(review["due_at"], before + timedelta(days=2))  # P2D from when it became ready
    assert near(review["follow_up_at"], before + timedelta(hours=4))
    assert review["overdue"] is False

    maestro.complete_task(instance_id, review["task_id"], by="kermit")
    drain(maestro)
    [approve] = maestro.tasks("fozzie", [], "mine")["tasks"]
    assert approve["assignee"] == "fozzie"  # ${approver}
    assert approve["priority"] == 90  # ${urgency}
    assert approve["due_at"] == "2030-01-15T09:00:00+00:00"  # no offset: UTC


def test_camunda_8_attributes_static_and_feel(maestro):
    before = datetime.now(timezone.utc)
    instance_id = started(maestro, "assigned_camunda8", {"teams": ["claims", "audit"], "lead": "rowlf", "level": 3})
    [check] = maestro.tasks(None, ["claims"], "groups")["tasks"]
    assert check["candidate_groups"] == ["claims", "audit"]  # =teams
    assert check["candidate_users"] == ["piggy", "gonzo"]
    assert check["priority"] == 70
    assert near(check["due_at"], before + timedelta(hours=1))
    assert check["follow_up_at"] == "2030-01-01T06:00:00+00:00"  # +02:00 offset, kept as UTC

    maestro.complete_task(instance_id, check["task_id"], by="piggy")
    drain(maestro)
    [sign] = maestro.tasks("rowlf", [], "mine")["tasks"]
    assert (sign["name"], sign["assignee"], sign["priority"]) == ("Sign off", "rowlf", 30)  # =lead, =level * 10
    assert sign["due_at"] is None and sign["candidate_groups"] == []


def test_bpmn_human_performer_and_potential_owner(maestro):
    instance_id = started(maestro, "performers")
    [mine] = maestro.tasks("fozzie", [], "mine")["tasks"]
    assert (mine["name"], mine["assignee"], mine["priority"]) == ("Assigned by performer", "fozzie", 50)
    maestro.complete_task(instance_id, mine["task_id"], by="fozzie")
    drain(maestro)
    [ours] = maestro.tasks("animal", [], "groups")["tasks"]
    assert ours["candidate_users"] == ["animal"]
    assert ours["candidate_groups"] == ["band", "management"]  # group(band), and a plain name is a group


def _diagram(task_xml, zeebe=False):
    namespace = 'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"' if zeebe else \
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" {namespace} id="d" targetNamespace="t">
  <bpmn:process id="bad" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ask"/>
    {task_xml}
    <bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>""".encode()


@pytest.mark.parametrize("task_xml, zeebe, says", [
    ('<bpmn:userTask id="ask" camunda:dueDate="tomorrow"/>', False, "camunda:dueDate"),
    ('<bpmn:userTask id="ask" camunda:followUpDate="P2X"/>', False, "camunda:followUpDate"),
    ('<bpmn:userTask id="ask" camunda:priority="high"/>', False, "camunda:priority: 'high' is not an integer"),
    ('<bpmn:userTask id="ask" camunda:assignee="${a +}"/>', False, "camunda:assignee"),
    ('<bpmn:userTask id="ask"><bpmn:extensionElements><zeebe:priorityDefinition priority="150"/>'
     '</bpmn:extensionElements></bpmn:userTask>', True, "150 is not between 0 and 100"),
    ('<bpmn:userTask id="ask"><bpmn:extensionElements><zeebe:taskSchedule dueDate="2030-13-45T00:00:00"/>'
     '</bpmn:extensionElements></bpmn:userTask>', True, "zeebe:taskSchedule dueDate"),
])
def test_bad_static_values_are_refused_at_deploy_with_file_line_and_element(maestro, task_xml, zeebe, says):
    with pytest.raises(DeployError) as refused:
        maestro.deploy([("bad.bpmn", _diagram(task_xml, zeebe))])
    [problem] = refused.value.problems
    assert (problem.file, problem.line, problem.element) == ("bad.bpmn", 6, "ask")
    assert says in problem.message
    assert maestro.definitions() == [d for d in maestro.definitions() if d["key"] != "bad"]  # nothing deployed


def test_an_expression_that_fails_fails_the_task_with_an_incident_naming_element_and_attribute(maestro):
    instance_id = started(maestro, "assigned_camunda7", {"approver": "fozzie", "urgency": 90})  # no extraGroup
    shown = maestro.show(instance_id)
    assert shown["status"] == "failed"
    assert shown["incident"]["bpmn_id"] == "review"
    assert "camunda:candidateGroups '${extraGroup}'" in shown["incident"]["message"]
    assert open_tasks(maestro, instance_id) == {}  # never silently unassigned

    bad_date = started(maestro, "assigned_camunda8", {"teams": "claims", "lead": 7, "level": 1})
    instance = maestro.show(bad_date)
    assert instance["status"] == "waiting"  # =teams gave a text: one group
    [check] = maestro.tasks(None, ["claims"], "groups")["tasks"]
    maestro.complete_task(bad_date, check["task_id"], by="piggy")
    drain(maestro)
    failed = maestro.show(bad_date)
    assert failed["status"] == "failed" and failed["incident"]["bpmn_id"] == "sign"
    assert "zeebe:assignmentDefinition assignee '=lead' gave 7, not a name" in failed["incident"]["message"]


# -- the table follows the instance ---------------------------------------------------

def test_the_table_follows_start_complete_and_cancel(maestro):
    instance_id = started(maestro, "assigned_camunda7", {"extraGroup": "audit", "approver": "fozzie", "urgency": 1})
    assert_table_agrees(maestro, instance_id)
    assert set(open_tasks(maestro, instance_id)) == {"review"}
    review = open_tasks(maestro, instance_id)["review"]

    maestro.complete_task(instance_id, review.task_id, {"ok": True}, by="kermit")
    assert_table_agrees(maestro, instance_id)  # in the same commit as the completion
    assert row_states(maestro, instance_id) == {"review": "completed", "approve": "open"}
    done = maestro.user_task(instance_id, review.task_id)
    assert (done["completed_by"], done["assignee"]) == ("kermit", "kermit")  # completing claimed it
    history = [(h["name"], h["state"], h["actor"]) for h in maestro.show(instance_id)["history"]]
    assert ("Review invoice", "CLAIMED", "kermit") in history
    assert ("Review invoice", "COMPLETED", "kermit") in history

    maestro.cancel(instance_id)
    assert_table_agrees(maestro, instance_id)
    assert row_states(maestro, instance_id) == {"review": "completed", "approve": "cancelled"}


def test_the_table_follows_boundary_timers_interrupting_tasks(maestro):
    instance_id = started(maestro, "interrupted", patience=0.2)  # not as long as the timers' second
    assert set(open_tasks(maestro, instance_id)) == {"direct", "inner"}
    assert_table_agrees(maestro, instance_id)
    drain(maestro, patience=5)  # both timers fire after a second
    assert maestro.show(instance_id)["status"] == "completed"
    assert_table_agrees(maestro, instance_id)
    assert row_states(maestro, instance_id) == {"direct": "cancelled", "inner": "cancelled"}


def test_the_table_follows_compensation_that_waits_for_a_person(maestro):
    instance_id = started(maestro, "compensation_manual_undo")
    assert_table_agrees(maestro, instance_id)
    [undo] = open_tasks(maestro, instance_id).values()
    assert undo.element == "undoB" and undo.name == "Call the customer"
    maestro.complete_task(instance_id, undo.task_id, by="kermit")
    drain(maestro)
    assert maestro.show(instance_id)["status"] == "completed"
    assert_table_agrees(maestro, instance_id)
    assert row_states(maestro, instance_id) == {"undoB": "completed"}


# -- the lists ---------------------------------------------------------------------------

def test_each_view_shows_what_the_rule_says(maestro):
    started(maestro, "assigned_camunda7", {"extraGroup": "audit", "approver": "fozzie", "urgency": 1})  # review
    started(maestro, "performers")  # "mine" assigned to fozzie
    started(maestro, "compensation_manual_undo")  # undoB: no assignee, no candidates
    names = lambda page: [t["name"] for t in page["tasks"]]  # noqa: E731
    assert names(maestro.tasks("fozzie", [], "mine")) == ["Assigned by performer"]
    assert names(maestro.tasks("kermit", [], "mine")) == []
    assert names(maestro.tasks("kermit", [], "groups")) == ["Review invoice"]  # a candidate user
    assert names(maestro.tasks("waldorf", ["audit"], "groups")) == ["Review invoice"]  # by a group
    assert names(maestro.tasks("waldorf", ["sales"], "groups")) == []
    assert names(maestro.tasks("waldorf", [], "unassigned")) == ["Call the customer"]
    # all: highest priority first (80 > 50 = 50), then due (none: last), then the oldest
    assert names(maestro.tasks(None, [], "all")) == ["Review invoice", "Assigned by performer", "Call the customer"]
    first = maestro.tasks(None, [], "all", limit=2)
    assert names(first) == ["Review invoice", "Assigned by performer"]
    assert names(maestro.tasks(None, [], "all", limit=2, after=first["next"])) == ["Call the customer"]
    assert names(maestro.tasks(None, [], "all", key="performers")) == ["Assigned by performer"]


def test_who_may_work_a_task():
    assigned = {"assignee": "kermit", "candidate_users": ["piggy"], "candidate_groups": ["band"]}
    assert may_work(assigned, "kermit", [])
    assert not may_work(assigned, "piggy", ["band"])  # assigned: only the assignee
    offered = {**assigned, "assignee": None}
    assert may_work(offered, "piggy", [])
    assert may_work(offered, "animal", ["band"])
    assert not may_work(offered, "animal", ["sales"])
    assert may_work({"assignee": None, "candidate_users": [], "candidate_groups": []}, "anyone", [])


# -- claims -----------------------------------------------------------------------------

def test_two_claims_at_once_give_one_winner(maestro):
    instance_id = started(maestro, "compensation_manual_undo")
    [undo] = open_tasks(maestro, instance_id).values()
    results, start = {}, threading.Barrier(2)

    def claim(person):
        start.wait()
        try:
            results[person] = maestro.claim(instance_id, undo.task_id, person)["assignee"]
        except TaskTaken as refusal:
            results[person] = str(refusal)

    threads = [threading.Thread(target=claim, args=(person,)) for person in ("kermit", "piggy")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winner = maestro.user_task(instance_id, undo.task_id)["assignee"]
    loser = "piggy" if winner == "kermit" else "kermit"
    assert results[winner] == winner
    assert results[loser] == f"the task 'Call the customer' is claimed by {winner}"
    claims = [h for h in maestro.show(instance_id)["history"] if h["state"] == "CLAIMED"]
    assert [h["actor"] for h in claims] == [winner]


def test_unclaim_only_by_the_assignee_or_an_operator(maestro):
    instance_id = started(maestro, "compensation_manual_undo")
    [undo] = open_tasks(maestro, instance_id).values()
    maestro.claim(instance_id, undo.task_id, "kermit")
    with pytest.raises(NotYours, match="is kermit's"):
        maestro.unclaim(instance_id, undo.task_id, "piggy")
    assert maestro.user_task(instance_id, undo.task_id)["assignee"] == "kermit"
    assert maestro.unclaim(instance_id, undo.task_id, "kermit")["assignee"] is None
    maestro.claim(instance_id, undo.task_id, "piggy")
    assert maestro.unclaim(instance_id, undo.task_id, "statler", by="statler", as_operator=True)["assignee"] is None
    actions = [(h["state"], h["actor"], h["data_in"]) for h in maestro.show(instance_id)["history"]
               if h["state"] in ("CLAIMED", "UNCLAIMED")]
    assert actions == [("CLAIMED", "kermit", {"assignee": "kermit"}), ("UNCLAIMED", "kermit", {"assignee": "kermit"}),
                       ("CLAIMED", "piggy", {"assignee": "piggy"}), ("UNCLAIMED", "statler", {"assignee": "piggy"})]
    # the instance's tasks are unchanged by claims: the undo still waits
    assert [t["bpmn_id"] for t in maestro.show(instance_id)["waiting"]] == ["undoB"]


def test_completing_a_task_someone_else_claimed_is_refused_and_changes_nothing(maestro):
    """The web layer checks the claim first, but another claim may commit between its check and the
    completion: the engine's own check, inside the completion's commit, keeps the claimant's task."""
    instance_id = started(maestro, "compensation_manual_undo")
    [undo] = open_tasks(maestro, instance_id).values()
    maestro.claim(instance_id, undo.task_id, "kermit")
    with pytest.raises(TaskTaken, match="is claimed by kermit"):
        maestro.complete_task(instance_id, undo.task_id, {"done": True}, by="piggy")
    shown = maestro.show(instance_id)
    assert [t["bpmn_id"] for t in shown["waiting"]] == ["undoB"] and "done" not in shown["data"]
    assert maestro.user_task(instance_id, undo.task_id)["assignee"] == "kermit"
    maestro.complete_task(instance_id, undo.task_id, {"done": True}, by="statler", as_operator=True)
    assert maestro.user_task(instance_id, undo.task_id)["completed_by"] == "statler"


def test_a_finished_task_cannot_be_claimed(maestro):
    instance_id = started(maestro, "compensation_manual_undo")
    [undo] = open_tasks(maestro, instance_id).values()
    maestro.complete_task(instance_id, undo.task_id, by="kermit")
    with pytest.raises(TaskTaken, match="no longer waits: it is completed"):
        maestro.claim(instance_id, undo.task_id, "piggy")


def test_each_iteration_of_a_multi_instance_task_is_assigned_by_its_element_variable(maestro):
    instance_id = started(maestro, "voting", {"voters": ["kermit", "piggy"]})
    assert_table_agrees(maestro, instance_id)
    for person in ("kermit", "piggy"):
        [vote] = maestro.tasks(person, [], "mine")["tasks"]
        assert vote["name"] == "Vote"
        maestro.complete_task(instance_id, vote["task_id"], by=person)
        drain(maestro)
        assert_table_agrees(maestro, instance_id)
    assert maestro.show(instance_id)["status"] == "completed"
    assert maestro.tasks(None, [], "all")["tasks"] == []


def test_a_retry_with_the_missing_variable_assigns_the_task_in_memory_too():
    import engine
    instance = engine.run(TASKS / "assigned_camunda7.bpmn", Handlers(), {"approver": "fozzie", "urgency": 1})
    assert instance.status == "failed"
    assert instance.error["bpmn_id"] == "review" and "camunda:candidateGroups" in instance.error["message"]
    instance.retry({"extraGroup": "audit"})
    assert instance.status == "waiting"
    [review] = [task for task in instance.workflow.get_tasks() if task.task_spec.bpmn_id == "review"]
    assert review.internal_data["maestro_assignment"]["candidate_groups"] == ["accounting", "audit"]
