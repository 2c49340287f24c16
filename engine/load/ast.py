"""Expression AST. Every node is immutable and carries the span it was parsed from."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from engine.errors import Span


@dataclass(frozen=True)
class Node:
    span: Span


@dataclass(frozen=True)
class Literal(Node):
    value: str | int | Decimal | bool | None


@dataclass(frozen=True)
class Name(Node):
    name: str


@dataclass(frozen=True)
class Field(Node):
    target: Node
    name: str


@dataclass(frozen=True)
class Unwrap(Node):
    target: Node


@dataclass(frozen=True)
class Index(Node):
    target: Node
    index: Node


@dataclass(frozen=True)
class Lambda(Node):
    param: str
    body: Node


@dataclass(frozen=True)
class Call(Node):
    function: str
    args: tuple[Node, ...]
    named: tuple[tuple[str, Node], ...]


@dataclass(frozen=True)
class Unary(Node):
    op: str  # "-" or "not"
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str  # + - * / == != < <= > >= and or ?? in
    left: Node
    right: Node


@dataclass(frozen=True)
class Cond(Node):
    test: Node
    then: Node
    otherwise: Node


@dataclass(frozen=True)
class Let(Node):
    """`let name = value in body`: value computed once, named in body."""

    name: str
    value: Node
    body: Node


@dataclass(frozen=True)
class ListLit(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class RecordLit(Node):
    fields: tuple[tuple[str, Node], ...]


@dataclass(frozen=True)
class RecordUpdate(Node):
    """`target with {field: value, ...}`: a copy of a record with fields replaced or added."""

    target: Node
    fields: tuple[tuple[str, Node], ...]


@dataclass(frozen=True)
class Template(Node):
    """A message template: literal text and embedded {expression} parts, joined as text."""

    parts: tuple[Node, ...]


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of a node, in source order."""
    match node:
        case Field(target=t) | Unwrap(target=t):
            return (t,)
        case Index(target=t, index=i):
            return (t, i)
        case Lambda(body=b):
            return (b,)
        case Call(args=args, named=named):
            return (*args, *(value for _, value in named))
        case Unary(operand=o):
            return (o,)
        case Binary(left=left, right=right):
            return (left, right)
        case Cond(test=t, then=a, otherwise=b):
            return (t, a, b)
        case Let(value=v, body=b):
            return (v, b)
        case ListLit(items=items) | Template(parts=items):
            return items
        case RecordLit(fields=fields):
            return tuple(value for _, value in fields)
        case RecordUpdate(target=t, fields=fields):
            return (t, *(value for _, value in fields))
    return ()


def walk(node: Node) -> list[Node]:
    """Every node of the tree, parents before children."""
    found = [node]
    for child in children(node):
        found.extend(walk(child))
    return found
