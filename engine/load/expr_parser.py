"""Parse expression text (found inside YAML scalars) into AST nodes with file spans.

Expressions are untrusted input: before the (recursive) transformer runs, the text and
lark's parse tree are measured without recursion, and anything beyond the limits below is
E106 at the expression, so no expression can exhaust the stack, the memory or the time of a
later stage.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from engine.errors import Collector, Span
from engine.load import ast
from engine.load.names import non_ascii_hint

_GRAMMAR = Path(__file__).with_name("expr.lark")
_IMPORT = re.compile(r"^\s*(import|from\s+\S+\s+import)\b")
_UNDERSCORED = re.compile(r"_[A-Za-z0-9_]*")

# Limits of one expression or message template (ARCHITECTURE.md, "Identifiers and limits").
# The largest shipped expression has 2,795 characters, 692 parse-tree nodes and 33 levels;
# numbers are exact to 40 digits at run time.
MAX_EXPRESSION_LENGTH = 20_000
MAX_EXPRESSION_NODES = 5_000
MAX_EXPRESSION_DEPTH = 64
MAX_NUMBER_DIGITS = 40


@cache
def _parser() -> Lark:
    return Lark(_GRAMMAR.read_text(), parser="lalr", propagate_positions=True,
                maybe_placeholders=False)


class Origin:
    """Where an expression's text starts in its file, to turn lark positions into spans."""

    def __init__(self, file: str, line: int, col: int, indent: int = 0) -> None:
        self.file, self.line, self.col, self.indent = file, line, col, indent

    def position(self, line: int, col: int) -> tuple[int, int]:
        if line == 1:
            return self.line, self.col + col - 1
        return self.line + line - 1, self.indent + col

    def span(self, line: int, col: int, end_line: int, end_col: int) -> Span:
        start = self.position(line, col)
        end = self.position(end_line, end_col)
        return Span(self.file, start[0], start[1], end[0], end[1])


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


@v_args(meta=True)
class _ToAst(Transformer[Token, ast.Node]):
    def __init__(self, origin: Origin) -> None:
        super().__init__()
        self.origin = origin

    def _span(self, meta: Any) -> Span:
        return self.origin.span(meta.line, meta.column, meta.end_line, meta.end_column)

    def number(self, meta: Any, items: list[Token]) -> ast.Node:
        text = str(items[0])
        value: int | Decimal = Decimal(text) if "." in text else int(text)
        return ast.Literal(self._span(meta), value)

    def string(self, meta: Any, items: list[Token]) -> ast.Node:
        return ast.Literal(self._span(meta), _unquote(str(items[0])))

    def true(self, meta: Any, _: list[Any]) -> ast.Node:
        return ast.Literal(self._span(meta), True)

    def false(self, meta: Any, _: list[Any]) -> ast.Node:
        return ast.Literal(self._span(meta), False)

    def null(self, meta: Any, _: list[Any]) -> ast.Node:
        return ast.Literal(self._span(meta), None)

    def name(self, meta: Any, items: list[Token]) -> ast.Node:
        return ast.Name(self._span(meta), str(items[0]))

    def field(self, meta: Any, items: list[Any]) -> ast.Node:
        name = items[1]
        text = _unquote(str(name)) if name.type == "STRING" else str(name)
        return ast.Field(self._span(meta), items[0], text)

    def unwrap(self, meta: Any, items: list[Any]) -> ast.Node:
        return ast.Unwrap(self._span(meta), items[0])

    def index(self, meta: Any, items: list[Any]) -> ast.Node:
        return ast.Index(self._span(meta), items[0], items[1])

    def call(self, meta: Any, items: list[Any]) -> ast.Node:
        arguments = items[1] if len(items) > 1 else []
        positional = tuple(a for a in arguments if not isinstance(a, tuple))
        named = tuple(a for a in arguments if isinstance(a, tuple))
        return ast.Call(self._span(meta), str(items[0]), positional, named)

    def arguments(self, meta: Any, items: list[Any]) -> list[Any]:
        return items

    def named(self, meta: Any, items: list[Any]) -> tuple[str, ast.Node]:
        return (str(items[0]), items[1])

    def lambda_(self, meta: Any, items: list[Any]) -> ast.Node:
        return ast.Lambda(self._span(meta), str(items[0]), items[1])

    def neg(self, meta: Any, items: list[Any]) -> ast.Node:
        return ast.Unary(self._span(meta), "-", items[0])

    def not_op(self, meta: Any, items: list[Any]) -> ast.Node:
        return ast.Unary(self._span(meta), "not", items[0])

    def _binary(self, meta: Any, op: str, left: ast.Node, right: ast.Node) -> ast.Node:
        return ast.Binary(self._span(meta), op, left, right)

    def binary(self, meta: Any, items: list[Any]) -> ast.Node:
        return self._binary(meta, str(items[1]), items[0], items[2])

    def compare(self, meta: Any, items: list[Any]) -> ast.Node:
        return self._binary(meta, str(items[1]), items[0], items[2])

    def member(self, meta: Any, items: list[Any]) -> ast.Node:
        return self._binary(meta, "in", items[0], items[1])

    def and_op(self, meta: Any, items: list[Any]) -> ast.Node:
        return self._binary(meta, "and", items[0], items[1])

    def or_op(self, meta: Any, items: list[Any]) -> ast.Node:
        return self._binary(meta, "or", items[0], items[1])

    def coalesce(self, meta: Any, items: list[Any]) -> ast.Node:
        return self._binary(meta, "??", items[0], items[1])

    def let_(self, meta: Any, items: list[Any]) -> ast.Node:
        return ast.Let(self._span(meta), str(items[0]), items[1], items[2])

    def cond(self, meta: Any, items: list[Any]) -> ast.Node:
        return ast.Cond(self._span(meta), items[0], items[1], items[2])

    def list_lit(self, meta: Any, items: list[Any]) -> ast.Node:
        return ast.ListLit(self._span(meta), tuple(i for i in items if i is not None))

    def record_lit(self, meta: Any, items: list[Any]) -> ast.Node:
        return ast.RecordLit(self._span(meta), tuple(i for i in items if i is not None))

    def record_update(self, meta: Any, items: list[Any]) -> ast.Node:
        return ast.RecordUpdate(self._span(meta), items[0], tuple(items[1:]))

    def pair(self, meta: Any, items: list[Any]) -> tuple[str, ast.Node]:
        return (str(items[0]), items[1])


_TOKEN_NAMES = {"RPAR": "')'", "LPAR": "'('", "COMMA": "','", "RSQB": "']'", "LSQB": "'['",
                "RBRACE": "'}'", "LBRACE": "'{'", "COLON": "':'", "THEN": "'then'",
                "ELSE": "'else'", "COMP_OP": "a comparison", "ADD_OP": "'+' or '-'",
                "MUL_OP": "'*' or '/'", "$END": "the end"}


def _describe_expected(error: UnexpectedInput) -> str | None:
    expected = set(getattr(error, "expected", None) or getattr(error, "allowed", None) or [])
    if "NAME" in expected:
        return "expected an expression (a name, a literal, a call, '(' ...)"
    shown = sorted(_TOKEN_NAMES.get(e, e.lower()) for e in expected if not e.startswith("__"))
    return f"expected {', '.join(shown[:6])}" if shown else None


def _whole(text: str, origin: Origin) -> Span:
    """The span of all of text."""
    lines = text.split("\n")
    return origin.span(1, 1, len(lines), len(lines[-1]) + 1)


def _too_long(text: str, origin: Origin, collector: Collector, what: str) -> bool:
    """Report text longer than MAX_EXPRESSION_LENGTH (E106); True if it is."""
    if len(text) <= MAX_EXPRESSION_LENGTH:
        return False
    collector.error("E106", f"{what} of {len(text):,} characters (at most "
                    f"{MAX_EXPRESSION_LENGTH:,})", _whole(text, origin),
                    hint="split it into `let` steps")
    return True


def _within_limits(tree: Tree[Token], text: str, origin: Origin, collector: Collector) -> bool:
    """Measure lark's tree without recursion. Reports E106 for more than
    MAX_EXPRESSION_NODES nodes, more than MAX_EXPRESSION_DEPTH levels, or a number of more
    than MAX_NUMBER_DIGITS digits; True when the tree is within every limit."""
    nodes, deepest = 0, 0
    pending: list[tuple[Tree[Token] | Token, int]] = [(tree, 1)]
    while pending:
        item, depth = pending.pop()
        nodes += 1
        if isinstance(item, Token):
            if item.type == "NUMBER" and not _number_fits(item, origin, collector):
                return False
            continue
        deepest = max(deepest, depth)
        pending += [(child, depth + 1) for child in item.children]
    if deepest > MAX_EXPRESSION_DEPTH or nodes > MAX_EXPRESSION_NODES:
        collector.error("E106", f"expression too complex: {deepest} levels and {nodes:,} "
                        f"parts (at most {MAX_EXPRESSION_DEPTH} levels and "
                        f"{MAX_EXPRESSION_NODES:,} parts)", _whole(text, origin),
                        hint="split it into `let` steps")
        return False
    return True


def _number_fits(token: Token, origin: Origin, collector: Collector) -> bool:
    digits = len(token) - token.count(".")
    if digits <= MAX_NUMBER_DIGITS:
        return True
    span = origin.span(token.line or 1, token.column or 1, token.end_line or 1,
                       token.end_column or 1)
    collector.error("E106", f"a number of {digits:,} digits (at most {MAX_NUMBER_DIGITS})",
                    span, hint=f"numbers are exact to {MAX_NUMBER_DIGITS} digits")
    return False


def _underscored(line_text: str, line: int, col: int, origin: Origin,
                 collector: Collector) -> bool:
    """Report a name starting with '_' (`__class__`, `__import__`) as E209; True if found."""
    found = _UNDERSCORED.match(line_text, col - 1)
    if found is None:
        return False
    collector.error("E209", f"'{found[0]}' is not allowed: names start with a letter (no '_' "
                    "or dunder names)", origin.span(line, col, line, col + len(found[0])))
    return True


def _syntax_error(error: UnexpectedInput, text: str, origin: Origin,
                  collector: Collector) -> None:
    """Report lark's error as E103 at its place, in our words (E209 for a '_' name)."""
    lines = text.split("\n")  # lark counts lines at "\n" only
    line = getattr(error, "line", -1)
    col = getattr(error, "column", -1)
    if line is None or line < 1:
        line, col = len(lines), len(lines[-1]) + 1
    token = getattr(error, "token", None)
    hint = _describe_expected(error)
    if isinstance(error, UnexpectedCharacters):
        if _underscored(lines[line - 1], line, col, origin, collector):
            return
        char = lines[line - 1][col - 1 : col] or "?"
        what = f"unexpected character {char!r}"
        hint = non_ascii_hint(char, "outside quotes, expressions are ASCII") or hint
    elif token is None or token.type == "$END":
        what = "unexpected end of expression"
    else:
        what = f"unexpected {str(token)!r}"
    collector.error("E103", f"syntax error: {what}", origin.span(line, col, line, col + 1),
                    hint=hint)


def parse_expression(text: str, origin: Origin, collector: Collector) -> ast.Node | None:
    """Parse one expression. Reports and returns None on a syntax error (E103), an import
    (E209), and an expression beyond the limits (E106): never a Python exception."""
    if _too_long(text, origin, collector, "an expression"):
        return None
    if _IMPORT.match(text):
        span = origin.span(1, 1, 1, len(text.strip()) + 1)
        collector.error("E209", "imports are not part of the expression language", span,
                        hint="use the function library; see ARCHITECTURE.md")
        return None
    if not text.strip():
        collector.error("E103", "empty expression", origin.span(1, 1, 1, 2))
        return None
    try:
        tree = _parser().parse(text)
    except (UnexpectedCharacters, UnexpectedToken, UnexpectedEOF) as error:
        _syntax_error(error, text, origin, collector)
        return None
    if not _within_limits(tree, text, origin, collector):
        return None
    node = _ToAst(origin).transform(tree)
    assert isinstance(node, ast.Node)
    return node


def parse_template(text: str, origin: Origin, collector: Collector) -> ast.Node | None:
    """Parse a message template: text with {expression} parts, each parsed as an
    expression; a template, like an expression, has at most MAX_EXPRESSION_LENGTH
    characters (E106)."""
    if _too_long(text, origin, collector, "a message template"):
        return None
    parts: list[ast.Node] = []
    depth, start = 0, 0
    literal_start = 0
    for index, char in enumerate(text):
        if char == "{":
            if depth == 0:
                start = index
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                if start > literal_start:
                    parts.append(_text_part(text, literal_start, start, origin))
                inner = Origin(origin.file, *origin.position(1, start + 2), origin.indent)
                parsed = parse_expression(text[start + 1 : index], inner, collector)
                if parsed is None:
                    return None
                parts.append(parsed)
                literal_start = index + 1
    if depth:
        collector.error("E103", "unclosed '{' in message template",
                        origin.span(1, start + 1, 1, start + 2))
        return None
    if literal_start < len(text):
        parts.append(_text_part(text, literal_start, len(text), origin))
    whole = origin.span(1, 1, 1, len(text) + 1)
    return ast.Template(whole, tuple(parts))


def _text_part(text: str, start: int, end: int, origin: Origin) -> ast.Node:
    return ast.Literal(origin.span(1, start + 1, 1, end + 1), text[start:end])
