"""Script limits that C code cannot skip: scripts run in a sandbox process under OS limits.

Work done inside one C call (`pow` with a huge modulus, `list(map(list, ...))`) never reaches the
sandbox's checks between Python steps; these tests show the process limits end it anyway, with a
message naming the script task and the limit, and that the worker, its sandbox pool and the
other instances carry on."""
import logging
import os
import threading
import time
from xml.sax.saxutils import escape

import pytest
from cli_helpers import ROOT
from test_crash_recovery import worker

import engine
from engine.durable import Maestro
from engine.sandbox.scripts import ScriptError, compile_script, process_pool

HUGE = "r = 'x' * 1000000\n"  # a 1 MB string: one operation may make at most this much
ATTACKS = {  # script -> which limit it exceeds
    "pow": ("m = 10**25000 + 7\nx = pow(3, 10**25000, m)", "seconds"),
    "sum of map": (HUGE + "n = sum(map(len, map(list, [r] * 10**6)))", "seconds"),
    "list of map": (HUGE + "n = len(list(map(list, [r] * 300)))", "memory"),
    "swallowed MemoryError": (HUGE + "try:\n    n = len(list(map(list, [r] * 300)))\n"
                              "except Exception:\n    n = 0", "memory"),
    "repeated huge string": (HUGE + "big = [r] * 10**6", "result"),
}
MESSAGES = {
    "seconds": "script ran too long: more than 1 s (MAESTRO_SCRIPT_SECONDS)",
    "memory": "script used too much memory: more than 128 MB (MAESTRO_SCRIPT_MEMORY_MB)",
    "result": "variable 'big' makes the script's variables larger than 16 MB (MAESTRO_SCRIPT_RESULT_MB)",
}


def diagram(process_id, script):
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="compute"/>
    <bpmn:scriptTask id="compute" name="Compute"><bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="compute" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def limits(monkeypatch):
    monkeypatch.setenv("MAESTRO_SCRIPT_SECONDS", "1")
    monkeypatch.setenv("MAESTRO_SCRIPT_MEMORY_MB", "128")


def gone(pid):
    """True once the process is reaped: a zombie would still answer signal 0."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("attack", ATTACKS)
def test_each_attack_fails_its_script_task_naming_the_limit_and_leaves_no_process(limits, attack):
    script, limit = ATTACKS[attack]
    compile_script("warm = 1").run({})
    sandbox, = process_pool.idle_sandbox_pids()
    started = time.monotonic()
    instance = engine.run(diagram("p", script), engine.Handlers())
    assert time.monotonic() - started < 10
    assert instance.status == "failed"
    assert instance.error["bpmn_id"] == "compute"
    assert instance.error["message"].endswith(MESSAGES[limit])
    if limit != "result":  # the sandbox that hit an OS limit is replaced, and reaped
        assert gone(sandbox)
    assert engine.run(diagram("p", "y = x * 2"), engine.Handlers(), {"x": 21}).data == {"x": 21, "y": 42}


def test_the_memory_limit_is_the_same_after_20_runs(limits):
    fits = HUGE + "n = len(list(map(list, [r] * 8)))\ndel r"  # 64 MB of lists, dropped after each run
    too_big = HUGE + "n = len(list(map(list, [r] * 20)))"  # 160 MB

    def refused():
        with pytest.raises(ScriptError) as raised:
            compile_script(too_big).run({})
        return raised.value.message == MESSAGES["memory"]

    assert refused()
    assert compile_script(fits).run({}) == {"n": 8}
    sandbox, = process_pool.idle_sandbox_pids()
    for _ in range(19):
        assert compile_script(fits).run({}) == {"n": 8}
    assert process_pool.idle_sandbox_pids() == [sandbox], "one sandbox served the 20 runs"
    assert refused()
    assert gone(sandbox)


def test_a_normal_script_gives_what_it_gives_in_process():
    script = compile_script("""
pairs = [(k, v * 2) for k, v in sorted(prices.items())]
by_number = {1: "one", 2.5: "two and a half", None: "none", True: "yes"}
shared = [1, 2]
both = [shared, shared]
order["lines"].append({"sku": "z", "qty": 0})
text = f"{len(order['lines'])} lines, é ☃ \\u2028"
ratio = 1 / 3
big = 2 ** 200
nothing = None
del remove_me
""")
    variables = {"prices": {"b": 2.5, "a": 1}, "order": {"lines": [{"sku": "a", "qty": 1}]},
                 "remove_me": 1, "flag": False, "_hidden": {"kept": True}}
    here = script.run_in_process(variables)
    there = script.run(variables)
    assert there == here
    assert list(there) == list(here)  # same order: stored JSON is identical
    assert type(there["pairs"][0]) is tuple and there["both"][0] is there["both"][1]
    assert there["_hidden"] is variables["_hidden"]
    assert variables["order"]["lines"] == [{"sku": "a", "qty": 1}], "the caller's data is not changed"


def test_scripts_of_other_threads_run_while_one_is_being_killed(limits):
    outcome = {}

    def attack():
        try:
            compile_script(ATTACKS["pow"][0]).run({})
        except ScriptError as error:
            outcome["attack"] = (error.message, time.monotonic())

    thread = threading.Thread(target=attack)
    thread.start()
    results = [compile_script("y = x * 2").run({"x": n}) for n in range(20)]
    done = time.monotonic()
    thread.join()
    assert results == [{"x": n, "y": 2 * n} for n in range(20)]
    message, killed = outcome["attack"]
    assert message == MESSAGES["seconds"] and done < killed


def test_what_scripts_print_reaches_the_scripts_log(caplog):
    with caplog.at_level(logging.DEBUG, logger="maestro.scripts"):
        assert compile_script("print('hello', 1)\nx = 1").run({}) == {"x": 1}
    assert "script print: hello 1" in caplog.messages


def test_a_dead_idle_sandbox_is_replaced():
    compile_script("warm = 1").run({})
    sandbox, = process_pool.idle_sandbox_pids()
    os.kill(sandbox, 9)
    assert compile_script("y = 1").run({}) == {"y": 1}
    assert process_pool.idle_sandbox_pids() != [sandbox]


def test_a_bad_setting_fails_the_task_naming_it(monkeypatch):
    monkeypatch.setenv("MAESTRO_SCRIPT_MEMORY_MB", "lots")
    instance = engine.run(diagram("p", "y = 1"), engine.Handlers())
    assert instance.status == "failed"
    assert instance.error["message"].endswith("MAESTRO_SCRIPT_MEMORY_MB must be a positive number, not 'lots'")


def test_a_worker_goes_on_after_a_script_is_killed_and_the_instance_shows_an_incident(tmp_path):
    folder = tmp_path / "processes"
    folder.mkdir()
    (folder / "attack.bpmn").write_text(diagram("attack", ATTACKS["pow"][0]))
    (folder / "normal.bpmn").write_text(diagram("normal", "total = sum(prices)"))
    database = f"sqlite:///{tmp_path / 'maestro.db'}"
    maestro = Maestro(database)
    maestro.deploy_paths(sorted(folder.glob("*.bpmn")))
    attacked = maestro.start("attack", {})["id"]
    normal = [maestro.start("normal", {"prices": [n, 1]})["id"] for n in range(3)]
    env = {**os.environ, "MAESTRO_DATABASE_URL": database, "PYTHONPATH": str(ROOT),
           "MAESTRO_SCRIPT_SECONDS": "1", "MAESTRO_RETRY_BASE_SECONDS": "0.01"}

    process = worker(env, folder, "--until-idle")
    output, _ = process.communicate(timeout=60)

    assert process.returncode == 0, output
    shown = maestro.show(attacked)
    assert shown["status"] == "failed"
    assert shown["incident"]["bpmn_id"] == "compute"
    assert shown["incident"]["message"].endswith(MESSAGES["seconds"])
    for n, instance_id in enumerate(normal):
        shown = maestro.show(instance_id)
        assert (shown["status"], shown["data"]) == ("completed", {"prices": [n, 1], "total": n + 1})
