"""load: expressions parse (LALR) into nodes whose spans point into the YAML file."""

from decimal import Decimal

import pytest

from engine.errors import Collector
from engine.load import ast
from engine.load.expr_parser import Origin, parse_expression, parse_template


def parse(text: str) -> ast.Node:
    collector = Collector()
    node = parse_expression(text, Origin("r.yaml", 10, 7), collector)
    assert node is not None, collector.diagnostics
    return node


def test_numeric_literals_are_decimals_or_ints_never_floats() -> None:
    """`1.10` is Decimal('1.10') with its digits; `3` is an int."""
    node = parse("1.10 + 3")
    assert isinstance(node, ast.Binary)
    assert node.left == ast.Literal(node.left.span, Decimal("1.10"))
    assert node.right == ast.Literal(node.right.span, 3)


def test_spans_are_offset_by_the_scalar_position() -> None:
    """A node's span is its place in the YAML file: line of the scalar, column plus offset."""
    node = parse("a.b ?? 0")
    assert isinstance(node, ast.Binary)
    assert (node.left.span.line, node.left.span.col, node.left.span.end_col) == (10, 7, 10)
    assert (node.right.span.col, node.span.end_col) == (14, 15)


def test_precedence_and_forms() -> None:
    """Arithmetic binds tighter than comparison, `and` tighter than `or`, `??` loosest."""
    node = parse("x ?? a + b * c > d or e and f")
    assert isinstance(node, ast.Binary) and node.op == "??"
    right = node.right
    assert isinstance(right, ast.Binary) and right.op == "or"
    call = parse("lookup(rate_card_row, role: e.role, at: e.work_date)")
    assert isinstance(call, ast.Call) and [k for k, _ in call.named] == ["role", "at"]
    lam = parse("map(xs, x => {a: x.b})")
    assert isinstance(lam, ast.Call) and isinstance(lam.args[1], ast.Lambda)
    cond = parse("if a then 1 else 2")
    assert isinstance(cond, ast.Cond)


@pytest.mark.parametrize("text", ["a +", "f(,)", "a b", "{a 1}", "'open"])
def test_syntax_errors_are_e103_with_a_location(text: str) -> None:
    """Bad expressions are reported as E103 inside the YAML file, never as lark's message."""
    collector = Collector()
    assert parse_expression(text, Origin("r.yaml", 3, 9), collector) is None
    [diagnostic] = collector.diagnostics
    assert diagnostic.code == "E103"
    assert diagnostic.span.file == "r.yaml" and diagnostic.span.line == 3
    assert "lark" not in diagnostic.message.lower() and "Token" not in diagnostic.message


def test_imports_are_rejected_as_forbidden() -> None:
    """`import os` is E209: there is nothing to import in the expression language."""
    collector = Collector()
    assert parse_expression("import os", Origin("r.yaml", 1, 1), collector) is None
    assert [d.code for d in collector.diagnostics] == ["E209"]


def test_message_templates_mix_text_and_expressions() -> None:
    """`{...}` parts of a message are expressions, located inside the template."""
    node = parse_template("no rate for {e.role} on {e.day}", Origin("r.yaml", 2, 5), Collector())
    assert isinstance(node, ast.Template)
    kinds = [type(p).__name__ for p in node.parts]
    assert kinds == ["Literal", "Field", "Literal", "Field"]
    assert node.parts[1].span.col == 5 + len("no rate for {")
