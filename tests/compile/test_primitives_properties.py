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
