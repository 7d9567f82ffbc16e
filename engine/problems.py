"""Deploy-time problems: each names the file, line and element it is about."""
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One fault: its file, its line (0 when no line applies) and its element's id ("" when none)."""
    file: str
    line: int
    element: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.element or '-'}: {self.message}"

    def as_dict(self) -> dict[str, str | int]:
        return {"file": self.file, "line": self.line, "element": self.element, "message": self.message}


class DeployError(Exception):
    """A diagram Maestro cannot run faithfully; `.problems` says why, per element."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
