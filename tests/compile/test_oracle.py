"""compile: the generated code computes what the reference evaluator computes."""

import ast
import decimal
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.compile import runtime
from engine.compile.codegen import ExprGen
from engine.compile.pyast import Spans
from engine.compile.surface import TABLE
from engine.errors import Collector
from engine.load.expr_parser import Origin, parse_expression
from tests.oracle import evaluate

NUMBERS = st.one_of(st.integers(-10_000, 10_000).map(str),
                    st.decimals(-10_000, 10_000, places=2, allow_nan=False,
                                allow_infinity=False).map(lambda d: str(abs(d))))
LEAVES = st.one_of(NUMBERS, st.sampled_from(["a", "b", "c", "(n ?? 7)"]))


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pair = st.tuples(children, children)
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*"]), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        pair.map(lambda t: f"round({t[0]}, 2, 'half_up')"),
        pair.map(lambda t: f"min({t[0]}, {t[1]})"),
        pair.map(lambda t: f"max({t[0]}, {t[1]})"),
        st.tuples(children, children, children, children).map(
            lambda t: f"(if {t[0]} > {t[1]} and not ({t[0]} == {t[2]}) then {t[2]} else {t[3]})"),
        pair.map(lambda t: f"({t[0]} / (abs({t[1]}) + 1))"),
        pair.map(lambda t: f"(let a = {t[0]} in {t[1]})"),
    )


EXPRESSIONS = st.recursive(LEAVES, _combine, max_leaves=8)


def compiled(text: str, env: dict[str, Any]) -> Any:
    node = parse_expression(text, Origin("p.yaml", 1, 1), Collector())
    assert node is not None
    constants: dict[str, str] = {}
    generate = ExprGen(Spans(), constants)
    generate.bind(*env)
    tree = ast.fix_missing_locations(ast.Expression(generate(node)))
    namespace: dict[str, Any] = {**TABLE, **{f"v_{k}": v for k, v in env.items()}}
    for literal, name in constants.items():
        namespace[name] = Decimal(literal)
    return eval(compile(tree, "<expression>", "eval"), {"__builtins__": {}, **namespace})


@settings(max_examples=300, deadline=None)
@given(EXPRESSIONS, st.integers(-500, 500), st.decimals(-500, 500, places=3, allow_nan=False,
                                                        allow_infinity=False),
       st.one_of(st.none(), st.integers(-9, 9)))
def test_compiled_code_agrees_with_the_reference_evaluator(text: str, a: int, b: Decimal,
                                                           n: int | None) -> None:
    """Arithmetic, rounding, comparisons, ??, if/else and let: same value, same type, exactly."""
    env = {"a": a, "b": b, "c": Decimal("0.005"), "n": n}
    with decimal.localcontext(runtime.DECIMAL_CONTEXT):
        node = parse_expression(text, Origin("p.yaml", 1, 1), Collector())
        assert node is not None
        expected = evaluate(node, env)
        actual = compiled(text, env)
    assert actual == expected
    assert not isinstance(actual, float)
