"""Camunda 7's JUEL (`${...}`), parsed to the safe AST.

JUEL keeps EL's meaning: its comparisons compile to the coercing helpers
(`@el_eq`, `@el_lt`, ... from el_coercion) rather than Python's operators,
and `!`, `&&`, `||` and `?:` coerce their operands to booleans as EL does.
A few Java-style methods Camunda 7 conditions use (`size()`, `isEmpty()`,
`contains(x)`, ...) map to safe functions; any other method is refused.
"""
from __future__ import annotations

import ast
import re

from .errors import SyntaxProblem
from .functions import LOWERCASE_CONSTANTS, PUBLIC_FUNCTIONS
from .parsing import NUMBER, STRING, Parser, at, boolop, call, compare, tokenize

__all__ = ["parse_juel"]

_TOKEN = re.compile(
    rf"(?P<ws>\s+)|(?P<num>{NUMBER})|(?P<str>{STRING})"
    r"|(?P<name>[A-Za-z_$][A-Za-z0-9_$]*)"
    r"|(?P<op>&&|\|\||==|!=|<=|>=|[<>!+\-*/%?:.\[\](),])",
    re.S,
)

# Comparisons compile to EL's coercing functions (el_coercion), not Python's operators.
_EQUALITY = {"==": "@el_eq", "eq": "@el_eq", "!=": "@el_ne", "ne": "@el_ne"}
_RELATIONAL = {"<": "@el_lt", "lt": "@el_lt", ">": "@el_gt", "gt": "@el_gt", "<=": "@el_le",
               "le": "@el_le", ">=": "@el_ge", "ge": "@el_ge"}
_BOOLEAN_HELPERS = frozenset(["@el_bool", "@empty", *_EQUALITY.values(), *_RELATIONAL.values()])
_ADDITIVE = {"+": ast.Add, "-": ast.Sub}
_MULTIPLICATIVE = {"*": ast.Mult, "/": ast.Div, "div": ast.Div, "%": ast.Mod, "mod": ast.Mod}
_KEYWORDS = frozenset(["and", "or", "not", "eq", "ne", "lt", "gt", "le", "ge", "div",
                       "mod", "empty", "true", "false", "null", "instanceof"])
_NO_ARGUMENT_METHODS = {"toLowerCase": "@lower", "toUpperCase": "@upper", "trim": "@trim"}


def parse_juel(body: str) -> ast.expr:
    """The expression between `${` and `}` as a safe-AST node; offsets are into body."""
    return _JuelParser(tokenize(body, _TOKEN)).parse()


def _el_boolean(node):
    """The node coerced to a boolean as EL does for `!`, `&&`, `||` and `?:` (a no-op where it is one)."""
    if isinstance(getattr(node, "op", None), (ast.And, ast.Or, ast.Not)):
        return node
    if isinstance(node, ast.Call) and node.func.id in _BOOLEAN_HELPERS:
        return node
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return node
    return call("@el_bool", [node], node.col_offset)


class _JuelParser(Parser):
    def expression(self):
        cond = self.or_()
        tok = self.accept_op("?")
        if tok:
            body = self.expression()
            self.expect_op(":")
            orelse = self.expression()
            return at(ast.IfExp(test=_el_boolean(cond), body=body, orelse=orelse), tok.pos)
        return cond

    def or_(self):
        left = self.and_()
        while True:
            tok = self.accept_op("||") or self.accept_kw("or")
            if not tok:
                return left
            left = boolop(ast.Or(), _el_boolean(left), _el_boolean(self.and_()), tok.pos)

    def and_(self):
        left = self.equality()
        while True:
            tok = self.accept_op("&&") or self.accept_kw("and")
            if not tok:
                return left
            left = boolop(ast.And(), _el_boolean(left), _el_boolean(self.equality()), tok.pos)

    def equality(self):
        return self.binary_level(_EQUALITY, self.relational)

    def relational(self):
        return self.binary_level(_RELATIONAL, self.additive)

    def additive(self):
        return self.binary_level(_ADDITIVE, self.multiplicative)

    def multiplicative(self):
        return self.binary_level(_MULTIPLICATIVE, self.unary)

    def unary(self):
        tok = self.tok
        if self.accept_op("-"):
            return at(ast.UnaryOp(op=ast.USub(), operand=self.unary()), tok.pos)
        if self.accept_op("!") or self.accept_kw("not"):
            return at(ast.UnaryOp(op=ast.Not(), operand=_el_boolean(self.unary())), tok.pos)
        if self.accept_kw("empty"):
            return call("@empty", [self.unary()], tok.pos)
        return self.value()

    def value(self):
        node = self.primary()
        while True:
            tok = self.tok
            if self.accept_op("."):
                node = self.property_or_method(node)
            elif self.accept_op("["):
                key = self.expression()
                self.expect_op("]")
                node = at(ast.Subscript(value=node, slice=key, ctx=ast.Load()), tok.pos)
            else:
                return node

    def property_or_method(self, obj):
        """What follows a '.': `obj.name` or `obj.name(args)`."""
        name = self.tok
        if name.kind != "name":
            self.fail("expected a property name after '.'")
        self.advance()
        if self.accept_op("("):
            return self.method(obj, name, self.args())
        return at(ast.Attribute(value=obj, attr=name.value, ctx=ast.Load()), name.pos)

    def method(self, obj, name, args):
        """A few Java-style methods that Camunda 7 conditions use, mapped to safe helpers."""
        n, pos = name.value, name.pos
        if n in ("size", "length") and not args:
            return call("len", [obj], pos)
        if n == "isEmpty" and not args:
            return call("@empty", [obj], pos)
        if n == "contains" and len(args) == 1:
            return compare(args[0], ast.In(), obj, pos)
        if n == "equals" and len(args) == 1:
            return compare(obj, ast.Eq(), args[0], pos)
        if n in ("startsWith", "endsWith") and len(args) == 1:
            return call("@startswith" if n == "startsWith" else "@endswith", [obj, args[0]], pos)
        if n in _NO_ARGUMENT_METHODS and not args:
            return call(_NO_ARGUMENT_METHODS[n], [obj], pos)
        raise SyntaxProblem(pos, f"method '{n}()' is not supported")

    def primary(self):
        tok = self.tok
        lit = self.literal()
        if lit is not None:
            return lit
        if tok.kind == "name":
            return self.word(tok)
        if self.accept_op("("):
            node = self.expression()
            self.expect_op(")")
            return node
        self.fail()

    def word(self, tok):
        """A constant, a call of a public function, or a variable."""
        word = tok.value
        if word in LOWERCASE_CONSTANTS:
            self.advance()
            return at(ast.Constant(value=LOWERCASE_CONSTANTS[word]), tok.pos)
        if word in _KEYWORDS:
            self.fail()
        self.advance()
        if self.is_op("(") and word in PUBLIC_FUNCTIONS:
            self.advance()
            return call(word, self.args(), tok.pos)
        if self.is_op("("):
            raise SyntaxProblem(tok.pos, f"unknown function '{word}'")
        return self.name(tok)
