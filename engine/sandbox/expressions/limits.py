"""How big an expression, and the values it makes, may get.

These sit on top of simpleeval's own MAX_POWER / MAX_STRING_LENGTH guards;
the string limit is read from simpleeval each time so that there is one
number for both. The parsers use the nesting limits, the evaluator and its
functions the value limits.
"""
from __future__ import annotations

import simpleeval

MAX_EXPRESSION_LENGTH = 10_000  # characters of source text
MAX_DEPTH = 60  # nesting of the expression tree (keeps evaluation far from the recursion limit)
MAX_BRACKET_DEPTH = 30
MAX_INT_BITS = 100_000  # no integer result larger than this (about 30,000 digits)
MAX_ROUND_DIGITS = 300


def string_limit() -> int:
    """The largest string (and, by weight, value) an expression may build."""
    return simpleeval.MAX_STRING_LENGTH


def too_big(what: str = "that value") -> Exception:
    return simpleeval.IterableTooLong(f"Sorry, {what} would be too large.")


def check_int(value):
    """value itself, unless it is an integer past MAX_INT_BITS."""
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise simpleeval.NumberTooHigh("Sorry, that number would be too large.")
    return value
