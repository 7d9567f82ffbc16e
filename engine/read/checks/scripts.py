"""Scripts compiled at deploy (Maestro runs them as sandboxed Python), and scripts it would skip."""
from engine.namespaces import NSMAP, local_name
from engine.problems import Problem
from engine.sandbox.scripts import ScriptError, compile_script

from .located import problem_at

PYTHON_SCRIPT_FORMATS = {None, "", "python", "text/python", "text/x-python", "py"}


def script_tasks(root, file_name):
    for task in root.iter(f"{{{NSMAP['bpmn']}}}scriptTask"):
        script_format = (task.get("scriptFormat") or "").strip().lower()
        if script_format not in PYTHON_SCRIPT_FORMATS:
            yield problem_at(file_name, task, f"script format '{script_format}' is not supported: "
                                              "Maestro runs scripts as sandboxed Python")
            continue
        script = task.find(f"{{{NSMAP['bpmn']}}}script")
        if script is None or not (script.text or "").strip():
            continue
        try:
            compile_script(script.text)
        except ScriptError as error:
            # On the script's own line that does not compile, not the task's.
            line = (script.sourceline or task.sourceline or 0) + max((error.line or 1) - 1, 0)
            yield Problem(file_name, line, task.get("id", ""), f"script does not compile: {error.message}")


def spiff_task_scripts(root, file_name):
    for script in root.iter(f"{{{NSMAP['spiffworkflow']}}}preScript", f"{{{NSMAP['spiffworkflow']}}}postScript"):
        task = script.getparent().getparent()  # task / extensionElements / script
        if (script.text or "").strip():
            yield problem_at(file_name, task, f"Spiff Arena {local_name(script)}s are not supported yet: "
                                              "Maestro would skip the script")
