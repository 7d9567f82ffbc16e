"""`maestro run` and `maestro lint`: output formats and exit codes of DESIGN.md."""
import json
import re
import textwrap

from cli_helpers import ROOT, SAGA, maestro, run_saga

FIXTURES = ROOT / "tests" / "fixtures"
PROBLEM_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<element>[^:]+): (?P<message>.+)$")


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems_of(stdout):
    found = [PROBLEM_LINE.match(line) for line in stdout.splitlines()]
    assert all(found), stdout
    return [(m["file"], int(m["line"]), m["element"], m["message"]) for m in found]


# -- run -------------------------------------------------------------------

def test_run_json_has_status_data_tasks_and_error():
    result, output = run_saga({"fail_at": "stock"})
    assert result.returncode == 0
    assert set(output) == {"status", "data", "tasks", "error"}
    assert output["error"] is None
    assert {"id", "name", "type", "state"} <= set(output["tasks"][0])
    assert [t["bpmn_id"] for t in output["tasks"] if t["undo_of"]] == ["refund_payment"]


def test_run_without_json_prints_a_readable_summary():
    result = maestro("run", SAGA / "order_fulfillment.bpmn", "--handlers", SAGA / "handlers.py",
                     "--data", '{"fail_at": "invoice"}')
    assert result.returncode == 0
    assert "completed" in result.stdout.splitlines()[0]
    assert "Release stock [undo]" in result.stdout
    assert "Charge payment (compensated)" in result.stdout


def test_run_exit_code_1_when_failed():
    result, output = run_saga({"crash_at": "payment"})
    assert result.returncode == 1
    assert output["status"] == "failed"


def test_run_exit_code_3_when_waiting_for_a_user_task(tmp_path):
    handlers = write(tmp_path, "handlers.py", """
        from engine import Handlers
        handlers = Handlers()
        for topic in ("A", "B", "undoA", "undoB", "undo_a", "undo_b"):
            handlers.task(topic)(lambda ctx: {})
    """)
    result = maestro("run", FIXTURES / "compensation_saga_user_task.bpmn", "--handlers", handlers, "--json")
    assert result.returncode == 3, result.stdout + result.stderr
    assert json.loads(result.stdout)["status"] == "waiting"


def test_run_refuses_a_broken_diagram_with_located_problems_and_exit_2():
    result = maestro("run", FIXTURES / "invalid_compensation_no_handler.bpmn", "--handlers", SAGA / "handlers.py")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (file, line, element, message), = problems_of(result.stderr)[:1]
    assert file.endswith("invalid_compensation_no_handler.bpmn") and line > 0
    assert "no associated compensation activity" in message


def test_run_rejects_bad_data_without_a_traceback():
    result = maestro("run", SAGA / "order_fulfillment.bpmn", "--handlers", SAGA / "handlers.py", "--data", "{oops")
    assert result.returncode == 2
    assert "--data is not valid JSON" in result.stderr and "Traceback" not in result.stderr


def test_run_reports_a_broken_handler_module_with_its_line(tmp_path):
    handlers = write(tmp_path, "handlers.py", """
        from engine import Handlers
        handlers = Handlers(
    """)
    result = maestro("run", SAGA / "order_fulfillment.bpmn", "--handlers", handlers)
    assert result.returncode == 2
    assert f"{handlers}:" in result.stderr and "Traceback" not in result.stderr


def test_run_reports_an_unbound_service_task_as_a_failure():
    empty = ROOT / "tests" / "data" / "no_handlers.py"
    result = maestro("run", SAGA / "order_fulfillment.bpmn", "--handlers", empty, "--json")
    assert result.returncode == 1
    assert "no handler is bound to topic 'checkout'" in json.loads(result.stdout)["error"]["message"]


# -- lint ------------------------------------------------------------------

def test_lint_clean_files_exit_0():
    result = maestro("lint", SAGA / "order_fulfillment.bpmn", "--handlers", SAGA / "handlers.py")
    assert result.returncode == 0, result.stdout
    assert "no problems" in result.stdout


def test_lint_reports_compensation_boundary_without_activity():
    result = maestro("lint", FIXTURES / "invalid_compensation_no_handler.bpmn")
    assert result.returncode == 1
    problems = problems_of(result.stdout)
    assert any("no associated compensation activity" in p[3] and p[1] > 0 for p in problems)


LINT_ME = """\
<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw"/>
    <bpmn:exclusiveGateway id="gw" default="f3"/>
    <bpmn:sequenceFlow id="f2" sourceRef="gw" targetRef="charge">
      <bpmn:conditionExpression>${amount &gt;&gt; 100}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="rules"/>
    <bpmn:serviceTask id="charge" name="Charge card"/>
    <bpmn:businessRuleTask id="rules"/>
    <bpmn:scriptTask id="script" scriptFormat="groovy"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="pyscript"><bpmn:script>x = (</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f4" sourceRef="charge" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_lint_lists_every_problem_with_file_line_and_element(tmp_path):
    diagram = write(tmp_path, "lint_me.bpmn", LINT_ME)
    handlers = write(tmp_path, "handlers.py", """
        from engine import Handlers
        handlers = Handlers()

        @handlers.task("ship")
        def ship(ctx):
            return {}

        @handlers.task("ship")
        def ship_again(ctx):
            return {}
    """)
    result = maestro("lint", diagram, "--handlers", handlers)
    assert result.returncode == 1
    problems = problems_of(result.stdout)
    by_element = {(element, message) for _, _, element, message in problems}
    lines = {element: line for _, line, element, _ in problems}

    assert any(e == "f2" and "does not parse" in m for e, m in by_element)
    assert lines["f2"] == 8
    assert any(e == "rules" and "business rule tasks" in m for e, m in by_element)
    assert any(e == "script" and "script format 'groovy'" in m for e, m in by_element)
    assert any(e == "pyscript" and "does not compile" in m for e, m in by_element)
    assert any(e == "charge" and "no handler is bound to topic 'charge' or 'charge_card'" in m for e, m in by_element)
    assert lines["charge"] == 11
    assert any(e == "ship" and "bound twice" in m for e, m in by_element)
    assert any(e == "ship" and "binds no service task" in m for e, m in by_element)
    handler_lines = [p for p in problems if p[0] == str(handlers)]
    assert handler_lines and all(line > 0 for _, line, _, _ in handler_lines)


def test_lint_reports_malformed_xml_with_its_line(tmp_path):
    broken = write(tmp_path, "broken.bpmn", "<bpmn:definitions xmlns:bpmn='x'>\n  <oops>\n</bpmn:definitions>\n")
    result = maestro("lint", broken)
    assert result.returncode == 1
    (file, line, _, message), = problems_of(result.stdout)
    assert line == 3 and "not well-formed" in message


def test_lint_never_resolves_external_entities(tmp_path):
    probe = write(tmp_path, "xxe.bpmn", """\
        <?xml version="1.0"?>
        <!DOCTYPE d [<!ENTITY secret SYSTEM "file:///etc/hostname">]>
        <bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
          <bpmn:process id="p" isExecutable="true" name="&secret;">
            <bpmn:startEvent id="s"/>
          </bpmn:process>
        </bpmn:definitions>
    """)
    hostname = open("/etc/hostname").read().strip()
    result = maestro("lint", probe)
    assert hostname not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
