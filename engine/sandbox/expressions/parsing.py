"""What the JUEL and FEEL parsers share: the tokenizer, AST node builders, a recursive-descent base.

Both dialects are small enough for a hand-written recursive-descent parser,
which gives errors with exact columns in our own words. Each dialect passes
its own token pattern (built from NUMBER and STRING here) and subclasses
Parser with its grammar; the nodes they build are the Python AST of
safe_ast, positioned with at() so errors point into the source text.
"""
from __future__ import annotations

import ast
import re
from typing import TypeVar

from .errors import SyntaxProblem
from .limits import MAX_BRACKET_DEPTH, string_limit

__all__ = ["NUMBER", "STRING", "Token", "tokenize", "at", "call", "compare", "boolop", "Parser",
           "shift_columns"]

NUMBER = r"(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?"
STRING = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""

_Node = TypeVar("_Node", bound=ast.expr)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}


class Token:
    __slots__ = ("kind", "value", "pos")

    def __init__(self, kind, value, pos):
        self.kind = kind  # 'num' 'str' 'name' 'op' 'eof'
        self.value = value
        self.pos = pos

    def __repr__(self):  # pragma: no cover - debugging aid
        return f"Token({self.kind}, {self.value!r}, {self.pos})"


def tokenize(body: str, pattern: re.Pattern) -> list[Token]:
    """body as tokens ending with 'eof'; pattern has groups ws, num, str, name and op."""
    tokens = []
    pos = 0
    depth = 0
    while pos < len(body):
        m = pattern.match(body, pos)
        if not m:
            ch = body[pos]
            if ch in "'\"":
                raise SyntaxProblem(pos, "unterminated string")
            raise SyntaxProblem(pos, f"unexpected character {ch!r}")
        token = _token(m.lastgroup, m.group(), pos)
        if token is not None:
            depth = _bracket_depth(token, depth)
            tokens.append(token)
        pos = m.end()
    tokens.append(Token("eof", None, len(body)))
    return tokens


def _token(kind, text, pos):
    """The token for one match, or None for whitespace."""
    if kind == "num":
        value = float(text) if any(c in text for c in ".eE") else int(text)
        return Token("num", value, pos)
    if kind == "str":
        if len(text) - 2 > string_limit():
            raise SyntaxProblem(pos, "string literal is too long")
        return Token("str", _unescape(text[1:-1]), pos)
    if kind in ("name", "op"):
        return Token(kind, text, pos)
    return None


def _bracket_depth(token, depth):
    """The bracket depth after token, refused past MAX_BRACKET_DEPTH (deep nesting would recurse)."""
    if token.kind != "op":
        return depth
    if token.value in ("(", "[", "{"):
        depth += 1
        if depth > MAX_BRACKET_DEPTH:
            raise SyntaxProblem(token.pos, "too deeply nested")
    elif token.value in (")", "]", "}"):
        depth -= 1
    return depth


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


# ---------------------------------------------------------------------------
# AST node builders


def at(node: _Node, pos: int) -> _Node:
    """node, placed at offset pos of line 1."""
    node.lineno = 1
    node.end_lineno = 1
    node.col_offset = pos
    node.end_col_offset = pos
    return node


def call(name: str, args: list[ast.expr], pos: int) -> ast.Call:
    return at(ast.Call(func=at(ast.Name(id=name, ctx=ast.Load()), pos), args=list(args), keywords=[]), pos)


def compare(left: ast.expr, op: ast.cmpop, right: ast.expr, pos: int) -> ast.Compare:
    return at(ast.Compare(left=left, ops=[op], comparators=[right]), pos)


def boolop(op: ast.boolop, left: ast.expr, right: ast.expr, pos: int) -> ast.BoolOp:
    """`left op right`, flattened into left when it is the same operator (as Python parses `a and b and c`)."""
    if isinstance(left, ast.BoolOp) and isinstance(left.op, type(op)):
        left.values.append(right)
        return left
    return at(ast.BoolOp(op=op, values=[left, right]), pos)


def shift_columns(tree: ast.AST, delta: int) -> None:
    """Make first-line column offsets relative to the whole source text."""
    if not delta:
        return
    for node in ast.walk(tree):
        if getattr(node, "col_offset", None) is not None and getattr(node, "lineno", 1) == 1:
            node.col_offset = max(node.col_offset + delta, 0)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------
# Recursive descent


class Parser:
    """Recursive-descent helpers shared by JUEL and FEEL; a subclass defines expression()."""

    def __init__(self, tokens: list[Token]):
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

    def binary_level(self, table, operand):
        """One precedence level of left-associative binary operators: `table` maps an operator (a
        symbol, or a word such as JUEL's `div`) to the ast operator class it builds, or to the name of
        the function a comparison calls (JUEL's coercing comparisons); `operand` parses the next
        tighter level."""
        left = operand()
        while self.tok.kind in ("op", "name") and self.tok.value in table:
            tok = self.advance()
            right = operand()
            op = table[tok.value]
            if isinstance(op, str):
                left = call(op, [left, right], tok.pos)
            else:
                left = at(ast.BinOp(left=left, op=op(), right=right), tok.pos)
        return left

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
        raise SyntaxProblem(tok.pos, detail)

    def parse(self) -> ast.expr:
        """The whole token list as one expression node."""
        if self.tok.kind == "eof":
            raise SyntaxProblem(0, "empty expression")
        node = self.expression()
        if self.tok.kind != "eof":
            self.fail("expected end of expression")
        return node

    def expression(self) -> ast.expr:  # pragma: no cover - each dialect defines it
        raise NotImplementedError

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
            return at(ast.Constant(value=tok.value), tok.pos)
        return None

    def name(self, tok):
        return at(ast.Name(id=tok.value, ctx=ast.Load()), tok.pos)
