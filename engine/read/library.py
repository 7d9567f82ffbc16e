"""Library: the files read, and their processes, from which instances are started."""
from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from engine.namespaces import NSMAP
from engine.problems import DeployError, Problem

from .parser import MaestroParser
from .validation_problems import problem_from_validation


@dataclass
class Library:
    """Parsed BPMN files from which instances can be started."""
    parser: MaestroParser
    roots: dict = field(default_factory=dict)  # file name -> XML root

    def executable_process_ids(self):
        return self.parser.get_process_ids()

    def main_process_id(self, process_id=None):
        """The process to start: the one asked for, else the only top-level executable one."""
        ids = self.executable_process_ids()
        if process_id is not None:
            if process_id not in self.parser.process_parsers or process_id not in ids:
                found = ", ".join(ids) or "none"
                raise DeployError([Problem(self._first_file(), 0, process_id,
                                           f"no executable process '{process_id}' (found: {found})")])
            return process_id
        called = set(self.parser.get_process_dependencies())
        top_level = [pid for pid in ids if pid not in called and self._is_top_level(pid)]
        if len(top_level) == 1:
            return top_level[0]
        several = ", ".join(top_level)
        raise DeployError([Problem(self._first_file(), 0, "",
                                   f"several executable processes ({several}): choose one with --process")])

    def build(self, process_id):
        try:
            return self.parser.build(process_id)
        except ValidationException as error:
            raise DeployError([problem_from_validation(error, self.roots)]) from error

    def _is_top_level(self, process_id):
        parser = self.parser.process_parsers[process_id]
        return parser.node.tag == f"{{{NSMAP['bpmn']}}}process"

    def _first_file(self):
        return next(iter(self.roots), "")
