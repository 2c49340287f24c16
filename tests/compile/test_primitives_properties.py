"""compile: the generic money primitives hold their invariants on any input."""

import decimal
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.compile import runtime as rt

AMOUNTS = st.decimals(-100000, 100000, places=2, allow_nan=False, allow_infinity=False)
WEIGHTS = st.lists(st.decimals(0, 5000, places=2, allow_nan=False, allow_infinity=False),
                   min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(total=AMOUNTS, weights=WEIGHTS, places=st.sampled_from([0, 2, 3]))
def test_allocation_adds_up_and_stays_within_a_unit(total: Decimal, weights: list[Decimal],
                                                    places: int) -> None:
    """Largest remainder: shares sum exactly to the (rounded) total, each within one unit
    of its exact share, with the total's sign."""
    with decimal.localcontext(rt.DECIMAL_CONTEXT):
        total = rt.round(total, places, "half_up")
        shares = [s["share"] for s in rt.allocate(list(range(len(weights))), weights, total,
                                                  places)]
        assert sum(shares) == total
        weight_sum = sum(weights) or Decimal(len(weights))
        unit = Decimal(1).scaleb(-places)
        for share, weight in zip(shares, weights if sum(weights) else [1] * len(weights),
                                 strict=True):
            exact = total * Decimal(weight) / weight_sum
            assert abs(share - exact) < unit
            assert share == 0 or (share > 0) == (total > 0)


MIXED_WEIGHTS = st.lists(st.decimals(-5000, 5000, places=2, allow_nan=False,
                                     allow_infinity=False), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(total=AMOUNTS, weights=MIXED_WEIGHTS, places=st.sampled_from([0, 2, 3]))
def test_allocation_over_mixed_signs_adds_up(total: Decimal, weights: list[Decimal],
                                             places: int) -> None:
    """Weights of mixed signs (a document holding a credit line): the shares still sum to
    the total exactly, each within one unit of its exact share, and a unit only ever moves
    a share toward its exact value's side."""
    with decimal.localcontext(rt.DECIMAL_CONTEXT):
        total = rt.round(total, places, "half_up")
        shares = [s["share"] for s in rt.allocate(list(range(len(weights))), weights, total,
                                                  places)]
        assert sum(shares) == total
        assert not any(s == 0 and s.is_signed() for s in shares)  # never -0.00
        weight_sum = sum(weights)
        if weight_sum == 0:
            return
        unit = Decimal(1).scaleb(-places)
        for share, weight in zip(shares, weights, strict=True):
            exact = total * weight / weight_sum
            assert abs(share - exact) < unit
            assert share == 0 or exact == 0 or (share > 0) == (exact > 0)


def test_document_tax_over_a_credit_line_sums_to_the_document_tax() -> None:
    """Tax -1.98 over lines weighted -189, 13 and 84: -4.06, 0.28 and 1.80. The unit that
    the truncated shares miss goes to the largest remainder of its own sign (0.2797...);
    splitting the absolute value gave -4.07, 0.27, 1.79, which sum to -2.01."""
    with decimal.localcontext(rt.DECIMAL_CONTEXT):
        shares = rt.allocate(["a", "b", "c"], [Decimal(-189), Decimal(13), Decimal(84)],
                             Decimal("-1.98"), 2)
    assert [s["share"] for s in shares] == [Decimal("-4.06"), Decimal("0.28"),
                                            Decimal("1.80")]


def test_negative_zero_is_never_written() -> None:
    """-0.00, from negating a zero or rounding a tiny negative, is written 0.00."""
    from engine.run.records import dumps

    with decimal.localcontext(rt.DECIMAL_CONTEXT):
        tiny = rt.round(Decimal("-0.001"), 2, "half_up")
    assert tiny.is_signed()
    assert rt.text(tiny) == "0.00" and rt.text(-Decimal("0")) == "0"
    assert dumps({"a": tiny, "b": rt.money(tiny, "USD")}) == \
        '{"a":"0.00","b":{"amount":"0.00","currency":"USD"}}'
    assert dumps({"a": tiny}, numbers_as_text=False) == '{"a":0.00}'


ITEMS = st.lists(st.tuples(st.integers(0, 600), st.decimals(Decimal("0.01"), 10, places=2),
                           st.sampled_from(["a", "b", "c"])), min_size=1, max_size=25)


@settings(max_examples=300, deadline=None)
@given(items=ITEMS, bound=st.decimals(0, 5000, places=2),
       mode=st.sampled_from(["partial_then_stop", "whole_items", "whole_batches"]),
       rounded=st.booleans())
def test_fill_never_exceeds_its_bound(items: list[tuple[int, Decimal, str]], bound: Decimal,
                                      mode: str, rounded: bool) -> None:
    """Whatever the mode, no item is taken beyond its units and the total taken (rounded per
    group when asked) stays within the bound."""
    with decimal.localcontext(rt.DECIMAL_CONTEXT):
        units = [u for u, _, _ in items]
        values = [v for _, v, _ in items]
        groups = [g for _, _, g in items]
        shares = rt.fill(list(range(len(items))), units, values, bound, mode,
                         groups if mode == "whole_batches" else None,
                         groups if rounded else None, 2 if rounded else None)
        assert all(0 <= s["units"] <= u for s, u in zip(shares, units, strict=True))
        if rounded:
            totals: dict[str, Decimal] = {}
            for share, group in zip(shares, groups, strict=True):
                totals[group] = totals.get(group, Decimal(0)) + share["value"]
            assert sum(rt.round(t, 2, "half_up") for t in totals.values()) <= bound
        else:
            assert sum(s["value"] for s in shares) <= bound
