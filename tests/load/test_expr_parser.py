"""load: expressions parse (LALR) into nodes whose spans point into the YAML file."""

import time
from decimal import Decimal

import pytest

from engine.errors import Collector
from engine.load import ast
from engine.load.expr_parser import (
    MAX_EXPRESSION_DEPTH,
    MAX_NUMBER_DIGITS,
    Origin,
    parse_expression,
    parse_template,
)


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


@pytest.mark.parametrize("text", ['src."o:errorDetails"', "src.'o:errorDetails'"])
def test_a_quoted_field_reads_any_vendor_key(text: str) -> None:
    """`src."o:errorDetails"` is the same Field node as `src.name`, named by the unquoted
    text, in either quote style."""
    node = parse(text)
    assert isinstance(node, ast.Field) and node.name == "o:errorDetails"
    assert node.target == ast.Name(node.target.span, "src")
    odata = parse("src.'transactioncurrencyid@odata.bind' ?? 'none'")
    assert isinstance(odata, ast.Binary) and isinstance(odata.left, ast.Field)
    assert odata.left.name == "transactioncurrencyid@odata.bind"


def test_a_quoted_field_is_the_plain_field_when_the_name_is_an_identifier() -> None:
    """`x."minutes"` and `x.minutes` parse to equal nodes but for their spans."""
    quoted, plain = parse('x."minutes"'), parse("x.minutes")
    assert isinstance(quoted, ast.Field) and isinstance(plain, ast.Field)
    assert quoted.name == plain.name == "minutes"
    assert quoted.target == ast.Name(quoted.target.span, "x")


@pytest.mark.parametrize("text", ["_x + 1", "entry.__class__", "__import__('os')",
                                  "let __m = 1 in 2", "map(xs, _ => 1)"])
def test_a_name_starting_with_underscore_is_e209(text: str) -> None:
    """Names start with a letter: `_x`, `__class__` cannot be written (E209 at the name)."""
    collector = Collector()
    assert parse_expression(text, Origin("r.yaml", 1, 1), collector) is None
    [diagnostic] = collector.diagnostics
    assert diagnostic.code == "E209"
    assert text[diagnostic.span.col - 1] == "_"


def test_a_homoglyph_in_an_expression_is_named_in_the_hint() -> None:
    """Fullwidth 'ｘ' is E103 with a hint naming it and the ASCII 'x'."""
    collector = Collector()
    assert parse_expression("ｘ + 1", Origin("r.yaml", 1, 1), collector) is None
    [diagnostic] = collector.diagnostics
    assert diagnostic.code == "E103" and diagnostic.hint is not None
    assert "U+FF58" in diagnostic.hint and "'x'" in diagnostic.hint


@pytest.mark.parametrize("text", ["a +\u2028 b $", "a\x0bb", "'x'\x1c ! ?"])
def test_odd_line_breaks_do_not_confuse_the_error_location(text: str) -> None:
    """Characters Python counts as line breaks but lark does not still give an E103."""
    collector = Collector()
    assert parse_expression(text, Origin("r.yaml", 1, 1), collector) is None
    assert [d.code for d in collector.diagnostics] == ["E103"]


TOO_BIG = {
    "200 nested if": "if a then " * 200 + "1" + " else 2" * 200,
    "400 + terms": " + ".join(["a"] * 400),
    "500 unary -": "-" * 500 + "a",
    "20,000 unary -": "-" * 19_999 + "a",
    "9,999 nested lists": "[" * 9_999 + "]" * 9_999,
    "6,000 arguments": "f(" + ", ".join(["1"] * 6_000) + ")",
    "25,000 characters": "a" * 25_000,
    "a 5,000-digit integer": "1" * 5_000,
    "a 41-digit decimal": "1." + "0" * 40,
}


@pytest.mark.parametrize("text", TOO_BIG.values(), ids=TOO_BIG.keys())
def test_expressions_beyond_the_limits_are_e106_quickly(text: str) -> None:
    """Too deep, too many parts, too long or a number too long: E106 at the expression,
    in well under a second, never a RecursionError, ValueError or hang."""
    collector = Collector()
    started = time.perf_counter()
    assert parse_expression(text, Origin("r.yaml", 4, 9), collector) is None
    assert time.perf_counter() - started < 2
    [diagnostic] = collector.diagnostics
    assert diagnostic.code == "E106"
    assert (diagnostic.span.file, diagnostic.span.line, diagnostic.span.col) == ("r.yaml", 4, 9)


def test_expressions_within_the_limits_parse() -> None:
    """63 levels of `-`, 40-digit numbers and 4,000 parts are within the limits."""
    assert isinstance(parse("-" * (MAX_EXPRESSION_DEPTH - 2) + "a"), ast.Unary)
    number = parse("1" * MAX_NUMBER_DIGITS)
    assert isinstance(number, ast.Literal) and number.value == int("1" * MAX_NUMBER_DIGITS)
    assert isinstance(parse("1." + "0" * (MAX_NUMBER_DIGITS - 1)), ast.Literal)
    assert isinstance(parse("f(" + ", ".join(["1"] * 1_900) + ")"), ast.Call)


def test_templates_share_the_limits() -> None:
    """A message template's parts are expressions under the same limits, and the whole
    template is bounded in length."""
    for text in ("rate {" + "-" * 500 + "a} missing", "x" * 25_000):
        collector = Collector()
        assert parse_template(text, Origin("r.yaml", 2, 5), collector) is None
        assert [d.code for d in collector.diagnostics] == ["E106"]
