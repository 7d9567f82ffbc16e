"""engine.sandbox.scripts: script tasks run as restricted Python with size, step and memory limits."""
import datetime
import time

import pytest

import engine.sandbox.scripts.limits as script_limits
from engine.sandbox.scripts import CompiledScript, ScriptError, compile_script


def run(text, variables=None):
    return compile_script(text).run(variables or {})


# --------------------------------------------------------------------------- what scripts can do

def test_assignments_create_and_overwrite_and_del_removes():
    result = run("total = price * qty\nprice = 0\ndel qty", {"price": 3, "qty": 4, "other": "x"})
    assert result == {"price": 0, "other": "x", "total": 12}


def test_control_flow_and_collections():
    result = run(
        """
items = [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 0}, {"sku": "c", "qty": 5}]
in_stock = [i["sku"] for i in items if i["qty"] > 0]
by_sku = {i["sku"]: i["qty"] for i in items}
count = 0
for item in items:
    if item["qty"] == 0:
        continue
    count += 1
n = 0
while n < 10:
    n += 2
else:
    done = True
tags = sorted({"x", "y"})
first, *rest = [1, 2, 3]
"""
    )
    assert result["in_stock"] == ["a", "c"]
    assert result["by_sku"] == {"a": 2, "b": 0, "c": 5}
    assert result["count"] == 2 and result["n"] == 10 and result["done"] is True
    assert result["tags"] == ["x", "y"]
    assert result["first"] == 1 and result["rest"] == [2, 3]


def test_dict_list_and_string_methods():
    result = run(
        """
order["lines"].append(4)
order["lines"].extend([5, 6])
order.update({"paid": True})
keys = list(order.keys())
values_count = len(list(order.values()))
pairs = [[k, v] for k, v in sorted(order.items()) if k != "lines"]
missing = order.get("nope", "default")
name = " Ada Lovelace ".strip().upper().replace("ADA", "Ms")
words = name.split()
joined = "-".join(words)
starts = name.startswith("Ms")
padded = "7".zfill(3)
"""
        , {"order": {"lines": [3]}})
    assert result["order"] == {"lines": [3, 4, 5, 6], "paid": True}
    assert result["keys"] == ["lines", "paid"] and result["values_count"] == 2
    assert result["pairs"] == [["paid", True]]
    assert result["missing"] == "default"
    assert result["name"] == "Ms LOVELACE" and result["joined"] == "Ms-LOVELACE"
    assert result["starts"] is True and result["padded"] == "007"


def test_dotted_access_to_dict_keys():
    result = run("order.total = order.total * 2\ncity = order.customer.city", {
        "order": {"total": 5, "customer": {"city": "Oslo"}}})
    assert result["order"]["total"] == 10 and result["city"] == "Oslo"


def test_augmented_assignment_of_items_and_keys():
    result = run(
        "counts['a'] += 1\ncounts[key] *= 3\norder.total -= 5\nn = 1\nn **= 3\ngrid[0][1] += 1",
        {"counts": {"a": 1, "b": 2}, "key": "b", "order": {"total": 10}, "grid": [[0, 0]]})
    assert result["counts"] == {"a": 2, "b": 6}
    assert result["order"]["total"] == 5 and result["n"] == 1 and result["grid"] == [[0, 1]]
    with pytest.raises(ScriptError):  # the target would be evaluated twice
        compile_script("d[f()] += 1")
    with pytest.raises(ScriptError, match="too large"):
        run("d['s'] *= 10**9", {"d": {"s": "ab"}})


def test_functions_math_and_fstrings():
    result = run(
        """
def vat(amount, rate=0.2):
    return round(amount * rate, 2)
tax = vat(10.555)
double = (lambda v: v * 2)(21)
stats = [min(3, 1, 2), max([4, 9]), sum(range(5)), abs(-3), len("abc"), pow(2, 10)]
label = f"{tax:.2f} / {double:>4} / {'x'!r}"
is_text = isinstance(label, str) and isinstance(3, (int, float))
pairs = list(zip([1, 2], "ab"))
indexed = [[i, c] for i, c in enumerate("hi")]
"""
    )
    assert result["tax"] == 2.11 and result["double"] == 42
    assert result["stats"] == [1, 9, 10, 3, 3, 1024]
    assert result["label"] == "2.11 /   42 / 'x'"
    assert result["is_text"] is True
    assert result["pairs"] == [(1, "a"), (2, "b")]
    assert result["indexed"] == [[0, "h"], [1, "i"]]


def test_try_except_inside_scripts():
    result = run(
        """
try:
    n = int(text)
except ValueError:
    n = -1
try:
    m = 1 / 0
except:
    m = 0
try:
    k = 1
finally:
    cleaned = True
""", {"text": "abc"})
    assert result["n"] == -1 and result["m"] == 0 and result["cleaned"] is True


def test_print_is_allowed_and_discarded():
    assert run("print('hello', 1)\nx = 1") == {"x": 1}


def test_indented_script_from_xml_is_dedented():
    text = "\n        x = 1\n        if x:\n            y = 2\n    "
    assert run(text) == {"x": 1, "y": 2}


# --------------------------------------------------------------------------- the result

def test_only_json_values_are_kept():
    result = run(
        """
def helper():
    return 1
fn = lambda: 2
s = {1, 2}
gen = (i for i in [1])
ok = [1, "a", None, True, 2.5, {"k": (1, 2)}]
bad_nested = {"f": helper}
""")
    assert result == {"ok": [1, "a", None, True, 2.5, {"k": (1, 2)}]}


def test_untouched_non_json_inputs_and_private_names_pass_through():
    when = datetime.date(2024, 1, 2)
    data = {"when": when, "meta": {"at": when}, "_internal": object(), "x": 1}
    result = run("y = x + 1\nalias = when", data)
    assert result["when"] is when and result["alias"] is when
    assert result["meta"] == {"at": when}
    assert result["_internal"] is data["_internal"]
    assert result["y"] == 2


def test_caller_data_is_not_mutated():
    data = {"order": {"lines": [1]}, "tags": ["a"]}
    result = run("order['lines'].append(2)\ntags.append('b')\norder['new'] = 1", data)
    assert data == {"order": {"lines": [1]}, "tags": ["a"]}
    assert result["order"] == {"lines": [1, 2], "new": 1} and result["tags"] == ["a", "b"]
    with pytest.raises(ScriptError):
        run("order['lines'].append(3)\nboom = 1 / 0", data)
    assert data == {"order": {"lines": [1]}, "tags": ["a"]}


# --------------------------------------------------------------------------- errors

def test_runtime_error_has_line():
    with pytest.raises(ScriptError) as info:
        run("x = 1\n\ny = x / 0\nz = 2")
    assert info.value.line == 3
    assert "ZeroDivisionError" in info.value.message
    assert str(info.value).startswith("line 3:")


def test_name_error_has_line_and_name():
    with pytest.raises(ScriptError) as info:
        run("a = 1\nb = missing + 1")
    assert info.value.line == 2 and "missing" in info.value.message


def test_error_inside_function_reports_the_failing_line():
    with pytest.raises(ScriptError) as info:
        run("def f(v):\n    return v['nope']\nf({})")
    assert info.value.line == 2 and "KeyError" in info.value.message


def test_syntax_error_has_line():
    with pytest.raises(ScriptError) as info:
        compile_script("x = 1\ny = (2\nz = 3")
    assert info.value.line == 3 or info.value.line == 2
    assert "syntax error" in info.value.message


def test_forbidden_construct_has_line():
    with pytest.raises(ScriptError) as info:
        compile_script("x = 1\nif x:\n    import os")
    assert info.value.line == 3 and "import" in info.value.message


def test_raise_in_script():
    with pytest.raises(ScriptError, match="ValueError: bad order"):
        run("raise ValueError('bad order')")


def test_compile_is_cached():
    first = compile_script("x = 1")
    assert isinstance(first, CompiledScript)
    assert first is compile_script("x = 1")
    assert first.run({}) == {"x": 1} and first.run({"x": 5}) == {"x": 1}


# --------------------------------------------------------------------------- sandbox

ESCAPES = [
    "import os",
    "from os import system",
    "import subprocess as s",
    "__import__('os')",
    "x = __import__('os')",
    "y = ().__class__.__bases__[0].__subclasses__()",
    "y = [c for c in ().__class__.__base__.__subclasses__()]",
    "open('/etc/passwd')",
    "y = open('/etc/passwd').read()",
    "y = '{0.__class__}'.format(1)",
    "y = '{0.__class__}'.format(x)",
    "f = '{0}'.format\ny = f(x)",
    "y = str.format_map",
    "y = '{a.__class__}'.format_map({'a': 1})",
    "y = getattr(x, '__class__')",
    "y = x.__globals__",
    "f = lambda: 0\ny = f.__globals__",
    "def f(): pass\ny = f.__code__",
    "g = (i for i in [])\ny = g.gi_frame.f_globals",
    "g = (i for i in [])\ny = g.gi_frame",
    "g = (i for i in [])\ny = g.gi_code",
    "y = (lambda: 0).__closure__",
    "y = eval('1')",
    "exec('y = 1')",
    "y = compile('1', 'x', 'eval')",
    "y = globals()",
    "y = locals()",
    "y = vars()",
    "y = type(x)",
    "y = type('A', (), {})",
    "y = dir()",
    "y = object",
    "class A: pass",
    "y = [].__class__",
    "y = x.real.__class__",
    "try:\n    1/0\nexcept Exception as e:\n    y = e.__traceback__",
    "try:\n    1/0\nexcept Exception as e:\n    y = e.with_traceback",
    "y = __builtins__",
    "y = _getattr_",
    "_x = 1",
    "y = help",
    "y = breakpoint()",
    "with x as y: pass",
    "y = f'{x.__class__}'",
    "y = f'{1:>{10**9}}'",
    "y = f'{1:>999999999}'",
    "y = '%s' % x",
    "y = 9**9**9",
    "y = 9**9**9**9",
    "y = pow(9, 9**9)",
    "y = 2 ** 10 ** 8",
    "y = 'a' * 10**9",
    "y = 'a' * 10**10",
    "y = [0] * 10**9",
    "y = 1 << 10**9",
    "y = 'x'.center(10**9)",
    "y = 'x'.ljust(10**9)",
    "y = 'aa'.replace('a', 'a' * 999999)",
    "y = ('a' * 999999).replace('a', 'aa')",
    "y = ','.join(['a' * 999999, 'b'])",
    "y = 'a\\t'.expandtabs(10**9)",
    "y = range(10**12)",
    "y = sum(range(10))\nz = sum([[1]] * 3, [])",
    "y = round(5, -10**9)",
    "y = [1]\nfor i in range(40):\n    y.extend(y)",
    "y = [1]\nfor i in range(40):\n    y += y",
    "y = [1]\nfor i in range(40):\n    y = y + y",
    "y = [1]\nfor i in range(40):\n    y[len(y):] = y",
    "y = [1]\nfor i in range(40):\n    y = [*y, *y]",
    "s = 'a'\nfor i in range(40):\n    s = s + s",
    "t = []\nfor i in range(60):\n    t = [t, t]\ns = str(t)",
    "y = 'abc'.translate({97: 'x' * 10**6})",
    "y = x.maketrans",
    "x.foo = 1",
    "y = (1).to_bytes(10**9, 'big')",
    "y = dict.fromkeys(range(10**9))",
]


@pytest.mark.parametrize("text", ESCAPES)
def test_escape_attempts_are_refused(text):
    started = time.monotonic()
    with pytest.raises(ScriptError):
        run(text, {"x": 1})
    assert time.monotonic() - started < 5


def test_refused_attribute_errors_name_the_attribute():
    with pytest.raises(ScriptError) as info:
        compile_script("y = x.__class__")
    assert "__class__" in info.value.message and info.value.line == 1


@pytest.mark.parametrize("text", [
    "while True: pass",
    "while True:\n    pass",
    "n = 0\nwhile True:\n    n += 1",
    "for i in range(10**6):\n    for j in range(10**6):\n        pass",
    "y = [1 for a in range(10**6) for b in range(10**6)]",
    "y = sum(1 for a in range(10**6) for b in range(10**6))",
    "def f(n):\n    return f(n + 1) if n < 10**9 else n\nf(0)",
    "def f(n):\n    if n > 0:\n        f(n - 1)\n        f(n - 1)\ntry:\n    f(40)\nexcept Exception:\n    pass",
    "f = lambda g: g(g)\nf(f)",
    "try:\n    while True: pass\nexcept Exception:\n    pass\nwhile True: pass",
    "try:\n    while True: pass\nexcept:\n    pass\nwhile True: pass",
    "try:\n    while True: pass\nfinally:\n    while True: pass",
    "def f():\n    return f()\ntry:\n    f()\nexcept RecursionError:\n    pass\nwhile True:\n    pass",
    "g = (i for i in range(10**6))\nwhile True:\n    try:\n        next_one = list(g)\n    except Exception:\n        pass",
])
def test_endless_scripts_end_quickly_with_an_error(text):
    started = time.monotonic()
    with pytest.raises(ScriptError) as info:
        run(text)
    assert time.monotonic() - started < 10
    assert "too long" in info.value.message or "recursion" in info.value.message


def test_while_true_reports_too_long_with_line():
    started = time.monotonic()
    with pytest.raises(ScriptError) as info:
        run("x = 1\nwhile True:\n    x = x")
    assert time.monotonic() - started < 5
    assert info.value.message == "script ran too long"
    assert info.value.line == 3


def test_step_limit_allows_ordinary_loops():
    assert run("t = 0\nfor i in range(100000):\n    t += i")["t"] == 4999950000


def test_memory_growth_is_limited(monkeypatch):
    monkeypatch.setattr(script_limits, "MAX_MEMORY_GROWTH", 64 * 1024 * 1024)
    with pytest.raises(ScriptError, match="too much memory"):
        run("keep = []\nwhile True:\n    keep.append('a' * 900000 + str(len(keep)))")


def test_wall_clock_limit(monkeypatch):
    monkeypatch.setattr(script_limits, "MAX_SECONDS", 0.2)
    started = time.monotonic()
    with pytest.raises(ScriptError, match="too long"):
        run("x = sorted(range(10**6))\nwhile True:\n    y = sorted(x)")
    assert time.monotonic() - started < 5


def test_scripts_cannot_reach_guards_or_builtins_through_data():
    # a dict key that looks like a guard name is just data
    result = run("y = d.get('_getattr_')", {"d": {"_getattr_": 1}})
    assert result["y"] == 1


def test_non_string_script_is_refused():
    with pytest.raises(ScriptError):
        compile_script(None)
    with pytest.raises(ScriptError):
        compile_script("x = 1").run(["not", "a", "dict"])
