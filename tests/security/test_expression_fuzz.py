"""Fuzzing the expression language: any text ends in a diagnostic, or in Python that reaches
only the closed table and evaluates to a value or a failure in words."""

from __future__ import annotations

import ast
import decimal
import os
import time
from decimal import Decimal
from functools import cache
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.check import check_project
from engine.check.catalog import Catalog
from engine.check.checks import base_scope
from engine.check.typecheck import Checker
from engine.compile import runtime
from engine.compile.codegen import ExprGen
from engine.compile.pyast import Spans
from engine.compile.surface import TABLE
from engine.errors import Collector
from engine.load.expr_parser import Origin, parse_expression
from engine.load.project import load_project
from engine.run.failures import RULE_FAILURES, in_words
from tests.conftest import ROOT

EXAMPLES = int(os.environ.get("BILLSYNC_FUZZ_EXAMPLES", "200"))
TOKENS = (
    "entry", ".", "minutes", "cost_amount", "work_date", "id", "(", ")", "[", "]", "{", "}",
    ",", ":", "+", "-", "*", "/", "==", "!=", "<", "<=", ">=", "??", "!", "if", "then", "else",
    "let", "=", "in", "and", "or", "not", "with", "=>", "x", "y", "0", "1", "2.5",
    "99999999999999999999999", "'a'", '"b"', "'{x}'", "round", "map", "filter", "sum",
    "count", "first", "scan", "fill", "allocate", "lookup", "lookup_all", "rate_card_row",
    "str", "to_int", "to_decimal", "period", "money", "__class__", "__import__",
    "__builtins__", "eval", "open", "getattr", "policy", "run", "src", "true", "false",
    "null", "rt", "POLICY", "v_entry", "acc", "key", "raw",
)
LEAVES = st.sampled_from((
    "entry.minutes", "(entry.cost_amount ?? 0)", "1", "2.5", "0", "99999999999999999999",
    "entry.revision ?? 7", "to_decimal(entry.id)", "to_int('1e999999')", "x", "policy",
    "count([entry.minutes])", "entry.__class__", "__import__('os')", "length(entry.id)",
    "to_int(str(entry.minutes))", "{v: 1, v: 'text'}.v", "(entry with {minutes: 2}).minutes",
))


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pair = st.tuples(children, children)
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "/"]), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        pair.map(lambda t: f"(if {t[0]} > {t[1]} then {t[0]} else {t[1]})"),
        pair.map(lambda t: f"(let x = {t[0]} in x * {t[1]})"),
        pair.map(lambda t: f"sum(map([{t[0]}, {t[1]}], i => i * 2))"),
        pair.map(lambda t: f"round({t[0]}, 2, 'half_up') - min({t[0]}, {t[1]})"),
        pair.map(lambda t: f"first(scan([{t[0]}], {t[1]}, s => s.acc + s.item))!"),
        children.map(lambda t: f"-{t}"),
        children.map(lambda t: f"to_int(round({t}, 0, 'down'))"),
    )


EXPRESSIONS = st.one_of(
    st.lists(st.sampled_from(TOKENS), min_size=1, max_size=24).map(" ".join),
    st.text(max_size=40),
    st.recursive(LEAVES, _combine, max_leaves=12),
)


@cache
def _catalog_and_scope() -> tuple[Catalog, Any]:
    collector = Collector()
    project = load_project(ROOT / "examples" / "standard", collector)
    assert project is not None
    ctx = check_project(project, collector)
    entry = ctx.catalog.get("time_entry")
    assert entry is not None
    return ctx.catalog, base_scope(ctx, entry=entry.record)


ENTRY = {"id": "T1", "project_id": "P1", "role": "r", "work_date": runtime.date("2025-01-02"),
         "minutes": 60, "billable": True, "status": "approved", "cost_amount": Decimal("12.5"),
         "contract_line_id": None, "approved_at": None, "time_type": None, "revision": None,
         "notes": None, "cost_currency": None}


def _generated(node: Any) -> tuple[ast.Expression, dict[str, str]]:
    constants: dict[str, str] = {}
    generate = ExprGen(Spans(), constants)
    generate.bind("entry")
    return ast.fix_missing_locations(ast.Expression(generate(node))), constants


def _assert_closed(tree: ast.Expression, constants: dict[str, str]) -> None:
    reachable = set(TABLE) | {"POLICY", "RUN", "IDX"} | set(constants.values())
    bound = {n.arg for n in ast.walk(tree) if isinstance(n, ast.arg)} | {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    for node in ast.walk(tree):
        assert not isinstance(node, (ast.Attribute, ast.Import, ast.NamedExpr)), ast.dump(node)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            assert node.id in reachable or node.id in bound or node.id == "v_entry", node.id


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRESSIONS)
def test_any_expression_is_a_diagnostic_or_closed_code(text: str) -> None:
    """Parse and type any text: a diagnostic, or generated Python that passes the allow-list
    and evaluates, within a time bound, to a value or a failure said in words."""
    started = time.monotonic()
    catalog, scope = _catalog_and_scope()
    collector = Collector()
    node = parse_expression(text, Origin("fuzz.yaml", 1, 1), collector)
    if node is None:
        assert collector.has_errors
        return
    Checker(catalog, collector).check(node, scope)
    if collector.has_errors:
        return
    tree, constants = _generated(node)
    _assert_closed(tree, constants)
    namespace: dict[str, Any] = {"__builtins__": {}, **TABLE, "v_entry": ENTRY, "IDX": {},
                                 "POLICY": {}, "RUN": {"through": "2025-03"},
                                 **{name: Decimal(t) for t, name in constants.items()}}
    with decimal.localcontext(runtime.DECIMAL_CONTEXT):
        try:
            eval(compile(tree, "<fuzz>", "eval"), namespace)
        except RULE_FAILURES as error:
            assert "<class" not in in_words(error)
    assert time.monotonic() - started < 5
