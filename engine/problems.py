"""Deploy-time problems: each names the file, line and element it is about."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    element: str
    message: str

    def __str__(self):
        return f"{self.file}:{self.line}: {self.element or '-'}: {self.message}"

    def as_dict(self):
        return {"file": self.file, "line": self.line, "element": self.element, "message": self.message}


class DeployError(Exception):
    """A diagram Maestro cannot run faithfully; `.problems` says why, per element."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
