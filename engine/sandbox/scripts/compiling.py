"""Compiling a script task: its text checked (length, syntax, and what no script may name:
imports, classes, `with`, builtins that reach outside, `_` attributes, big format specs) before
RestrictedPython compiles it under our policy. Compiled once per text (cached)."""
from __future__ import annotations

import ast
import functools
import re
import textwrap

from RestrictedPython import compile_restricted_exec

from .errors import FILENAME, ScriptError
from .limits import MAX_FORMAT_NUMBER, MAX_SCRIPT_LENGTH
from .policy import Policy
from .running import CompiledScript

FORBIDDEN_NAMES = frozenset([
    "exec", "eval", "open", "compile", "getattr", "setattr", "delattr", "hasattr", "globals",
    "locals", "vars", "type", "dir", "__import__", "input", "breakpoint", "help", "memoryview",
    "object", "super", "classmethod", "staticmethod", "property", "exit", "quit",
    "BaseException", "SystemExit", "KeyboardInterrupt", "GeneratorExit", "__builtins__",
])
FORBIDDEN_ATTRIBUTES = frozenset(["format", "format_map", "mro"])


class _Checker(ast.NodeVisitor):
    def __init__(self):
        self.problem = None

    def fail(self, node, message):
        if self.problem is None:
            self.problem = ScriptError(message, getattr(node, "lineno", None))

    def visit_Import(self, node):
        self.fail(node, "import is not allowed in scripts")

    visit_ImportFrom = visit_Import

    def visit_ClassDef(self, node):
        self.fail(node, "class definitions are not allowed in scripts")

    def visit_With(self, node):
        self.fail(node, "'with' is not allowed in scripts")

    visit_AsyncWith = visit_With

    def visit_TryStar(self, node):  # pragma: no cover - Python 3.11+ syntax, rarely used
        self.fail(node, "'except*' is not allowed in scripts")

    def visit_Name(self, node):
        if node.id in FORBIDDEN_NAMES:
            self.fail(node, f"'{node.id}' is not allowed in scripts")

    def visit_Attribute(self, node):
        if node.attr.startswith("_"):
            self.fail(node, f"'{node.attr}': names starting with '_' are not allowed in scripts")
        elif node.attr in FORBIDDEN_ATTRIBUTES:
            hint = " (use an f-string)" if node.attr.startswith("format") else ""
            self.fail(node, f"'.{node.attr}' is not allowed in scripts{hint}")
        self.generic_visit(node)

    def visit_FormattedValue(self, node):
        spec = node.format_spec
        if spec is not None:
            parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
            if not all(isinstance(p, ast.Constant) and isinstance(p.value, str) for p in parts):
                self.fail(node, "f-string format specs must be constant")
            else:
                text = "".join(p.value for p in parts)
                if any(int(n) > MAX_FORMAT_NUMBER for n in re.findall(r"\d+", text)):
                    self.fail(node, "f-string width or precision is too large")
        self.visit(node.value)


_LINE_MESSAGE = re.compile(r"^Line (\d+): (.*)$", re.S)


def _compile(text):
    if len(text) > MAX_SCRIPT_LENGTH:
        raise ScriptError(
            f"script is too long ({len(text)} characters, at most {MAX_SCRIPT_LENGTH})")
    source = textwrap.dedent(text.replace("\r\n", "\n"))
    try:
        tree = ast.parse(source, FILENAME, "exec")
    except SyntaxError as error:
        raise ScriptError(f"syntax error: {error.msg}", error.lineno) from None
    except (RecursionError, MemoryError, ValueError) as error:
        raise ScriptError(f"script cannot be parsed: {error}") from None
    checker = _Checker()
    try:
        checker.visit(tree)
        if checker.problem is not None:
            raise checker.problem
        result = compile_restricted_exec(tree, filename=FILENAME, policy=Policy)
    except (RecursionError, MemoryError):
        raise ScriptError("script is too deeply nested") from None
    if result.errors:
        match = _LINE_MESSAGE.match(result.errors[0])
        if match:
            raise ScriptError(match.group(2), int(match.group(1)))
        raise ScriptError(result.errors[0])
    if result.code is None:  # pragma: no cover - RestrictedPython always reports why
        raise ScriptError("script does not compile")
    return CompiledScript(text, result.code)


@functools.lru_cache(maxsize=1024)
def _compile_cached(text):
    return _compile(text)


def compile_script(text: str) -> CompiledScript:
    """Parse, check and compile a script once (cached by text); raises ScriptError."""
    if not isinstance(text, str):
        raise ScriptError(f"script must be a string, not {type(text).__name__}")
    return _compile_cached(text)


compile_script.cache_clear = _compile_cached.cache_clear
