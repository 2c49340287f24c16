"""Small builders for the Python syntax tree the compiler generates.

Generated code is built as a tree of `ast` nodes, never as text: a name or text from a
spec can only ever be a string constant or an identifier checked here, so it cannot turn
into Python syntax. Every builder returns a plain `ast` node.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from typing import TypeVar

from engine.errors import Span
from engine.escape import printable

Expr = ast.expr
Stmt = ast.stmt
N = TypeVar("N", bound=ast.AST)
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_OPERATORS: dict[str, ast.operator] = {"+": ast.Add(), "-": ast.Sub()}
_COMPARISONS: dict[str, type[ast.cmpop]] = {
    "==": ast.Eq, "!=": ast.NotEq, "<": ast.Lt, "<=": ast.LtE, ">": ast.Gt, ">=": ast.GtE,
    "in": ast.In, "is": ast.Is, "is not": ast.IsNot,
}


class CompileBug(AssertionError):
    """The compiler was asked to build something it must never build (a bug, not input)."""


def identifier(text: str) -> str:
    """A Python identifier the generator composed; anything else is a compiler bug (names
    from a spec were checked against the identifier rule at load)."""
    if not _IDENTIFIER.match(text):
        raise CompileBug(f"not an identifier: {text!r}")
    return text


def name(text: str) -> ast.Name:
    return ast.Name(identifier(text), ast.Load())


def store(text: str) -> ast.Name:
    return ast.Name(identifier(text), ast.Store())


def const(value: str | int | bool | None) -> Expr:
    """A constant; a negative integer is a negation (as Python itself parses it)."""
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        return ast.UnaryOp(ast.USub(), ast.Constant(-value))
    return ast.Constant(value)


def call(function: str | Expr, *args: Expr, **keywords: Expr) -> ast.Call:
    target = name(function) if isinstance(function, str) else function
    return ast.Call(target, list(args), [ast.keyword(k, v) for k, v in keywords.items()])


def item(target: Expr, key: Expr) -> ast.Subscript:
    return ast.Subscript(target, key, ast.Load())


def item_store(target: Expr, key: Expr) -> ast.Subscript:
    return ast.Subscript(target, key, ast.Store())


def binary(op: str, left: Expr, right: Expr) -> Expr:
    return ast.BinOp(left, _OPERATORS[op], right)


def compare(op: str, left: Expr, right: Expr) -> ast.Compare:
    return ast.Compare(left, [_COMPARISONS[op]()], [right])


def boolean(op: str, left: Expr, right: Expr) -> ast.BoolOp:
    return ast.BoolOp(ast.And() if op == "and" else ast.Or(), [left, right])


def negate(operand: Expr) -> ast.UnaryOp:
    return ast.UnaryOp(ast.USub(), operand)


def not_(operand: Expr) -> ast.UnaryOp:
    return ast.UnaryOp(ast.Not(), operand)


def if_else(test: Expr, then: Expr, otherwise: Expr) -> ast.IfExp:
    return ast.IfExp(test, then, otherwise)


def present_or(value: Expr, otherwise: Expr) -> ast.IfExp:
    """`value if value is not None else otherwise` (value is evaluated twice: keep it cheap)."""
    return ast.IfExp(compare("is not", value, const(None)), value, otherwise)


def tuple_(items: Sequence[Expr]) -> ast.Tuple:
    return ast.Tuple(list(items), ast.Load())


def list_(items: Sequence[Expr]) -> ast.List:
    return ast.List(list(items), ast.Load())


def record(fields: Sequence[tuple[str, Expr]], base: Expr | None = None) -> ast.Dict:
    """A dict literal with constant keys; with a base, `{**base, key: value, ...}`."""
    keys: list[Expr | None] = [None] if base is not None else []
    values: list[Expr] = [base] if base is not None else []
    keys += [ast.Constant(key) for key, _ in fields]
    values += [value for _, value in fields]
    return ast.Dict(keys, values)


def lambda_(param: str, body: Expr) -> ast.Lambda:
    return ast.Lambda(_arguments([param]), body)


def comprehension(var: str, source: Expr, condition: Expr | None = None) -> ast.comprehension:
    return ast.comprehension(store(var), source, [condition] if condition is not None else [],
                             0)


def list_comp(element: Expr, var: str, source: Expr, condition: Expr | None = None
              ) -> ast.ListComp:
    return ast.ListComp(element, [comprehension(var, source, condition)])


def generator(element: Expr, var: str, source: Expr) -> ast.GeneratorExp:
    return ast.GeneratorExp(element, [comprehension(var, source)])


# Statements carry a placeholder line (unparse reads it); real lines come from the text.
def assign(target: str | Expr, value: Expr) -> ast.Assign:
    return ast.Assign([store(target) if isinstance(target, str) else target], value, lineno=0)


def assign_many(targets: Sequence[Expr], value: Expr) -> ast.Assign:
    return ast.Assign(list(targets), value, lineno=0)


def if_(test: Expr, body: Sequence[Stmt], orelse: Sequence[Stmt] = ()) -> ast.If:
    return ast.If(test, list(body), list(orelse))


def for_(var: str, source: Expr, body: Sequence[Stmt]) -> ast.For:
    return ast.For(store(var), source, list(body), [], lineno=0)


def return_(value: Expr | None = None) -> ast.Return:
    return ast.Return(value)


def do(value: Expr) -> ast.Expr:
    """An expression evaluated for its effect (a call)."""
    return ast.Expr(value)


def docstring(text: str) -> ast.Expr:
    """A docstring. Unparse writes a docstring's text as it is, so every character that
    would not read back the same (a NUL, a carriage return, a line separator from a spec's
    name or description) is written as a visible escape; the text is for reading only."""
    return ast.Expr(ast.Constant("\n".join(printable(line) for line in text.split("\n"))))


def function(function_name: str, params: Sequence[str], body: Sequence[Stmt],
             doc: str | None = None) -> ast.FunctionDef:
    statements: list[Stmt] = [docstring(doc)] if doc is not None else []
    statements += body
    return ast.FunctionDef(identifier(function_name), _arguments(params),
                           statements or [ast.Pass()], [], None, None, lineno=0)


def _arguments(params: Sequence[str]) -> ast.arguments:
    return ast.arguments([], [ast.arg(identifier(p)) for p in params], None, [], [], None, [])


def nodes(root: ast.AST) -> list[ast.AST]:
    """Every node under root, parents before children, in a fixed order (a faster
    `ast.walk`: two trees of the same shape list their nodes in the same order)."""
    found: list[ast.AST] = []
    stack: list[object] = [root]
    pop, push, extend, AST = stack.pop, stack.append, stack.extend, ast.AST
    while stack:
        node = pop()
        if not isinstance(node, AST):
            continue  # a dict literal's None key (`**base`)
        found.append(node)
        for field in node._fields:
            value = getattr(node, field)
            if type(value) is list:
                extend(reversed(value))
            elif isinstance(value, AST):
                push(value)
    return found


class Spans:
    """The YAML span each generated node came from, by node identity."""

    def __init__(self) -> None:
        self._spans: dict[int, tuple[ast.AST, Span]] = {}

    def mark(self, node: N, span: Span) -> N:
        """Tag node with span (the first, innermost tag wins) and return it."""
        self._spans.setdefault(id(node), (node, span))
        return node

    def get(self, node: ast.AST) -> Span | None:
        found = self._spans.get(id(node))
        return found[1] if found is not None and found[0] is node else None
