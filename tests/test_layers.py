"""The layers of the code base: which package may import which (each wing's __init__ docstring, DESIGN.md "Layout").

Read from the source with `ast`, not by importing: an import inside a function
binds the layers as much as one at the top of a file, and importing would run
what it checks.
"""
import ast
import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The engine's shared modules: every wing may import them, and they import no wing.
SHARED = frozenset({"engine.handlers", "engine.problems", "engine.namespaces", "engine.sources"})


@dataclass(frozen=True)
class Import:
    importer: str  # the importing module, dotted
    file: str  # its path from the repository root
    line: int
    function: str  # the function (qualified name) the import is in; "" at module level
    imported: str  # the module imported, relative imports resolved
    climbs: bool  # a relative import with `..`


def within(*packages: str) -> Callable[[str], bool]:
    """True for a module that is one of `packages` or inside one."""
    return lambda module: any(module == p or module.startswith(p + ".") for p in packages)


def outside(*packages: str) -> Callable[[str], bool]:
    inside = within(*packages)
    return lambda module: not inside(module)


def standard_library(module: str) -> bool:
    return module.split(".")[0] in sys.stdlib_module_names


@dataclass(frozen=True)
class Rule:
    says: str  # the rule and why, as the failure message gives it
    applies_to: Callable[[str], bool]  # importing modules it binds
    allows: Callable[[str], bool]  # modules they may import


RULES = [
    Rule("engine never imports webapp (DESIGN.md, Layout: the web app is a thin layer over the engine)",
         within("engine"), outside("webapp")),
    Rule("no module of the engine imports the `engine` facade: it imports every wing",
         within("engine"), lambda module: module != "engine"),
    Rule("the shared modules (handlers, problems, namespaces, sources) import only the standard library "
         "and each other: every wing imports them",
         lambda module: module in SHARED, lambda module: standard_library(module) or module in SHARED),
    Rule("engine.sandbox imports nothing else of the engine: the script sandbox process starts from it alone",
         within("engine.sandbox"), lambda module: outside("engine")(module) or within("engine.sandbox")(module)),
    Rule("engine.run imports neither the reading wing, the durable wing nor the command line",
         within("engine.run"), outside("engine.read", "engine.durable", "engine.cli")),
    Rule("engine.run.spiff adjusts SpiffWorkflow: it imports only SpiffWorkflow, the standard library "
         "and its siblings",
         within("engine.run.spiff"),
         lambda module: within("SpiffWorkflow", "engine.run.spiff")(module) or standard_library(module)),
    Rule("engine.read imports neither the durable wing nor the command line",
         within("engine.read"), outside("engine.durable", "engine.cli")),
    Rule("engine.read.exports imports of the engine only its shared modules, engine.read.elements (what the "
         "elements of a document are) and its siblings",
         within("engine.read.exports"),
         lambda module: outside("engine")(module) or within(*SHARED, "engine.read.elements",
                                                            "engine.read.exports")(module)),
    Rule("engine.read.elements says what the elements of a document are: it imports only the shared modules",
         within("engine.read.elements"), lambda module: outside("engine")(module) or module in SHARED),
    Rule("engine.durable does not import the command line: the command line is a thin layer over it",
         within("engine.durable"), outside("engine.cli")),
    Rule("engine.forms (form files, JSON schemas as form-js, checking submissions) imports of the engine only "
         "its shared modules and its siblings: the durable wing and the web app use it",
         within("engine.forms"),
         lambda module: outside("engine")(module) or module in SHARED or within("engine.forms")(module)),
]

# (importing module, function, imported module) -> why it may break its rule. Each must still be needed.
ALLOWED = {
    ("engine.run.instance", "Instance.start", "engine.read"):
        "Instance.start is handed BPMN files, not specs: a convenience for callers (engine/run/__init__)",
    ("engine.run.instance", "Instance.restore", "engine.read"):
        "Instance.restore is handed the BPMN files the instance was started from (engine/run/__init__)",
}


def python_files() -> list[Path]:
    return sorted(path for top in ("engine", "webapp") for path in (ROOT / top).rglob("*.py"))


def module_of(path: Path) -> tuple[str, bool]:
    """The dotted module name of a file under ROOT, and whether it is a package's __init__."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_package else parts), is_package


KNOWN_MODULES = frozenset(module_of(path)[0] for path in python_files())


class _ImportFinder(ast.NodeVisitor):
    """Collects the imports of one module, noting the function each is in."""

    def __init__(self, module: str, is_package: bool, file: str) -> None:
        self.module, self.file = module, file
        self.package = module if is_package else module.rpartition(".")[0]
        self.scope: list[tuple[str, bool]] = []  # (name, is a function) of the classes and functions around
        self.found: list[Import] = []

    def _enter(self, node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef, is_function: bool) -> None:
        self.scope.append((node.name, is_function))
        self.generic_visit(node)
        self.scope.pop()

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._enter(node, is_function=False)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._enter(node, is_function=True)

    visit_AsyncFunctionDef = visit_FunctionDef

    def _note(self, node: ast.Import | ast.ImportFrom, imported: str, climbs: bool = False) -> None:
        # A class body runs on import: only a function (or a method: Instance.start) defers an import.
        in_function = any(is_function for _, is_function in self.scope)
        function = ".".join(name for name, _ in self.scope) if in_function else ""
        self.found.append(Import(self.module, self.file, node.lineno, function, imported, climbs))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._note(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            parts = self.package.split(".")
            base = ".".join(parts[:len(parts) - (node.level - 1)])
            source = f"{base}.{node.module}" if node.module else base
        else:
            source = node.module or ""
        self._note(node, source, climbs=node.level > 1)
        for alias in node.names:  # `from . import compensation` imports the module engine.run.compensation
            if f"{source}.{alias.name}" in KNOWN_MODULES:
                self._note(node, f"{source}.{alias.name}", climbs=node.level > 1)


def imports_in(source: str, module: str, is_package: bool, file: str) -> list[Import]:
    """Every import in `source`, at any depth, with relative imports resolved against `module`."""
    finder = _ImportFinder(module, is_package, file)
    finder.visit(ast.parse(source, filename=file))
    return finder.found


@functools.cache
def every_import() -> tuple[Import, ...]:
    found: list[Import] = []
    for path in python_files():
        module, is_package = module_of(path)
        found += imports_in(path.read_text(encoding="utf-8"), module, is_package, str(path.relative_to(ROOT)))
    return tuple(found)


def broken_rules(imp: Import) -> list[Rule]:
    return [rule for rule in RULES if rule.applies_to(imp.importer) and not rule.allows(imp.imported)]


def allowance_for(imp: Import) -> tuple[str, str, str] | None:
    """The ALLOWED entry that covers `imp`: its importer and function, and the imported module or a package of it."""
    for key in ALLOWED:
        importer, function, imported = key
        if imp.importer == importer and imp.function == function and within(imported)(imp.imported):
            return key
    return None


def describe(imp: Import) -> str:
    where = f" (in {imp.function})" if imp.function else ""
    return f"{imp.file}:{imp.line}{where} imports {imp.imported}"


def violations(imports: list[Import]) -> list[str]:
    return [f"{describe(imp)}: breaks \"{rule.says}\""
            for imp in imports if allowance_for(imp) is None for rule in broken_rules(imp)]


def test_every_import_keeps_to_the_layers():
    found = violations(list(every_import()))
    assert not found, "imports across the layers:\n" + "\n".join(found)


def test_every_allowed_exception_is_still_needed():
    used = {allowance_for(imp) for imp in every_import() if broken_rules(imp)}
    unneeded = [f"{importer} ({function}) -> {imported}: {why}"
                for (importer, function, imported), why in ALLOWED.items() if (importer, function, imported) not in used]
    assert not unneeded, "ALLOWED lists exceptions no import needs any more; remove them:\n" + "\n".join(unneeded)


def test_no_relative_import_climbs_out_of_its_package():
    climbing = [describe(imp) for imp in every_import() if imp.climbs]
    assert not climbing, "relative imports with `..` (import across packages absolutely):\n" + "\n".join(climbing)


def test_the_check_sees_imports_at_any_depth_and_resolves_relative_ones():
    # The checks above pass vacuously if the files go unread or imports unresolved: a made-up
    # engine.run.instance with a violation at each depth must be caught, its allowed import not.
    source = (
        "from . import compensation\n"
        "from engine.durable import maestro\n"
        "class Instance:\n"
        "    def start(self):\n"
        "        from ..read import load\n"
        "def helper():\n"
        "    import webapp.app\n"
    )
    imports = imports_in(source, "engine.run.instance", False, "engine/run/instance.py")
    assert ("engine.run.compensation", "") in {(imp.imported, imp.function) for imp in imports}
    assert ("engine.read", "Instance.start") in {(imp.imported, imp.function) for imp in imports}
    run_rule = next(rule.says for rule in RULES if rule.says.startswith("engine.run imports"))
    webapp_rule = next(rule.says for rule in RULES if rule.says.startswith("engine never imports webapp"))
    assert violations(imports) == [
        f"engine/run/instance.py:2 imports engine.durable: breaks \"{run_rule}\"",
        f"engine/run/instance.py:2 imports engine.durable.maestro: breaks \"{run_rule}\"",
        f"engine/run/instance.py:7 (in helper) imports webapp.app: breaks \"{webapp_rule}\"",
    ]
    assert [imp.line for imp in imports if imp.climbs] == [5]
    assert len(python_files()) > 100 and "engine.run.instance" in KNOWN_MODULES
