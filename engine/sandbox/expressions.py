"""Safe evaluation of BPMN conditions and expressions: Python-like, Camunda 7 JUEL (${...}) and Camunda 8 FEEL (=...).
All three become a restricted Python AST run by simpleeval: small, well kept, and it walks a whitelist
of AST nodes (no eval).
JUEL keeps EL's meaning: its comparisons and boolean operators coerce as EL does (engine.sandbox.el_coercion)."""
from __future__ import annotations

import ast
import functools
import math
import operator
import re
from collections.abc import Mapping

import simpleeval

from . import el_coercion
from .sizes import weight

__all__ = [
    "ExpressionError",
    "CompiledExpression",
    "compile_expression",
    "evaluate",
    "variables_used",
]

MAX_EXPRESSION_LENGTH = 10_000  # characters of source text
MAX_DEPTH = 60  # nesting of the expression tree (keeps evaluation far from the recursion limit)
MAX_BRACKET_DEPTH = 30
MAX_INT_BITS = 100_000  # no integer result larger than this (about 30,000 digits)
MAX_ROUND_DIGITS = 300

_LOWERCASE_CONSTANTS = {"true": True, "false": False, "null": None}


class ExpressionError(Exception):
    """A condition or expression that can't be compiled or evaluated.

    .expression is the source text, .message says what is wrong,
    .column (1-based, or None) points at the problem when it is known.
    """

    def __init__(self, message, expression="", column=None):
        super().__init__(message)
        self.message = message
        self.expression = expression
        self.column = column

    def __str__(self):
        if self.expression:
            return f"{self.message} (in expression {self.expression!r})"
        return self.message


# ---------------------------------------------------------------------------
# Size guards (on top of simpleeval's own MAX_POWER / MAX_STRING_LENGTH guards)


def _limit():
    return simpleeval.MAX_STRING_LENGTH


def _too_big(what="that value"):
    return simpleeval.IterableTooLong(f"Sorry, {what} would be too large.")


def _check_int(value):
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise simpleeval.NumberTooHigh("Sorry, that number would be too large.")
    return value


def _safe_add(a, b):
    return simpleeval.safe_add(a, b)


def _safe_mult(a, b):
    for seq, n in ((a, b), (b, a)):
        if isinstance(seq, (str, bytes, list, tuple)) and isinstance(n, int):
            if n > 0 and n * weight(seq, _limit()) > _limit():
                raise _too_big("repeating that sequence")
    if isinstance(a, int) and isinstance(b, int):
        if a.bit_length() + b.bit_length() > MAX_INT_BITS:
            raise simpleeval.NumberTooHigh("Sorry, that number would be too large.")
    return simpleeval.safe_mult(a, b)


def _safe_pow(a, b):
    if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
        if b > MAX_INT_BITS or a.bit_length() * b > MAX_INT_BITS:
            raise simpleeval.NumberTooHigh(f"Sorry! I don't want to evaluate {a} ** {b}")
    return simpleeval.safe_power(a, b)


def _safe_mod(a, b):
    if isinstance(a, (str, bytes)):
        raise simpleeval.FeatureNotAvailable("'%' string formatting is not allowed")
    return a % b


_OPERATORS = {
    ast.Add: _safe_add,
    ast.Sub: operator.sub,
    ast.Mult: _safe_mult,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: _safe_mod,
    ast.Pow: _safe_pow,
    ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda x, y: operator.contains(y, x),
    ast.NotIn: lambda x, y: not operator.contains(y, x),
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.Not: operator.not_,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Invert: operator.invert,
}


# ---------------------------------------------------------------------------
# Functions: the public whitelist, then internal helpers for JUEL/FEEL.
# Internal helper names start with '@', which no Python-dialect expression can spell.


def _safe_str(*args):
    if args and weight(args[0], _limit()) > _limit():
        raise _too_big("converting that value to text")
    return str(*args)


def _safe_round(number, ndigits=None):
    if ndigits is None:
        return round(number)
    if not isinstance(ndigits, int) or abs(ndigits) > MAX_ROUND_DIGITS:
        raise simpleeval.FeatureNotAvailable("round(): ndigits out of range")
    return round(number, ndigits)


def _numbers_only(values, what):
    values = list(values)
    for v in values:
        if not isinstance(v, (int, float)):
            raise TypeError(f"{what}() only works on numbers, got {type(v).__name__}")
    return values


def _safe_sum(iterable, start=0):
    if not isinstance(start, (int, float)):
        raise TypeError("sum() start value must be a number")
    return _check_int(sum(_numbers_only(iterable, "sum"), start))


_FUNCTIONS = {
    "len": len,
    "str": _safe_str,
    "int": int,
    "float": float,
    "abs": abs,
    "min": min,
    "max": max,
    "round": _safe_round,
    "bool": bool,
    "sum": _safe_sum,
    "any": any,
    "all": all,
    "sorted": sorted,
}
PUBLIC_FUNCTIONS = frozenset(_FUNCTIONS)


def _empty(value):
    if value is None:
        return True
    if isinstance(value, (str, bytes, list, tuple, set, frozenset, Mapping)):
        return len(value) == 0
    return False


def _text(value, fn):
    if not isinstance(value, str):
        raise TypeError(f"{fn}() expects a string, got {type(value).__name__}")
    return value


def _args_or_list(args):
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        return list(args[0])
    return list(args)


def _feel_min(*args):
    values = _args_or_list(args)
    return min(values) if values else None


def _feel_max(*args):
    values = _args_or_list(args)
    return max(values) if values else None


def _feel_sum(*args):
    return _check_int(sum(_numbers_only(_args_or_list(args), "sum")))


def _feel_index(container, index):
    if isinstance(index, bool) or not isinstance(index, (int, float)):
        if isinstance(container, Mapping) and isinstance(index, str):
            return container.get(index)
        raise TypeError("FEEL filters are not supported; use a numeric index")
    if index != int(index):
        raise TypeError("FEEL list index must be a whole number")
    index = int(index)
    if not isinstance(container, (list, tuple, str)):
        raise TypeError(f"cannot index a {type(container).__name__} value")
    if index > 0 and index <= len(container):
        return container[index - 1]
    if index < 0 and -index <= len(container):
        return container[index]
    return None


def _feel_in(value, tests):
    for test in tests:
        if isinstance(test, (list, tuple, set, frozenset)):
            if value in test:
                return True
        elif value == test:
            return True
    return False


def _feel_range(value, low, high, low_closed, high_closed):
    above = value >= low if low_closed else value > low
    below = value <= high if high_closed else value < high
    return above and below


def _feel_number(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = _text(value, "number").strip()
    if len(text) > 400:
        raise ValueError("number(): text too long")
    try:
        return int(text)
    except ValueError:
        return float(text)


def _feel_string(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _safe_str(value)


def _substring(value, start, length=None):
    text = _text(value, "substring")
    start = int(start)
    begin = start - 1 if start > 0 else len(text) + start
    begin = max(begin, 0)
    if length is None:
        return text[begin:]
    return text[begin:begin + int(length)]


def _decimal(number, scale):
    return _safe_round(number, int(scale))


_HELPERS = {
    "@empty": _empty,
    "@not": operator.not_,
    "@strlen": lambda s: len(_text(s, "string length")),
    "@lower": lambda s: _text(s, "lower case").lower(),
    "@upper": lambda s: _text(s, "upper case").upper(),
    "@trim": lambda s: _text(s, "trim").strip(),
    "@contains": lambda s, sub: _text(sub, "contains") in _text(s, "contains"),
    "@startswith": lambda s, p: _text(s, "starts with").startswith(_text(p, "starts with")),
    "@endswith": lambda s, p: _text(s, "ends with").endswith(_text(p, "ends with")),
    "@list_contains": lambda seq, item: item in seq,
    "@count": lambda seq: len(seq),
    "@min": _feel_min,
    "@max": _feel_max,
    "@sum": _feel_sum,
    "@all": lambda *a: all(_args_or_list(a)),
    "@any": lambda *a: any(_args_or_list(a)),
    "@abs": abs,
    "@floor": math.floor,
    "@ceiling": math.ceil,
    "@number": _feel_number,
    "@string": _feel_string,
    "@substring": _substring,
    "@decimal": _decimal,
    "@index": _feel_index,
    "@in": _feel_in,
    "@range": _feel_range,
    # JUEL: EL coercion (engine.sandbox.el_coercion)
    "@el_bool": el_coercion.to_boolean,
    "@el_eq": el_coercion.equal,
    "@el_ne": el_coercion.not_equal,
    "@el_lt": el_coercion.less,
    "@el_gt": el_coercion.greater,
    "@el_le": el_coercion.less_or_equal,
    "@el_ge": el_coercion.greater_or_equal,
}
_ALL_FUNCTIONS = {**_FUNCTIONS, **_HELPERS}


# ---------------------------------------------------------------------------
# Validation of the final (Python) AST: every dialect ends up here.

_ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.UnaryOp, ast.Compare,
    ast.IfExp, ast.Call, ast.keyword, ast.Name, ast.Load, ast.Constant, ast.Attribute,
    ast.Subscript, ast.Slice, ast.List, ast.Tuple, ast.Dict, ast.Set,
) + tuple(_OPERATORS)

_FRIENDLY = {
    ast.Lambda: "lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.JoinedStr: "an f-string",
    ast.FormattedValue: "an f-string",
    ast.NamedExpr: "':=' assignment",
    ast.Starred: "'*' unpacking",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.LShift: "'<<'",
    ast.RShift: "'>>'",
    ast.MatMult: "'@'",
}

_KINDS = {bool: "a boolean", int: "a number", float: "a number", str: "a string",
          list: "a list", tuple: "a list", set: "a set", type(None): "null"}


def _kind(value):
    return _KINDS.get(type(value), f"a {type(value).__name__} value")


def _describe(node, limit=60):
    try:
        text = ast.unparse(node)
    except Exception:  # pragma: no cover - unparse of our own nodes should not fail
        text = type(node).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _col(node):
    col = getattr(node, "col_offset", None)
    return None if col is None else col + 1


class _Invalid(Exception):
    def __init__(self, message, column=None):
        super().__init__(message)
        self.message = message
        self.column = column


def _validate(tree):
    """Refuse anything outside the whitelist; return nothing, raise _Invalid."""
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _Invalid("expression is too deeply nested", _col(node))
        if not isinstance(node, _ALLOWED_NODES):
            what = _FRIENDLY.get(type(node), type(node).__name__)
            raise _Invalid(f"{what} is not allowed in expressions", _col(node))
        if isinstance(node, ast.Name):
            if node.id.startswith("_"):
                raise _Invalid(f"names starting with '_' are not allowed: '{node.id}'", _col(node))
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("_") or node.attr in simpleeval.DISALLOW_METHODS:
                raise _Invalid(f"attribute '{node.attr}' is not allowed", _col(node))
        elif isinstance(node, ast.Constant):
            value = node.value
            if not isinstance(value, (str, int, float, bool, type(None))):
                raise _Invalid(f"literal {_describe(node)} is not allowed", _col(node))
            if isinstance(value, str) and len(value) > _limit():
                raise _Invalid("string literal is too long", _col(node))
        elif isinstance(node, ast.Dict):
            if any(key is None for key in node.keys):
                raise _Invalid("'**' unpacking is not allowed in expressions", _col(node))
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id.startswith("_"):
                raise _Invalid(f"names starting with '_' are not allowed: '{func.id}'", _col(node))
            if isinstance(func, ast.Attribute):
                raise _Invalid(
                    f"method calls are not allowed: '{_describe(node)}'", _col(node))
            if not isinstance(func, ast.Name):
                raise _Invalid(f"cannot call '{_describe(func)}'", _col(node))
            if func.id not in _ALL_FUNCTIONS:
                allowed = ", ".join(sorted(PUBLIC_FUNCTIONS))
                raise _Invalid(
                    f"unknown function '{func.id}' (allowed: {allowed})", _col(node))
            for kw in node.keywords:
                if kw.arg is None or kw.arg.startswith("_"):
                    raise _Invalid("'**' arguments are not allowed", _col(node))
            # the function name itself is not a variable: check only arguments
            for child in node.args:
                stack.append((child, depth + 1))
            for kw in node.keywords:
                stack.append((kw.value, depth + 1))
            continue
        for child in ast.iter_child_nodes(node):
            stack.append((child, depth + 1))


# ---------------------------------------------------------------------------
# Tokenizer shared by the JUEL and FEEL front ends.


class _Tok:
    __slots__ = ("kind", "value", "pos")

    def __init__(self, kind, value, pos):
        self.kind = kind  # 'num' 'str' 'name' 'op' 'eof'
        self.value = value
        self.pos = pos

    def __repr__(self):  # pragma: no cover - debugging aid
        return f"_Tok({self.kind}, {self.value!r}, {self.pos})"


_NUMBER = r"(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?"
_STRING = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""

_JUEL_TOKEN = re.compile(
    rf"(?P<ws>\s+)|(?P<num>{_NUMBER})|(?P<str>{_STRING})"
    r"|(?P<name>[A-Za-z_$][A-Za-z0-9_$]*)"
    r"|(?P<op>&&|\|\||==|!=|<=|>=|[<>!+\-*/%?:.\[\](),])",
    re.S,
)
_FEEL_TOKEN = re.compile(
    rf"(?P<ws>\s+)|(?P<num>{_NUMBER})|(?P<str>{_STRING})"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>\*\*|\.\.|==|!=|<=|>=|[=<>+\-*/.\[\](){},:])",
    re.S,
)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}


def _unescape(body):
    out = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2:i + 6] or ""):
                out.append(chr(int(body[i + 2:i + 6], 16)))
                i += 6
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


class _SyntaxProblem(Exception):
    def __init__(self, pos, detail):
        super().__init__(detail)
        self.pos = pos
        self.detail = detail


def _tokenize(body, pattern):
    tokens = []
    pos = 0
    depth = 0
    while pos < len(body):
        m = pattern.match(body, pos)
        if not m:
            ch = body[pos]
            if ch in "'\"":
                raise _SyntaxProblem(pos, "unterminated string")
            raise _SyntaxProblem(pos, f"unexpected character {ch!r}")
        kind = m.lastgroup
        text = m.group()
        if kind == "num":
            value = float(text) if any(c in text for c in ".eE") else int(text)
            tokens.append(_Tok("num", value, pos))
        elif kind == "str":
            if len(text) - 2 > _limit():
                raise _SyntaxProblem(pos, "string literal is too long")
            tokens.append(_Tok("str", _unescape(text[1:-1]), pos))
        elif kind in ("name", "op"):
            if text in ("(", "[", "{"):
                depth += 1
                if depth > MAX_BRACKET_DEPTH:
                    raise _SyntaxProblem(pos, "too deeply nested")
            elif text in (")", "]", "}"):
                depth -= 1
            tokens.append(_Tok(kind, text, pos))
        pos = m.end()
    tokens.append(_Tok("eof", None, len(body)))
    return tokens


def _at(node, pos):
    node.lineno = 1
    node.end_lineno = 1
    node.col_offset = pos
    node.end_col_offset = pos
    return node


def _call(name, args, pos):
    return _at(ast.Call(func=_at(ast.Name(id=name, ctx=ast.Load()), pos), args=list(args),
                        keywords=[]), pos)


def _compare(left, op, right, pos):
    return _at(ast.Compare(left=left, ops=[op], comparators=[right]), pos)


def _boolop(op, left, right, pos):
    if isinstance(left, ast.BoolOp) and isinstance(left.op, type(op)):
        left.values.append(right)
        return left
    return _at(ast.BoolOp(op=op, values=[left, right]), pos)


class _Parser:
    """Recursive-descent helpers shared by JUEL and FEEL."""

    KEYWORDS = frozenset()

    def __init__(self, tokens):
        self.tokens = tokens
        self.i = 0

    @property
    def tok(self):
        return self.tokens[self.i]

    def peek(self, offset=1):
        j = min(self.i + offset, len(self.tokens) - 1)
        return self.tokens[j]

    def advance(self):
        tok = self.tokens[self.i]
        if tok.kind != "eof":
            self.i += 1
        return tok

    def is_op(self, *ops):
        return self.tok.kind == "op" and self.tok.value in ops

    def is_kw(self, *words):
        return self.tok.kind == "name" and self.tok.value in words

    def accept_op(self, *ops):
        if self.is_op(*ops):
            return self.advance()
        return None

    def accept_kw(self, *words):
        if self.is_kw(*words):
            return self.advance()
        return None

    def expect_op(self, op):
        if not self.is_op(op):
            self.fail(f"expected '{op}'")
        return self.advance()

    def fail(self, detail=None, tok=None):
        tok = tok or self.tok
        if detail is None:
            detail = "unexpected end of expression" if tok.kind == "eof" else (
                f"unexpected {tok.value!r}")
        elif tok.kind != "eof":
            detail = f"{detail}, found {tok.value!r}"
        else:
            detail = f"{detail}, found end of expression"
        raise _SyntaxProblem(tok.pos, detail)

    def parse(self):
        if self.tok.kind == "eof":
            raise _SyntaxProblem(0, "empty expression")
        node = self.expression()
        if self.tok.kind != "eof":
            self.fail("expected end of expression")
        return node

    def args(self, close=")"):
        args = []
        if self.accept_op(close):
            return args
        while True:
            args.append(self.expression())
            if self.accept_op(close):
                return args
            if not self.accept_op(","):
                self.fail(f"expected ',' or '{close}'")

    def literal(self):
        tok = self.tok
        if tok.kind in ("num", "str"):
            self.advance()
            return _at(ast.Constant(value=tok.value), tok.pos)
        return None

    def name(self, tok):
        return _at(ast.Name(id=tok.value, ctx=ast.Load()), tok.pos)


# ----------------------------- JUEL (Camunda 7) -----------------------------

# Comparisons compile to EL's coercing functions (engine.sandbox.el_coercion), not Python's operators.
_JUEL_EQ = {"==": "@el_eq", "eq": "@el_eq", "!=": "@el_ne", "ne": "@el_ne"}
_JUEL_REL = {"<": "@el_lt", "lt": "@el_lt", ">": "@el_gt", "gt": "@el_gt", "<=": "@el_le",
             "le": "@el_le", ">=": "@el_ge", "ge": "@el_ge"}
_JUEL_BOOLEAN_HELPERS = frozenset(["@el_bool", "@empty", *_JUEL_EQ.values(), *_JUEL_REL.values()])
_JUEL_MUL = {"*": ast.Mult, "/": ast.Div, "div": ast.Div, "%": ast.Mod, "mod": ast.Mod}
_JUEL_KEYWORDS = frozenset(["and", "or", "not", "eq", "ne", "lt", "gt", "le", "ge", "div",
                            "mod", "empty", "true", "false", "null", "instanceof"])


def _el_boolean(node):
    """The node coerced to a boolean as EL does for `!`, `&&`, `||` and `?:` (a no-op where it is one)."""
    if isinstance(getattr(node, "op", None), (ast.And, ast.Or, ast.Not)):
        return node
    if isinstance(node, ast.Call) and node.func.id in _JUEL_BOOLEAN_HELPERS:
        return node
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return node
    return _call("@el_bool", [node], node.col_offset)


class _JuelParser(_Parser):
    def expression(self):
        cond = self.or_()
        tok = self.accept_op("?")
        if tok:
            body = self.expression()
            self.expect_op(":")
            orelse = self.expression()
            return _at(ast.IfExp(test=_el_boolean(cond), body=body, orelse=orelse), tok.pos)
        return cond

    def or_(self):
        left = self.and_()
        while True:
            tok = self.accept_op("||") or self.accept_kw("or")
            if not tok:
                return left
            left = _boolop(ast.Or(), _el_boolean(left), _el_boolean(self.and_()), tok.pos)

    def and_(self):
        left = self.equality()
        while True:
            tok = self.accept_op("&&") or self.accept_kw("and")
            if not tok:
                return left
            left = _boolop(ast.And(), _el_boolean(left), _el_boolean(self.equality()), tok.pos)

    def _binary_level(self, table, operand):
        left = operand()
        while self.tok.kind in ("op", "name") and self.tok.value in table:
            tok = self.advance()
            right = operand()
            op = table[tok.value]
            if isinstance(op, str):  # a comparison: EL's coercing function
                left = _call(op, [left, right], tok.pos)
            else:
                left = _at(ast.BinOp(left=left, op=op(), right=right), tok.pos)
        return left

    def equality(self):
        return self._binary_level(_JUEL_EQ, self.relational)

    def relational(self):
        return self._binary_level(_JUEL_REL, self.additive)

    def additive(self):
        return self._binary_level({"+": ast.Add, "-": ast.Sub}, self.multiplicative)

    def multiplicative(self):
        return self._binary_level(_JUEL_MUL, self.unary)

    def unary(self):
        tok = self.tok
        if self.accept_op("-"):
            return _at(ast.UnaryOp(op=ast.USub(), operand=self.unary()), tok.pos)
        if self.accept_op("!") or self.accept_kw("not"):
            return _at(ast.UnaryOp(op=ast.Not(), operand=_el_boolean(self.unary())), tok.pos)
        if self.accept_kw("empty"):
            return _call("@empty", [self.unary()], tok.pos)
        return self.value()

    def value(self):
        node = self.primary()
        while True:
            tok = self.tok
            if self.accept_op("."):
                name = self.tok
                if name.kind != "name":
                    self.fail("expected a property name after '.'")
                self.advance()
                if self.accept_op("("):
                    node = self.method(node, name, self.args())
                else:
                    node = _at(ast.Attribute(value=node, attr=name.value, ctx=ast.Load()),
                               name.pos)
            elif self.accept_op("["):
                key = self.expression()
                self.expect_op("]")
                node = _at(ast.Subscript(value=node, slice=key, ctx=ast.Load()), tok.pos)
            else:
                return node

    def method(self, obj, name, args):
        """A few Java-style methods that Camunda 7 conditions use, mapped to safe helpers."""
        n, pos = name.value, name.pos
        if n in ("size", "length") and not args:
            return _call("len", [obj], pos)
        if n == "isEmpty" and not args:
            return _call("@empty", [obj], pos)
        if n == "contains" and len(args) == 1:
            return _compare(args[0], ast.In(), obj, pos)
        if n == "equals" and len(args) == 1:
            return _compare(obj, ast.Eq(), args[0], pos)
        if n in ("startsWith", "endsWith") and len(args) == 1:
            return _call("@startswith" if n == "startsWith" else "@endswith", [obj, args[0]], pos)
        simple = {"toLowerCase": "@lower", "toUpperCase": "@upper", "trim": "@trim"}
        if n in simple and not args:
            return _call(simple[n], [obj], pos)
        raise _SyntaxProblem(pos, f"method '{n}()' is not supported")

    def primary(self):
        tok = self.tok
        lit = self.literal()
        if lit is not None:
            return lit
        if tok.kind == "name":
            word = tok.value
            if word in ("true", "false", "null"):
                self.advance()
                return _at(ast.Constant(value=_LOWERCASE_CONSTANTS[word]), tok.pos)
            if word in _JUEL_KEYWORDS:
                self.fail()
            self.advance()
            if self.is_op("(") and word in PUBLIC_FUNCTIONS:
                self.advance()
                return _call(word, self.args(), tok.pos)
            if self.is_op("("):
                raise _SyntaxProblem(tok.pos, f"unknown function '{word}'")
            return self.name(tok)
        if self.accept_op("("):
            node = self.expression()
            self.expect_op(")")
            return node
        self.fail()


# ----------------------------- FEEL (Camunda 8) -----------------------------

_FEEL_CMP = {"=": ast.Eq, "==": ast.Eq, "!=": ast.NotEq, "<": ast.Lt, "<=": ast.LtE,
             ">": ast.Gt, ">=": ast.GtE}
_FEEL_FUNCTIONS = {
    "string length": "@strlen",
    "upper case": "@upper",
    "lower case": "@lower",
    "contains": "@contains",
    "starts with": "@startswith",
    "ends with": "@endswith",
    "list contains": "@list_contains",
    "count": "@count",
    "sum": "@sum",
    "min": "@min",
    "max": "@max",
    "all": "@all",
    "any": "@any",
    "abs": "@abs",
    "floor": "@floor",
    "ceiling": "@ceiling",
    "number": "@number",
    "string": "@string",
    "substring": "@substring",
    "decimal": "@decimal",
    "not": "@not",
}
_FEEL_MULTIWORD = sorted((tuple(k.split()) for k in _FEEL_FUNCTIONS if " " in k),
                         key=len, reverse=True)
_FEEL_UNSUPPORTED = {"some": "'some ... satisfies'", "every": "'every ... satisfies'",
                     "for": "'for ... return'", "function": "function definitions",
                     "instance": "'instance of'"}
_FEEL_KEYWORDS = frozenset(["and", "or", "true", "false", "null", "if", "then", "else",
                            "in", "between", "satisfies", "return", "of"]) | frozenset(
    _FEEL_UNSUPPORTED)


class _FeelParser(_Parser):
    def expression(self):
        tok = self.tok
        if self.accept_kw("if"):
            test = self.expression()
            if not self.accept_kw("then"):
                self.fail("expected 'then'")
            body = self.expression()
            if not self.accept_kw("else"):
                self.fail("expected 'else'")
            orelse = self.expression()
            return _at(ast.IfExp(test=test, body=body, orelse=orelse), tok.pos)
        if tok.kind == "name" and tok.value in _FEEL_UNSUPPORTED:
            raise _SyntaxProblem(tok.pos, f"FEEL {_FEEL_UNSUPPORTED[tok.value]} is not supported")
        return self.disjunction()

    def disjunction(self):
        left = self.conjunction()
        while True:
            tok = self.accept_kw("or")
            if not tok:
                return left
            left = _boolop(ast.Or(), left, self.conjunction(), tok.pos)

    def conjunction(self):
        left = self.comparison()
        while True:
            tok = self.accept_kw("and")
            if not tok:
                return left
            left = _boolop(ast.And(), left, self.comparison(), tok.pos)

    def comparison(self):
        left = self.additive()
        tok = self.tok
        if tok.kind == "op" and tok.value in _FEEL_CMP:
            self.advance()
            right = self.additive()
            node = _compare(left, _FEEL_CMP[tok.value](), right, tok.pos)
            if self.tok.kind == "op" and self.tok.value in _FEEL_CMP:
                self.fail("comparisons cannot be chained; use 'and'")
            return node
        if self.accept_kw("between"):
            low = self.additive()
            if not self.accept_kw("and"):
                self.fail("expected 'and' in 'between'")
            high = self.additive()
            return _at(ast.Compare(left=low, ops=[ast.LtE(), ast.LtE()],
                                   comparators=[left, high]), tok.pos)
        if self.accept_kw("in"):
            return self.in_tests(left, tok.pos)
        return left

    def in_tests(self, value, pos):
        """`x in [1, 2]`, `x in (1, 2)`, `x in "a"`, `x in [1..10]`, `x in (0..1]`."""
        start = self.tok
        if start.kind == "op" and start.value in ("[", "(", "]"):
            self.advance()
            first = self.expression()
            if self.accept_op(".."):
                high = self.expression()
                end = self.tok
                if not (end.kind == "op" and end.value in ("]", ")", "[")):
                    self.fail("expected ']' or ')' to close the range")
                self.advance()
                return _call("@range", [value, first, high,
                                        _at(ast.Constant(value=start.value == "["), pos),
                                        _at(ast.Constant(value=end.value == "]"), pos)], pos)
            close = {"[": "]", "(": ")"}.get(start.value)
            if close is None:
                self.fail("expected '..' in range")
            items = [first]
            while self.accept_op(","):
                items.append(self.expression())
            self.expect_op(close)
            if start.value == "[":
                tests = [_at(ast.List(elts=items, ctx=ast.Load()), start.pos)]
            else:
                tests = items
            return _call("@in", [value, _at(ast.List(elts=tests, ctx=ast.Load()), pos)], pos)
        tests = [self.additive()]
        while self.accept_op(","):
            tests.append(self.additive())
        return _call("@in", [value, _at(ast.List(elts=tests, ctx=ast.Load()), pos)], pos)

    def _binary_level(self, table, operand):
        left = operand()
        while self.tok.kind == "op" and self.tok.value in table:
            tok = self.advance()
            right = operand()
            left = _at(ast.BinOp(left=left, op=table[tok.value](), right=right), tok.pos)
        return left

    def additive(self):
        return self._binary_level({"+": ast.Add, "-": ast.Sub}, self.multiplicative)

    def multiplicative(self):
        return self._binary_level({"*": ast.Mult, "/": ast.Div}, self.power)

    def power(self):
        return self._binary_level({"**": ast.Pow}, self.unary)

    def unary(self):
        tok = self.tok
        if self.accept_op("-"):
            return _at(ast.UnaryOp(op=ast.USub(), operand=self.unary()), tok.pos)
        return self.postfix()

    def postfix(self):
        node = self.primary()
        while True:
            tok = self.tok
            if self.accept_op("."):
                name = self.tok
                if name.kind != "name":
                    self.fail("expected a name after '.'")
                self.advance()
                node = _at(ast.Attribute(value=node, attr=name.value, ctx=ast.Load()), name.pos)
            elif self.accept_op("["):
                key = self.expression()
                self.expect_op("]")
                node = _call("@index", [node, key], tok.pos)
            else:
                return node

    def function_name(self):
        """Longest FEEL built-in name (possibly several words) followed by '('."""
        for words in _FEEL_MULTIWORD:
            toks = [self.peek(k) for k in range(len(words))]
            if all(t.kind == "name" and t.value == w for t, w in zip(toks, words, strict=True)):
                after = self.peek(len(words))
                if after.kind == "op" and after.value == "(":
                    return " ".join(words), len(words)
        tok = self.tok
        if tok.kind == "name" and self.peek().kind == "op" and self.peek().value == "(":
            return tok.value, 1
        return None, 0

    def primary(self):
        tok = self.tok
        lit = self.literal()
        if lit is not None:
            return lit
        if tok.kind == "name":
            word = tok.value
            fname, width = self.function_name()
            if fname is not None:
                for _ in range(width + 1):
                    self.advance()
                args = self.args()
                if fname == "not":
                    if len(args) != 1:
                        raise _SyntaxProblem(tok.pos, "not() takes one argument")
                    return _at(ast.UnaryOp(op=ast.Not(), operand=args[0]), tok.pos)
                if fname in _FEEL_FUNCTIONS:
                    return _call(_FEEL_FUNCTIONS[fname], args, tok.pos)
                if fname in PUBLIC_FUNCTIONS:
                    return _call(fname, args, tok.pos)
                raise _SyntaxProblem(tok.pos, f"unknown function '{fname}'")
            if word in ("true", "false", "null"):
                self.advance()
                return _at(ast.Constant(value=_LOWERCASE_CONSTANTS[word]), tok.pos)
            if word in _FEEL_UNSUPPORTED:
                raise _SyntaxProblem(tok.pos, f"FEEL {_FEEL_UNSUPPORTED[word]} is not supported")
            if word in _FEEL_KEYWORDS:
                self.fail()
            self.advance()
            return self.name(tok)
        if self.accept_op("("):
            node = self.expression()
            self.expect_op(")")
            return node
        if self.accept_op("["):
            items = self.args("]")
            return _at(ast.List(elts=items, ctx=ast.Load()), tok.pos)
        if self.accept_op("{"):
            keys, values = [], []
            if not self.accept_op("}"):
                while True:
                    key = self.tok
                    if key.kind not in ("name", "str"):
                        self.fail("expected a key")
                    self.advance()
                    self.expect_op(":")
                    keys.append(_at(ast.Constant(value=key.value), key.pos))
                    values.append(self.expression())
                    if self.accept_op("}"):
                        break
                    self.expect_op(",")
            return _at(ast.Dict(keys=keys, values=values), tok.pos)
        self.fail()


# ---------------------------------------------------------------------------
# Evaluation


class _Evaluator(simpleeval.EvalWithCompoundTypes):
    """simpleeval with names from the variables, dict-only dotted access and whitelisted calls."""

    def __init__(self, variables):
        super().__init__(operators=_OPERATORS, functions=dict(_ALL_FUNCTIONS), names={})
        self.functions = _ALL_FUNCTIONS
        self.ATTR_INDEX_FALLBACK = False
        self.variables = variables
        for node_type in (ast.ListComp, ast.GeneratorExp, ast.DictComp, ast.JoinedStr,
                          ast.FormattedValue, ast.Assign, ast.AugAssign, ast.Import, ast.Expr):
            self.nodes.pop(node_type, None)

    def _eval_name(self, node):
        name = node.id
        try:
            return self.variables[name]
        except KeyError:
            pass
        if name in _LOWERCASE_CONSTANTS:
            return _LOWERCASE_CONSTANTS[name]
        raise _Invalid(f"unknown variable '{name}'", _col(node))

    def _eval_attribute(self, node):
        attr = node.attr
        if attr.startswith("_") or attr in simpleeval.DISALLOW_METHODS:
            raise _Invalid(f"attribute '{attr}' is not allowed", _col(node))
        base = self._eval(node.value)
        if isinstance(base, Mapping):
            try:
                return base[attr]
            except KeyError:
                raise _Invalid(f"'{_describe(node.value)}' has no key '{attr}'",
                               _col(node)) from None
        raise _Invalid(f"cannot read '.{attr}' of '{_describe(node.value)}': it is {_kind(base)}, "
                       "and dotted access only works on objects (dicts)", _col(node))

    def _eval_subscript(self, node):
        container = self._eval(node.value)
        key = self._eval(node.slice)
        try:
            return container[key]
        except KeyError:
            raise _Invalid(f"'{_describe(node.value)}' has no key {key!r}", _col(node)) from None
        except IndexError:
            raise _Invalid(f"index {key!r} is out of range for '{_describe(node.value)}'",
                           _col(node)) from None

    def _eval_call(self, node):
        func = node.func
        if not isinstance(func, ast.Name) or func.id not in self.functions:
            raise _Invalid(f"cannot call '{_describe(func)}'", _col(node))
        function = self.functions[func.id]
        args = [self._eval(a) for a in node.args]
        kwargs = {k.arg: self._eval(k.value) for k in node.keywords}
        return function(*args, **kwargs)


class CompiledExpression:
    """A checked expression, ready to evaluate against a dict of variables."""

    __slots__ = ("source", "dialect", "_tree")

    def __init__(self, source, dialect, tree):
        self.source = source
        self.dialect = dialect
        self._tree = tree  # ast.Expression

    def __repr__(self):
        return f"CompiledExpression({self.source!r}, dialect={self.dialect!r})"

    @property
    def tree(self):
        return self._tree

    def evaluate(self, variables=None):
        if variables is None:
            variables = {}
        if not isinstance(variables, Mapping):
            raise ExpressionError("variables must be a dict", self.source)
        evaluator = _Evaluator(variables)
        try:
            return evaluator.eval(self.source, previously_parsed=self._tree.body)
        except _Invalid as exc:
            raise ExpressionError(exc.message, self.source, exc.column) from None
        except simpleeval.InvalidExpression as exc:
            raise ExpressionError(str(exc), self.source) from None
        except el_coercion.CoercionError as exc:
            raise ExpressionError(str(exc), self.source) from None
        except ZeroDivisionError:
            raise ExpressionError("division by zero", self.source) from None
        except RecursionError:
            raise ExpressionError("expression or data is too deeply nested", self.source) from None
        except MemoryError:
            raise ExpressionError("expression needs too much memory", self.source) from None
        except TypeError as exc:
            raise ExpressionError(f"type error: {exc}", self.source) from None
        except Exception as exc:  # anything else the operands raise
            raise ExpressionError(f"{type(exc).__name__}: {exc}", self.source) from None

    def variables_used(self):
        names = set()
        stack = [self._tree]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Call):
                stack.extend(node.args)
                stack.extend(k.value for k in node.keywords)
                continue
            if isinstance(node, ast.Name):
                if not (self.dialect == "python" and node.id in _LOWERCASE_CONSTANTS):
                    names.add(node.id)
            stack.extend(ast.iter_child_nodes(node))
        return names


def _position(text, offset):
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _syntax_error(text, offset, detail):
    line, column = _position(text, offset)
    where = f"column {column}" if line == 1 else f"line {line}, column {column}"
    return ExpressionError(f"syntax error at {where}: {detail}", text, column)


def _parse_python(text, lead):
    body = text.strip()
    try:
        tree = ast.parse(body, mode="eval")
        shift = lead
    except SyntaxError as first:
        try:  # conditions copied from XML often span lines: allow that
            tree = ast.parse("(" + body + "\n)", mode="eval")
            shift = lead - 1
        except SyntaxError:
            lines = body.split("\n")
            line = min(max(first.lineno or 1, 1), len(lines))
            detail = first.msg
            if not first.offset:  # Python reports errors at the end of the input with offset 0
                offset = len(lines[line - 1])
                if detail == "invalid syntax":
                    detail = "unexpected end of expression"
            else:
                offset = min(first.offset - 1, len(lines[line - 1]))
            absolute = lead + sum(len(x) + 1 for x in lines[: line - 1]) + offset
            raise _syntax_error(text, absolute, detail) from None
    _shift_columns(tree, shift)
    return tree


def _shift_columns(tree, delta):
    """Make first-line column offsets relative to the whole source text."""
    if not delta:
        return
    for node in ast.walk(tree):
        if getattr(node, "col_offset", None) is not None and getattr(node, "lineno", 1) == 1:
            node.col_offset = max(node.col_offset + delta, 0)


def _compile(text):
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"expression is too long ({len(text)} characters, at most {MAX_EXPRESSION_LENGTH})",
            text[:80] + "...")
    stripped = text.strip()
    if not stripped:
        raise ExpressionError("empty expression", text)
    lead = len(text) - len(text.lstrip())
    if stripped[:2] in ("${", "#{"):
        dialect, parser_class, pattern = "juel", _JuelParser, _JUEL_TOKEN
        if not stripped.endswith("}"):
            raise _syntax_error(text, lead + len(stripped), "missing closing '}'")
        body, base = stripped[2:-1], lead + 2
    elif stripped.startswith("="):
        dialect, parser_class, pattern = "feel", _FeelParser, _FEEL_TOKEN
        body, base = stripped[1:], lead + 1
    else:
        dialect = "python"
    try:
        if dialect == "python":
            tree = _parse_python(text, lead)
        else:
            try:
                node = parser_class(_tokenize(body, pattern)).parse()
            except _SyntaxProblem as exc:
                raise _syntax_error(text, base + exc.pos, exc.detail) from None
            _shift_columns(node, base)
            tree = ast.Expression(body=node)
        _validate(tree)
    except _Invalid as exc:
        raise ExpressionError(exc.message, text, exc.column) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("expression is too deeply nested", text) from None
    return CompiledExpression(text, dialect, tree)


@functools.lru_cache(maxsize=4096)
def _compile_cached(text):
    return _compile(text)


def compile_expression(text: str) -> CompiledExpression:
    """Parse and check an expression once (cached by text); raises ExpressionError."""
    if isinstance(text, CompiledExpression):
        return text
    if not isinstance(text, str):
        raise ExpressionError(f"expression must be a string, not {type(text).__name__}",
                              repr(text))
    return _compile_cached(text)


compile_expression.cache_clear = _compile_cached.cache_clear


def evaluate(text, variables=None):
    """Compile (cached) and evaluate an expression; raises ExpressionError."""
    return compile_expression(text).evaluate(variables)


def variables_used(text):
    """Top-level variable names an expression reads (for lint): `order.total` gives {'order'}."""
    return compile_expression(text).variables_used()
