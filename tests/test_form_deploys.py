"""Form files deploy beside the diagrams that name them (Camunda Forms, Spiff Arena JSON schemas), are
refused when broken or missing, and each Camunda 7/8 reference finds the version its binding names."""
import json
from pathlib import Path

import pytest
from durable_helpers import drain, fresh_maestro

from engine.durable.startup import deploy_folder, load_processes
from engine.problems import DeployError

FORMS = Path(__file__).parent / "fixtures" / "forms"


def files(*names):
    return [(name, (FORMS / name).read_bytes()) for name in names]


def review_form(label):
    """review.form with its customer field labelled `label` (another content: another version)."""
    schema = json.loads((FORMS / "review.form").read_text())
    schema["components"][1]["label"] = label
    return ("review.form", json.dumps(schema).encode())


def c7_diagram(key, **attributes):
    """A one-task Camunda 7 diagram whose task has `attributes` (camunda:formRef...)."""
    written = " ".join(f'camunda:{name}="{value}"' for name, value in attributes.items())
    return (f"{key}.bpmn", f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d_{key}" targetNamespace="t">
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task"/>
    <bpmn:userTask id="task" name="Task" {written}/><bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>""".encode())


@pytest.fixture
def maestro(tmp_path):
    return fresh_maestro(tmp_path)


def waiting_form(maestro, key):
    instance_id = maestro.start(key)["id"]
    drain(maestro)
    task, = maestro.show(instance_id)["waiting"]
    return task["form"]


def test_camunda_forms_deploy_with_their_diagram_and_are_listed_after_its_processes(maestro):
    deployed = maestro.deploy(files("camunda7_review.bpmn", "review.form", "confirm.form"))
    assert [(item.get("key") or item["form"], item["version"], item["new"]) for item in deployed] == [
        ("c7_review", 1, True), ("review", 1, True), ("confirm", 1, True)]
    again = maestro.deploy(files("review.form"))
    assert again == [{"form": "review", "version": 1, "file": "review.form", "kind": "camunda-form", "new": False}]


def test_a_diagram_naming_forms_nobody_deployed_is_refused_with_file_line_and_element(maestro):
    with pytest.raises(DeployError) as refused:
        maestro.deploy(files("camunda7_review.bpmn", "camunda8_linked.bpmn", "spiff_intake.bpmn",
                             "intake-uischema.json"))
    where = [(problem.file, problem.line, problem.element) for problem in refused.value.problems]
    assert where == [("camunda7_review.bpmn", 7, "review"), ("camunda7_review.bpmn", 9, "confirm"),
                     ("camunda8_linked.bpmn", 7, "review"), ("spiff_intake.bpmn", 5, "start")]
    assert "intake-schema.json is neither deployed nor among the files" in refused.value.problems[3].message
    assert maestro.definitions() == []  # nothing half-deployed, the UI schema neither
    with pytest.raises(DeployError):
        maestro.deploy(files("spiff_intake.bpmn", "intake-schema.json"))  # the UI schema it names is missing


def test_a_form_deployed_earlier_is_enough(maestro):
    maestro.deploy(files("review.form"))
    assert maestro.deploy(files("camunda8_linked.bpmn"))[0]["key"] == "c8_linked"


@pytest.mark.parametrize("content, message", [
    (b'{"id": "x", "components": [', "not a valid JSON file"),
    (b'{"components": []}', 'needs an "id"'),
    (b'{"id": "x"}', 'needs "components"'),
    (b'[1, 2]', "holds one JSON object"),
])
def test_a_broken_form_file_is_refused_with_its_name(maestro, content, message):
    with pytest.raises(DeployError) as refused:
        maestro.deploy([("broken.form", content)])
    problem, = refused.value.problems
    assert problem.file == "broken.form" and message in problem.message


def test_an_embedded_camunda_8_form_that_is_not_there_is_refused(maestro):
    name, data = files("camunda8_embedded.bpmn")[0]
    with pytest.raises(DeployError) as refused:
        maestro.deploy([(name, data.replace(b'formKey="camunda-forms:bpmn:UserTaskForm_approve"',
                                            b'formKey="camunda-forms:bpmn:Nowhere"'))])
    assert "no zeebe:userTaskForm" in refused.value.problems[0].message


def test_each_reference_finds_the_version_its_binding_names(maestro):
    maestro.deploy([review_form("Customer v1"), c7_diagram("bound_at_deploy", formRef="review",
                                                           formRefBinding="deployment")])
    maestro.deploy([review_form("Customer v2"), c7_diagram("pinned_v1", formRef="review", formRefBinding="version",
                                                           formRefVersion="1"),
                    c7_diagram("latest", formRef="review"), c7_diagram("by_file", formKey="camunda-forms:deployment:"
                                                                                            "review.form")])
    maestro.deploy([review_form("Customer v3")])
    maestro.deploy(files("camunda8_linked.bpmn", "camunda8_embedded.bpmn"))
    shown = {key: (waiting_form(maestro, key)["version"], waiting_form(maestro, key)["schema"]["components"][1]["label"])
             for key in ("bound_at_deploy", "pinned_v1", "latest", "by_file", "c8_linked")}
    assert shown == {"bound_at_deploy": (1, "Customer v1"), "pinned_v1": (1, "Customer v1"),
                     "latest": (3, "Customer v3"), "by_file": (2, "Customer v2"), "c8_linked": (3, "Customer v3")}
    embedded = waiting_form(maestro, "c8_embedded")
    assert (embedded["kind"], embedded["form_id"], embedded["schema"]["id"]) == (
        "form-js", "UserTaskForm_approve", "approve-embedded")


def test_a_pinned_version_that_does_not_exist_is_refused(maestro):
    maestro.deploy([review_form("v1")])
    with pytest.raises(DeployError) as refused:
        maestro.deploy([c7_diagram("pinned", formRef="review", formRefBinding="version", formRefVersion="7")])
    assert "has no version 7" in refused.value.problems[0].message


def test_a_spiff_json_schema_start_form_is_drawn_as_form_js(maestro):
    maestro.deploy(files("spiff_intake.bpmn", "intake-schema.json", "intake-uischema.json"))
    form = maestro.start_form("spiff_intake")
    assert (form["kind"], form["source"], form["form_id"]) == ("form-js", "json-schema", "intake-schema.json")
    components = {c.get("key") or c["id"]: c for c in form["schema"]["components"]}
    order = [c.get("key") or c.get("path") or c["id"] for c in form["schema"]["components"]]
    assert order[:4] == ["heading", "name", "email", "employees"] and order[-1] == "notes"  # ui:order, "*"
    assert components["employees"]["label"] == "Number of employees"  # ui:title
    assert components["employees"]["validate"] == {"required": True, "min": 1, "max": 100000}
    assert components["employees"]["decimalDigits"] == 0
    assert components["email"]["validate"]["validationType"] == "email"
    assert components["email"]["placeholder"] == "name@company.com"
    assert (components["since"]["type"], components["since"]["subtype"]) == ("datetime", "date")
    assert components["vip"]["type"] == "checkbox"
    assert components["plan"]["values"] == [{"label": "basic", "value": "basic"}, {"label": "pro", "value": "pro"}]
    assert (components["region"]["type"], components["region"]["values"][0]) == (
        "radio", {"label": "Europe", "value": "eu"})
    assert (components["notes"]["type"], components["notes"]["description"]) == (
        "textarea", "Anything the account manager should know.")
    assert components["channels"]["type"] == "checklist"
    assert "cannot edit it" in components["field_tags"]["text"]
    address = components["field_address"]
    assert (address["type"], address["path"], [c["key"] for c in address["components"]]) == (
        "group", "address", ["city", "zip"])


def test_a_processes_folder_deploys_its_forms(tmp_path, maestro, capsys):
    folder = tmp_path / "processes"
    (folder / "intake").mkdir(parents=True)
    for name in ("spiff_intake.bpmn", "intake-schema.json", "intake-uischema.json", "camunda7_review.bpmn",
                 "review.form", "confirm.form"):
        (folder / "intake" / name).write_bytes((FORMS / name).read_bytes())
    (folder / "intake" / "unrelated.json").write_text("not JSON, and no diagram names it")
    _, paths = load_processes(folder)
    assert sorted(path.name for path in paths) == ["camunda7_review.bpmn", "confirm.form", "intake-schema.json",
                                                   "intake-uischema.json", "review.form", "spiff_intake.bpmn"]
    assert deploy_folder(maestro, folder, paths)
    said = capsys.readouterr().out
    assert "deployed form review version 1" in said and "deployed spiff_intake version 1" in said
    assert maestro.start_form("spiff_intake")["form_id"] == "intake-schema.json"


def test_maestro_deploy_takes_form_files_and_says_what_it_deployed(tmp_path, monkeypatch):
    from cli_helpers import maestro as command_line
    monkeypatch.setenv("MAESTRO_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    refused = command_line("deploy", FORMS / "camunda8_linked.bpmn")
    assert refused.returncode == 1 and "camunda8_linked.bpmn:7: review: the Camunda Form 'review'" in refused.stderr
    deployed = command_line("deploy", FORMS / "camunda8_linked.bpmn", FORMS / "review.form")
    assert deployed.returncode == 0, deployed.stderr
    assert deployed.stdout.splitlines() == ["c8_linked version 1", "form review version 1"]
