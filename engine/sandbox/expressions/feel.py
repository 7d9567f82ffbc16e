"""Camunda 8's FEEL (`=...`), parsed to the safe AST.

The subset Camunda 8 conditions use: comparisons (`=` is equality),
`and`/`or`, `if ... then ... else`, `between`, `in` with lists and ranges
(`x in [1..10]`, `x in (0..1]`), lists and contexts, 1-based indexing, and
the common built-ins (`string length(s)`, `list contains(l, x)`, ...),
which compile to the '@' helpers of functions. Iteration, quantifiers and
function definitions are refused by name.
"""
from __future__ import annotations

import ast
import re

from .errors import SyntaxProblem
from .functions import LOWERCASE_CONSTANTS, PUBLIC_FUNCTIONS
from .parsing import NUMBER, STRING, Parser, at, boolop, call, compare, tokenize

__all__ = ["parse_feel"]

_TOKEN = re.compile(
    rf"(?P<ws>\s+)|(?P<num>{NUMBER})|(?P<str>{STRING})"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>\*\*|\.\.|==|!=|<=|>=|[=<>+\-*/.\[\](){},:])",
    re.S,
)

_COMPARISONS = {"=": ast.Eq, "==": ast.Eq, "!=": ast.NotEq, "<": ast.Lt, "<=": ast.LtE,
                ">": ast.Gt, ">=": ast.GtE}
_ADDITIVE = {"+": ast.Add, "-": ast.Sub}
_MULTIPLICATIVE = {"*": ast.Mult, "/": ast.Div}
_POWER = {"**": ast.Pow}
_FUNCTIONS = {
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
# Built-in names of several words, longest first so that the longest match wins.
_MULTIWORD = sorted((tuple(k.split()) for k in _FUNCTIONS if " " in k), key=len, reverse=True)
_UNSUPPORTED = {"some": "'some ... satisfies'", "every": "'every ... satisfies'",
                "for": "'for ... return'", "function": "function definitions",
                "instance": "'instance of'"}
_KEYWORDS = frozenset(["and", "or", "true", "false", "null", "if", "then", "else",
                       "in", "between", "satisfies", "return", "of"]) | frozenset(_UNSUPPORTED)


def parse_feel(body: str) -> ast.expr:
    """The expression after `=` as a safe-AST node; offsets are into body."""
    return _FeelParser(tokenize(body, _TOKEN)).parse()


class _FeelParser(Parser):
    def expression(self):
        tok = self.tok
        if self.accept_kw("if"):
            return self.if_then_else(tok)
        if tok.kind == "name" and tok.value in _UNSUPPORTED:
            raise SyntaxProblem(tok.pos, f"FEEL {_UNSUPPORTED[tok.value]} is not supported")
        return self.disjunction()

    def if_then_else(self, tok):
        test = self.expression()
        if not self.accept_kw("then"):
            self.fail("expected 'then'")
        body = self.expression()
        if not self.accept_kw("else"):
            self.fail("expected 'else'")
        orelse = self.expression()
        return at(ast.IfExp(test=test, body=body, orelse=orelse), tok.pos)

    def disjunction(self):
        left = self.conjunction()
        while True:
            tok = self.accept_kw("or")
            if not tok:
                return left
            left = boolop(ast.Or(), left, self.conjunction(), tok.pos)

    def conjunction(self):
        left = self.comparison()
        while True:
            tok = self.accept_kw("and")
            if not tok:
                return left
            left = boolop(ast.And(), left, self.comparison(), tok.pos)

    def comparison(self):
        left = self.additive()
        tok = self.tok
        if tok.kind == "op" and tok.value in _COMPARISONS:
            self.advance()
            right = self.additive()
            node = compare(left, _COMPARISONS[tok.value](), right, tok.pos)
            if self.tok.kind == "op" and self.tok.value in _COMPARISONS:
                self.fail("comparisons cannot be chained; use 'and'")
            return node
        if self.accept_kw("between"):
            return self.between(left, tok)
        if self.accept_kw("in"):
            return self.in_tests(left, tok.pos)
        return left

    def between(self, value, tok):
        low = self.additive()
        if not self.accept_kw("and"):
            self.fail("expected 'and' in 'between'")
        high = self.additive()
        return at(ast.Compare(left=low, ops=[ast.LtE(), ast.LtE()], comparators=[value, high]), tok.pos)

    def in_tests(self, value, pos):
        """`x in [1, 2]`, `x in (1, 2)`, `x in "a"`, `x in [1..10]`, `x in (0..1]`."""
        start = self.tok
        if start.kind == "op" and start.value in ("[", "(", "]"):
            self.advance()
            first = self.expression()
            if self.accept_op(".."):
                return self.in_range(value, start, first, pos)
            return self.in_bracketed(value, start, first, pos)
        tests = [self.additive()]
        while self.accept_op(","):
            tests.append(self.additive())
        return call("@in", [value, at(ast.List(elts=tests, ctx=ast.Load()), pos)], pos)

    def in_range(self, value, start, low, pos):
        """`x in [low..high]`, each end open or closed; the '..' has been read."""
        high = self.expression()
        end = self.tok
        if not (end.kind == "op" and end.value in ("]", ")", "[")):
            self.fail("expected ']' or ')' to close the range")
        self.advance()
        return call("@range", [value, low, high,
                               at(ast.Constant(value=start.value == "["), pos),
                               at(ast.Constant(value=end.value == "]"), pos)], pos)

    def in_bracketed(self, value, start, first, pos):
        """`x in [a, b]` (x is in the list) or `x in (a, b)` (x passes one of the tests)."""
        close = {"[": "]", "(": ")"}.get(start.value)
        if close is None:
            self.fail("expected '..' in range")
        items = [first]
        while self.accept_op(","):
            items.append(self.expression())
        self.expect_op(close)
        if start.value == "[":
            tests = [at(ast.List(elts=items, ctx=ast.Load()), start.pos)]
        else:
            tests = items
        return call("@in", [value, at(ast.List(elts=tests, ctx=ast.Load()), pos)], pos)

    def additive(self):
        return self.binary_level(_ADDITIVE, self.multiplicative)

    def multiplicative(self):
        return self.binary_level(_MULTIPLICATIVE, self.power)

    def power(self):
        return self.binary_level(_POWER, self.unary)

    def unary(self):
        tok = self.tok
        if self.accept_op("-"):
            return at(ast.UnaryOp(op=ast.USub(), operand=self.unary()), tok.pos)
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
                node = at(ast.Attribute(value=node, attr=name.value, ctx=ast.Load()), name.pos)
            elif self.accept_op("["):
                key = self.expression()
                self.expect_op("]")
                node = call("@index", [node, key], tok.pos)
            else:
                return node

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
        if self.accept_op("["):
            items = self.args("]")
            return at(ast.List(elts=items, ctx=ast.Load()), tok.pos)
        if self.accept_op("{"):
            return self.context(tok)
        self.fail()

    def word(self, tok):
        """A function call, a constant or a variable."""
        fname, width = self.function_name()
        if fname is not None:
            for _ in range(width + 1):
                self.advance()
            return self.function_call(fname, self.args(), tok)
        word = tok.value
        if word in LOWERCASE_CONSTANTS:
            self.advance()
            return at(ast.Constant(value=LOWERCASE_CONSTANTS[word]), tok.pos)
        if word in _UNSUPPORTED:
            raise SyntaxProblem(tok.pos, f"FEEL {_UNSUPPORTED[word]} is not supported")
        if word in _KEYWORDS:
            self.fail()
        self.advance()
        return self.name(tok)

    def function_name(self):
        """Longest FEEL built-in name (possibly several words) followed by '('."""
        for words in _MULTIWORD:
            toks = [self.peek(k) for k in range(len(words))]
            if all(t.kind == "name" and t.value == w for t, w in zip(toks, words, strict=True)):
                after = self.peek(len(words))
                if after.kind == "op" and after.value == "(":
                    return " ".join(words), len(words)
        tok = self.tok
        if tok.kind == "name" and self.peek().kind == "op" and self.peek().value == "(":
            return tok.value, 1
        return None, 0

    def function_call(self, fname, args, tok):
        if fname == "not":
            if len(args) != 1:
                raise SyntaxProblem(tok.pos, "not() takes one argument")
            return at(ast.UnaryOp(op=ast.Not(), operand=args[0]), tok.pos)
        if fname in _FUNCTIONS:
            return call(_FUNCTIONS[fname], args, tok.pos)
        if fname in PUBLIC_FUNCTIONS:
            return call(fname, args, tok.pos)
        raise SyntaxProblem(tok.pos, f"unknown function '{fname}'")

    def context(self, tok):
        """`{key: value, "other key": value}`; the '{' has been read."""
        keys, values = [], []
        if not self.accept_op("}"):
            while True:
                key = self.tok
                if key.kind not in ("name", "str"):
                    self.fail("expected a key")
                self.advance()
                self.expect_op(":")
                keys.append(at(ast.Constant(value=key.value), key.pos))
                values.append(self.expression())
                if self.accept_op("}"):
                    break
                self.expect_op(",")
        return at(ast.Dict(keys=keys, values=values), tok.pos)
