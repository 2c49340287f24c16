"""compile: the runtime that generated code calls, function by function."""

import datetime as dt
import decimal
from decimal import Decimal

import pytest

from engine.compile import runtime as rt

D = Decimal


@pytest.fixture(autouse=True)
def _context() -> object:
    with decimal.localcontext(rt.DECIMAL_CONTEXT) as context:
        yield context


def test_money_never_mixes_currencies() -> None:
    """Money adds within one currency; across two it is a rule error, never a silent sum."""
    assert rt.money(10, "EUR") * 3 + rt.money(D("0.5"), "EUR") == rt.Money(D("30.5"), "EUR")
    with pytest.raises(rt.RuleError, match="EUR and USD"):
        rt.money(1, "EUR") + rt.money(1, "USD")


@pytest.mark.parametrize(("value", "mode", "expected"), [
    ("2.345", "half_up", "2.35"), ("2.345", "half_even", "2.34"), ("2.341", "up", "2.35"),
    ("-2.345", "half_up", "-2.35"), ("2.349", "down", "2.34"), ("-2.341", "floor", "-2.35"),
])
def test_rounding_uses_the_declared_mode(value: str, mode: str, expected: str) -> None:
    """round(x, 2, mode) is exact decimal rounding in the named mode."""
    assert rt.round(D(value), 2, mode) == D(expected)


def test_minor_units_follow_iso_4217() -> None:
    """JPY has 0 decimals, KWD 3, USD 2; an unknown currency is a rule error."""
    assert rt.round_minor(D("1234.5"), "JPY", "half_up") == D("1235")
    assert rt.round_minor(D("1.0005"), "KWD", "half_up") == D("1.001")
    assert rt.round_minor(D("1.005"), "USD", "half_up") == D("1.01")
    with pytest.raises(rt.RuleError, match="unknown currency"):
        rt.round_minor(D(1), "XXX", "half_up")


def test_division_by_zero_is_a_rule_error() -> None:
    """x / 0 fails the record with a message, it does not crash the run."""
    with pytest.raises(rt.RuleError, match="division by zero"):
        rt.div(D(1), 0)
    assert rt.div(1, 3) == D(1) / D(3)


def test_periods_and_dates() -> None:
    """Periods are calendar months; a period ends on its last day (leap years included)."""
    assert rt.period(dt.date(2024, 2, 10)) == "2024-02"
    assert rt.period_end("2024-02") == dt.date(2024, 2, 29)
    with pytest.raises(rt.RuleError):
        rt.period_end("2024-13")
    assert rt.datetime("2025-03-01T10:00:00+01:00") == dt.datetime(2025, 3, 1, 9, tzinfo=dt.UTC)
    with pytest.raises(rt.RuleError, match="time zone"):
        rt.datetime("2025-03-01T10:00:00")


def test_effective_dated_lookups_include_the_last_day() -> None:
    """A row is in force from effective_from through effective_to inclusive."""
    rows = [{"card": "R", "rate": D(200), "from": dt.date(2024, 1, 1), "to": dt.date(2025, 3, 14)},
            {"card": "R", "rate": D(220), "from": dt.date(2025, 3, 15), "to": None}]
    index = rt.Index(rows, ("card",), "from", "to", entity_key=("card", "from"))
    assert index.one(("R",), dt.date(2025, 3, 14))["rate"] == 200
    assert index.one(("R",), dt.date(2025, 3, 15))["rate"] == 220
    assert index.all(("R",), dt.date(2023, 12, 31)) == []


def test_versioned_lookups_pick_the_latest_version_in_force() -> None:
    """Versions apply from their effective date; before it, the earlier version holds."""
    rows = [{"id": "L1", "version": 1, "from": dt.date(2025, 1, 1)},
            {"id": "L1", "version": 2, "from": dt.date(2025, 2, 1)}]
    index = rt.Index(rows, ("id",), "from", None, "version", ("id", "version"))
    assert index.one(("L1",), dt.date(2025, 1, 31))["version"] == 1
    assert index.one(("L1",), dt.date(2025, 2, 1))["version"] == 2


def test_an_ambiguous_lookup_is_an_error_not_a_guess() -> None:
    """lookup() finding two rows fails; lookup_all() returns both."""
    rows = [{"k": 1, "v": "a"}, {"k": 1, "v": "b"}]
    index = rt.Index(rows, ("k",), entity_key=("k", "v"))
    assert len(index.all((1,))) == 2
    with pytest.raises(rt.RuleError, match="ambiguous"):
        index.one((1,))


@pytest.mark.parametrize(("mode", "expected"), [
    ("partial_then_stop", [3400, 480, 120, 0]),
    ("whole_items", [3400, 480, 0, 60]),
])
def test_fill_takes_items_in_order_against_a_bound(mode: str, expected: list[int]) -> None:
    """Ordered accumulation: whole items, then a part (split) or only what fits (whole)."""
    shares = rt.fill(["a", "b", "c", "d"], [3400, 480, 360, 60], [D(150) / 60] * 4, D(10000),
                     mode)
    assert [s["units"] for s in shares] == expected
    assert sum(s["value"] for s in shares) <= 10000
    assert [s["first_over"] for s in shares] == [False, False, True, False]


def test_fill_whole_batches_takes_a_batch_entirely_or_not_at_all() -> None:
    """A batch that does not fit is skipped whole; a later one may fit."""
    shares = rt.fill(["a", "b", "c", "d"], [60, 60, 60, 30], [D(1)] * 4, D(100),
                     "whole_batches", ["jan", "feb", "feb", "mar"])
    assert [s["units"] for s in shares] == [60, 0, 0, 30]
    assert [s["first_over"] for s in shares] == [False, True, False, False]


def test_fill_with_rounding_groups_bounds_the_rounded_totals() -> None:
    """Each take costs its effect on its group's rounded total."""
    minute = D(1) / 60
    shares = rt.fill(["a", "b", "c"], [1, 1, 1], [minute] * 3, D("0.05"), "partial_then_stop",
                     None, ["A", "B", "C"], 2)
    assert [s["units"] for s in shares] == [1, 1, 0]


def test_fill_with_a_bound_per_item_lets_a_raised_bound_take_again() -> None:
    """Each item is taken against its own bound; after a partial take, only an item with a
    higher bound takes again (a cap raised by a later contract version)."""
    shares = rt.fill(["a", "b", "c", "d"], [60, 60, 60, 60], [D(1)] * 4, [D(90), D(90), D(200),
                     D(200)], "partial_then_stop")
    assert [s["units"] for s in shares] == [60, 30, 60, 50]
    assert [s["cost"] for s in shares] == [D(60), D(30), D(60), D(50)]
    shares = rt.fill(["a", "b", "c"], [60, 60, 60], [D(1)] * 3, D(90), "partial_then_stop")
    assert [s["units"] for s in shares] == [60, 30, 0]


def test_fill_retries_what_an_items_own_terms_do_not_take() -> None:
    """An item's retry terms (another price, bound and group) get, at once and in order, what
    its own terms did not take; later items then see the total taken on both."""
    retry = {"units": 60, "unit_value": D(2), "bound": D(200), "group": "new"}
    shares = rt.fill(["a", "b", "c"], [60, 60, 60], [D(1)] * 3, [D(90), D(90), D(200)],
                     "partial_then_stop", None, None, None, [retry, retry, None])
    assert [(s["units"], s["retried"]) for s in shares] == [(60, 0), (30, 30), (50, 0)]
    assert [s["cost"] for s in shares] == [D(60), D(90), D(50)]
    assert [s["first_over"] for s in shares] == [False, False, True]
    raised = {"units": 60, "unit_value": D(1), "bound": D(200), "group": None}
    batches = rt.fill(["a", "b"], [60, 60], [D(1)] * 2, D(90), "whole_batches", ["jan", "jan"],
                      None, None, [raised, raised])
    assert [(s["units"], s["retried"]) for s in batches] == [(0, 60), (0, 60)]


@pytest.mark.parametrize(("mode", "over"), [("whole_items", [False, True, False]),
                                            ("whole_batches", [False, True, True])])
def test_fill_takes_a_divisible_item_in_part_whatever_the_mode(mode: str,
                                                              over: list[bool]) -> None:
    """A divisible item (an amount, such as a write-up) is taken up to the bound, alone in
    its batch; later items are taken as the mode says (first_over: per batch)."""
    shares = rt.fill(["a", "w", "b"], [80, 50, 10], [D(1)] * 3, D(100), mode,
                     ["jan", "w", "feb"], None, None, None, [False, True, False])
    assert [s["units"] for s in shares] == [80, 20, 0]
    assert [s["first_over"] for s in shares] == over
    assert sum(s["cost"] for s in shares) == 100


def test_fill_rejects_an_unknown_mode() -> None:
    with pytest.raises(rt.RuleError):
        rt.fill(["a"], [1], [D(1)], D(1), "greedy")
