"""Names that scripts and conditions read but nothing in the diagram sets: warnings for the editor.

A handler may return any variable, and the start data and a message's data may
hold any: what reads such a name may be right. So these are warnings, never a
refusal of deploy, and the check stays conservative: every way a diagram can
set a name counts wherever it is (not only on the path before the read), a
diagram with forms whose fields it does not list (JSON-schema files, user tasks
without declared fields) gets none, and a name a script only calls is taken
for a function, not a variable.
"""
import ast
import builtins

from lxml import etree

from engine.namespaces import NSMAP
from engine.problems import Problem
from engine.sandbox.expressions import ExpressionError, variables_used

from .located import owner, problem_at

_BPMN = NSMAP["bpmn"]
# Attributes (any namespace) that name a variable the engine sets: camunda:resultVariable,
# camunda:errorCodeVariable / errorMessageVariable, camunda:elementVariable, spiffworkflow:messageVariable...
_VARIABLE_ATTRIBUTE_SUFFIX = "Variable"
# Elements whose attribute names a variable they set: (xpath, attribute).
_SETTERS = [
    (".//camunda:formField", "id"), (".//camunda:formProperty", "id"),
    (".//camunda:inputParameter", "name"), (".//camunda:outputParameter", "name"),
    (".//camunda:in", "target"), (".//camunda:out", "target"),
    (".//zeebe:input", "target"), (".//zeebe:output", "target"),
    (".//zeebe:loopCharacteristics", "inputElement"), (".//zeebe:loopCharacteristics", "outputElement"),
    (".//bpmn:dataObject", "id"), (".//bpmn:dataObject", "name"),
    (".//bpmn:dataObjectReference", "id"), (".//bpmn:dataObjectReference", "name"),
    (".//bpmn:dataInput", "id"), (".//bpmn:dataInput", "name"),
    (".//bpmn:dataOutput", "id"), (".//bpmn:dataOutput", "name"),
    (".//bpmn:inputDataItem", "id"), (".//bpmn:inputDataItem", "name"),
    (".//bpmn:outputDataItem", "id"), (".//bpmn:outputDataItem", "name"),
]
# Elements whose text names a variable: multi-instance collections and the variables correlation reads.
_SETTING_TEXTS = [".//bpmn:loopDataInputRef", ".//bpmn:loopDataOutputRef",
                  ".//bpmn:correlationPropertyRetrievalExpression/bpmn:messagePath"]
# What SpiffWorkflow sets while a multi-instance activity runs.
_MULTI_INSTANCE_NAMES = {"loopCounter", "nrOfInstances", "nrOfActiveInstances", "nrOfCompletedInstances"}
_NOT_VARIABLES = set(dir(builtins)) | {"printed"}


def unset_variables(root: etree._Element, file_name: str) -> list[Problem]:
    """A warning per script task and condition that reads names nothing in the document sets."""
    if _has_forms_of_unknown_fields(root):
        return []
    set_names = names_set(root)
    sources = _other_sources(root)
    warnings = []
    for task in root.iter(f"{{{_BPMN}}}scriptTask"):
        script = task.find(f"{{{_BPMN}}}script")
        unset = [name for name in script_reads((script.text or "") if script is not None else "")
                 if name not in set_names]
        if unset:
            warnings.append(problem_at(file_name, task, f"the script reads {_listed(unset)}, and "
                                                        f"{_nothing_sets(unset, sources)}"))
    for node in root.iter(f"{{{_BPMN}}}conditionExpression", f"{{{_BPMN}}}condition"):
        unset = [name for name in _condition_reads(node.text or "") if name not in set_names]
        if unset:
            warnings.append(problem_at(file_name, node, f"the condition reads {_listed(unset)}, and "
                                                        f"{_nothing_sets(unset, sources)}", owner(node).get("id", "")))
    return warnings


def names_set(root: etree._Element) -> set[str]:
    """Every variable name something in the document sets: form fields, scripts, data objects, mappings,
    result, error and element variables, multi-instance items."""
    names = set()
    for element in root.iter(etree.Element):
        for attribute, value in element.attrib.items():
            if etree.QName(attribute).localname.endswith(_VARIABLE_ATTRIBUTE_SUFFIX) and value.strip():
                names.add(value.strip())
    for path, attribute in _SETTERS:
        names.update(node.get(attribute) for node in root.xpath(path, namespaces=NSMAP) if node.get(attribute))
    for path in _SETTING_TEXTS:
        names.update((node.text or "").strip() for node in root.xpath(path, namespaces=NSMAP))
    for script in root.iter(f"{{{_BPMN}}}script"):
        names.update(script_assigns(script.text or ""))
    if root.xpath(".//bpmn:multiInstanceLoopCharacteristics", namespaces=NSMAP):
        names |= _MULTI_INSTANCE_NAMES
    return names - {""}


def script_reads(text: str) -> list[str]:
    """The variables a script reads before it assigns them, in the order it first reads them
    (none for a script that does not parse: another check reports it)."""
    tree = _parsed(text)
    if tree is None:
        return []
    reader = _ReadsBeforeWrites()
    reader.visit(tree)
    return reader.reads


def script_assigns(text: str) -> set[str]:
    """Every name a script assigns anywhere (a variable it leaves set, or a local of its own)."""
    tree = _parsed(text)
    if tree is None:
        return set()
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load)}
    names |= {node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    names |= {node.name for node in ast.walk(tree) if isinstance(node, ast.ExceptHandler) and node.name}
    return names


def _parsed(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


class _ReadsBeforeWrites(ast.NodeVisitor):
    """Walks a script in the order it runs, noting each name read while nothing has assigned it yet.

    A name assigned on any branch counts as assigned after it, and the bodies of functions and
    lambdas are not read: either way the check stays quiet when unsure.
    """

    def __init__(self) -> None:
        self.assigned: set[str] = set()
        self.reads: list[str] = []

    def visit_Call(self, node: ast.Call) -> None:
        if not isinstance(node.func, ast.Name):  # a called name is a function the sandbox has or lacks
            self.visit(node.func)
        for argument in [*node.args, *node.keywords]:
            self.visit(argument)

    def visit_Name(self, node: ast.Name) -> None:
        if not isinstance(node.ctx, ast.Load):
            self.assigned.add(node.id)
        elif node.id not in self.assigned and node.id not in _NOT_VARIABLES and not node.id.startswith("_") \
                and node.id not in self.reads:
            self.reads.append(node.id)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        if isinstance(node.target, ast.Name):  # `total += 1` reads total first
            self.visit(ast.Name(node.target.id, ast.Load()))
        self.visit(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self.visit(node.target)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self.visit(node.target)
        for statement in [*node.body, *node.orelse]:
            self.visit(statement)

    visit_AsyncFor = visit_For

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        for generator in node.generators:
            self.visit(generator.iter)
            self.visit(generator.target)
            for condition in generator.ifs:
                self.visit(condition)
        for part in ("elt", "key", "value"):
            if hasattr(node, part):
                self.visit(getattr(node, part))

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.assigned.add(node.name)

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        pass

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self.assigned.add(node.name)
        for statement in node.body:
            self.visit(statement)

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        self.assigned.update((alias.asname or alias.name).split(".")[0] for alias in node.names)

    visit_ImportFrom = visit_Import


def _condition_reads(text: str) -> list[str]:
    if not text.strip():
        return []
    try:
        return sorted(variables_used(text.strip()))
    except ExpressionError:  # reported by the expression check
        return []


def _has_forms_of_unknown_fields(root: etree._Element) -> bool:
    """Whether a form sets names this document does not list: a JSON-schema file (Spiff Arena), or a user
    task without declared form fields (an embedded or external form, or data given when completing it)."""
    if root.xpath(".//spiffworkflow:property[@name='formJsonSchemaFilename']", namespaces=NSMAP):
        return True
    declared = ("./bpmn:extensionElements/camunda:formData/camunda:formField"
                " | ./bpmn:extensionElements/camunda:formProperty")
    return any(not task.xpath(declared, namespaces=NSMAP) for task in root.iter(f"{{{_BPMN}}}userTask"))


def _other_sources(root: etree._Element) -> list[str]:
    """What else may set a variable, besides handlers and the start data, in this document."""
    sources = []
    if root.xpath(".//bpmn:messageEventDefinition | .//bpmn:receiveTask", namespaces=NSMAP):
        sources.append("a message's data")
    if root.xpath(".//bpmn:callActivity", namespaces=NSMAP):
        sources.append("a called process")
    return sources


def _nothing_sets(names: list[str], sources: list[str]) -> str:
    setters = ", ".join(["a handler", *sources]) + " or the start data"
    return (f"no form field, script, data object, mapping or result variable in this diagram sets "
            f"{_them(names)}: {setters} must")


def _listed(names: list[str]) -> str:
    quoted = [f"'{name}'" for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _them(names: list[str]) -> str:
    return "it" if len(names) == 1 else "them"
