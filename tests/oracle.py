"""A reference evaluator: walks the AST directly, independent of the code generator, so the
compiled code can be checked against it. Slow and simple on purpose."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from engine.load import ast


def evaluate(node: ast.Node, env: dict[str, Any]) -> Any:
    match node:
        case ast.Literal(value=value):
            return value
        case ast.Name(name=name):
            return env[name]
        case ast.Unary(op="-", operand=operand):
            return -evaluate(operand, env)
        case ast.Unary(op="not", operand=operand):
            return not evaluate(operand, env)
        case ast.Cond(test=test, then=then, otherwise=otherwise):
            return evaluate(then if evaluate(test, env) else otherwise, env)
        case ast.Let(name=name, value=value, body=body):
            return evaluate(body, {**env, name: evaluate(value, env)})
        case ast.Binary(op=op, left=left, right=right):
            return _binary(op, evaluate(left, env), lambda: evaluate(right, env))
        case ast.Call(function="round", args=(value, places, mode)):
            assert evaluate(mode, env) == "half_up"
            exponent = Decimal(1).scaleb(-evaluate(places, env))
            return Decimal(evaluate(value, env)).quantize(exponent, rounding=ROUND_HALF_UP)
        case ast.Call(function="abs", args=(value,)):
            return abs(evaluate(value, env))
        case ast.Call(function="min", args=(a, b)):
            return min(evaluate(a, env), evaluate(b, env))
        case ast.Call(function="max", args=(a, b)):
            return max(evaluate(a, env), evaluate(b, env))
    raise NotImplementedError(type(node).__name__)


def _binary(op: str, left: Any, right: Any) -> Any:
    if op == "??":
        return left if left is not None else right()
    if op == "and":
        return left and right()
    if op == "or":
        return left or right()
    value = right()
    if op == "/":
        return Decimal(left) / Decimal(value)
    return {"+": lambda: left + value, "-": lambda: left - value, "*": lambda: left * value,
            "==": lambda: left == value, "!=": lambda: left != value, "<": lambda: left < value,
            "<=": lambda: left <= value, ">": lambda: left > value,
            ">=": lambda: left >= value}[op]()
