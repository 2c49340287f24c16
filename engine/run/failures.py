"""Failures of generated code on one record, said in words (never a Python class name)."""

from __future__ import annotations

import decimal

from engine.compile import runtime
from engine.compile.source import Failure

# Failures of generated code on one record; anything else is a bug of the engine and stops.
RULE_FAILURES = (runtime.RuleError, ArithmeticError, LookupError, TypeError, ValueError)
_ARITHMETIC = (
    (decimal.DivisionByZero, "division by zero"),
    (ZeroDivisionError, "division by zero"),
    (decimal.Overflow, "a result is out of range (too large for 40 significant digits)"),
    (decimal.InvalidOperation, "an arithmetic operation has no valid result (for example "
     "an amount out of range, or 0/0)"),
    (OverflowError, "a result is out of range"),
    (ValueError, "a value is out of range"),
)


def in_words(error: BaseException) -> str:
    """What went wrong, for a person: the runtime's own message, or the arithmetic failure
    named in words; anything else is an engine fault, said as such."""
    if isinstance(error, runtime.RuleError):
        return str(error)
    for kind, words in _ARITHMETIC:
        if isinstance(error, kind):
            return words
    return "the engine could not evaluate this expression (an internal fault; please report it)"


def described(failure: Failure, what: str, error: BaseException) -> str:
    """`<rule x> failed at file:line:col: <words>`."""
    owner = failure.owner.label if failure.owner else what
    where = f" at {failure.where()}" if failure.span else ""
    return f"{owner} failed{where}: {in_words(error)}"
