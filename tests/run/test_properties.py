"""run: invariants of time-and-materials billing over random contracts and time entries."""

import random
import tempfile
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine.compile.program import Program
from tests.run.helpers import write_jsonl

ROLES = ["Partner", "Consultant", "Analyst"]
REFERENCE: dict[str, list[dict[str, Any]]] = {
    "customer": [{"id": "C1", "name": "Acme", "currency": "USD"},
                 {"id": "C2", "name": "Kobe", "currency": "JPY"}],
    "project": [{"id": "P1", "customer_id": "C1", "name": "One"},
                {"id": "P2", "customer_id": "C2", "name": "Two"}],
    "tax_rate": [{"tax_code": "T", "rate": "0.175", "effective_from": "2020-01-01",
                  "rounding": "line"}],
}


@cache
def program() -> Program:
    return engine.compile(engine.plan("examples/standard"))


def contract(line: str, project: str, currency: str, increment: int, rounding: str,
             overtime: str) -> dict[str, Any]:
    return {"id": line, "contract_id": "K" + line, "customer_id": "C" + project[1],
            "project_id": project, "version": 1, "effective_from": "2025-01-01",
            "billing_method": "time_and_materials", "currency": currency,
            "rate_card_id": "R" + currency, "time_increment_minutes": increment,
            "time_rounding": rounding, "overtime_multiplier": overtime,
            "revenue_method": "as_incurred", "tax_code": "T"}


ENTRY = st.fixed_dictionaries({
    "project_id": st.sampled_from(["P1", "P2"]),
    "role": st.sampled_from([*ROLES, "Nobody"]),
    "day": st.integers(0, 89),
    "minutes": st.integers(0, 720),
    "cut": st.integers(0, 120),
    "billable": st.booleans(),
    "status": st.sampled_from(["approved"] * 4 + ["submitted", "draft", "rejected"]),
    "hold": st.sampled_from([False, False, True]),
    "time_type": st.sampled_from(["regular", "regular", "overtime", "holiday"]),
})


def entries_to_rows(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for index, entry in enumerate(entries):
        day = f"2025-{1 + entry['day'] // 30:02d}-{1 + entry['day'] % 28:02d}"
        rows.append({"id": f"T{index:04d}", "project_id": entry["project_id"],
                     "role": entry["role"], "work_date": day, "minutes": entry["minutes"],
                     "billable_minutes": max(0, entry["minutes"] - entry["cut"]),
                     "billable": entry["billable"], "status": entry["status"],
                     "hold": entry["hold"], "time_type": entry["time_type"]})
    return rows


def run(folder: Path, rows: list[dict[str, Any]], lines: list[dict[str, Any]],
        rates: list[dict[str, Any]], out: Path | None = None,
        expenses: list[dict[str, Any]] | None = None) -> engine.RunResult:
    for name, records in {**REFERENCE, "contract_line": lines, "rate_card_row": rates,
                          "time_entry": rows, "expense": expenses or []}.items():
        write_jsonl(folder, name, records)
    return engine.run(program(), folder, out, "2025-03")


def assert_the_books_tie_out(result: engine.RunResult) -> None:
    """Every journal entry balances; per contract line and period end, the balances are the
    journal lines summed so far, and cumulative revenue - cumulative net invoiced =
    unbilled receivable - deferred revenue."""
    moved: dict[tuple[str, str], Decimal] = {}
    for entry in result.outputs["journal_entry"]:
        assert sum(x["debit"] for x in entry["lines"]) == sum(x["credit"] for x in entry["lines"])
        for x in entry["lines"]:
            key = (entry["contract_line_id"], x["account_role"])
            sign = 1 if x["account_role"] == "unbilled_receivable" else -1
            moved.setdefault((*key, entry["period"]), Decimal(0))
            moved[(*key, entry["period"])] += sign * (x["debit"] - x["credit"])
    invoiced: dict[str, Decimal] = {}
    for line in result.outputs["invoice_line"]:
        owner = line["contract_line_id"]
        invoiced[owner] = invoiced.get(owner, 0) + line["amount"]
    for balance in result.outputs["balance"]:
        line, period = balance["contract_line_id"], balance["period"]
        assert balance["cumulative_revenue"] - balance["cumulative_invoiced"] == (
            balance["unbilled_receivable"] - balance["deferred_revenue"])
        for role in ("unbilled_receivable", "deferred_revenue"):
            assert balance[role] == sum(v for (ln, r, p), v in moved.items()
                                        if ln == line and r == role and p <= period)
    for line, total in invoiced.items():
        last = max((b for b in result.outputs["balance"] if b["contract_line_id"] == line),
                   key=lambda b: b["period"])
        assert last["cumulative_invoiced"] == total


def half_up(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=st.lists(ENTRY, max_size=40),
       increment=st.sampled_from([1, 6, 15]),
       rounding=st.sampled_from(["none", "up", "nearest", "down"]),
       overtime=st.sampled_from(["1", "1.5"]),
       prices=st.lists(st.decimals(1, 999, places=2), min_size=3, max_size=3),
       seed=st.integers(0, 1000))
def test_billing_invariants(entries: list[dict[str, Any]], increment: int, rounding: str,
                            overtime: str, prices: list[Decimal], seed: int) -> None:
    """Totals equal their lines; lines are one rounding of exact minutes x price; every
    record ends in one place; any input order gives the same bytes."""
    lines = [contract("L1", "P1", "USD", increment, rounding, overtime),
             contract("L2", "P2", "JPY", increment, rounding, overtime)]
    rates = [{"rate_card_id": "R" + ccy, "role": role, "rate": str(price), "currency": ccy,
              "unit": "hour", "effective_from": "2024-01-01"}
             for ccy in ("USD", "JPY") for role, price in zip(ROLES, prices, strict=True)]
    rows = entries_to_rows(entries)
    with tempfile.TemporaryDirectory() as folder:
        result = run(Path(folder) / "a", rows, lines, rates, Path(folder) / "out-a")
        shuffled = list(rows)
        random.Random(seed).shuffle(shuffled)
        run(Path(folder) / "b", shuffled, lines, rates, Path(folder) / "out-b")
        for name in ("invoice_line", "invoice", "unbilled_item", "exception"):
            first = (Path(folder) / "out-a" / f"{name}.jsonl").read_bytes()
            assert first == (Path(folder) / "out-b" / f"{name}.jsonl").read_bytes()
    invoice_lines = result.outputs["invoice_line"]
    by_invoice: dict[str, list[dict[str, Any]]] = {}
    for line in invoice_lines:
        by_invoice.setdefault(line["invoice_id"], []).append(line)
        places = 0 if line["currency"] == "JPY" else 2
        minutes = Decimal(line["rate_basis"] and sum(
            r["minutes"] for r in rows_by_id(rows, line["source_ids"], increment, rounding)))
        assert line["amount"] == half_up(minutes * line["unit_price"] / 60, places)
        assert line["tax_amount"] == half_up(line["amount"] * Decimal("0.175"), places)
    for invoice in result.outputs["invoice"]:
        own = by_invoice[invoice["id"]]
        assert invoice["subtotal"] == sum(line["amount"] for line in own)
        assert invoice["total"] == invoice["subtotal"] + invoice["tax_total"]
    assert result.reconciles
    assert_the_books_tie_out(result)
    tally = result.tallies["time_entry"]
    assert tally.received == len(rows)
    billed = {i for line in invoice_lines for i in line["source_ids"]}
    unbilled = {u["source_id"] for u in result.outputs["unbilled_item"]}
    excepted = {e["source_id"] for e in result.outputs["exception"]}
    for row in rows:
        places = [row["id"] in billed or row["id"] in unbilled, row["id"] in excepted,
                  row["status"] == "rejected"]
        assert sum(places) == 1, row


def rows_by_id(rows: list[dict[str, Any]], ids: list[str], increment: int,
               rounding: str) -> list[dict[str, int]]:
    """The billed minutes of entries: billable minutes rounded to the increment."""
    wanted = set(ids)
    result = []
    for row in rows:
        if row["id"] in wanted:
            minutes = Decimal(row["billable_minutes"])
            mode = {"up": "ROUND_UP", "down": "ROUND_DOWN", "nearest": "ROUND_HALF_UP"}
            if rounding != "none" and increment > 1:
                steps = (minutes / increment).quantize(Decimal(1), rounding=mode[rounding])
                minutes = steps * increment
            result.append({"minutes": int(minutes)})
    return result


EXPENSE = st.fixed_dictionaries({
    "day": st.integers(0, 89),
    "amount": st.decimals(Decimal("0.01"), 800, places=2),
    "billable": st.sampled_from([True, True, False]),
    "status": st.sampled_from(["approved"] * 3 + ["submitted", "rejected"]),
})
AMENDMENT = st.none() | st.fixed_dictionaries({
    "day": st.integers(31, 89),
    "cap": st.decimals(0, 6000, places=2),
    "price": st.decimals(1, 400, places=2),
    "mode": st.sampled_from(["prospective", "rerate_unbilled"]),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=st.lists(ENTRY, min_size=1, max_size=30),
       expenses=st.lists(EXPENSE, max_size=8),
       cap=st.decimals(0, 5000, places=2),
       overflow=st.sampled_from(["split", "whole_item", "reject"]),
       price=st.decimals(1, 400, places=2),
       markup=st.sampled_from(["0", "10", "12.5"]),
       scope=st.sampled_from(["line", "aggregate"]),
       amendment=AMENDMENT,
       seed=st.integers(0, 1000))
def test_nothing_is_billed_beyond_a_not_to_exceed(
        entries: list[dict[str, Any]], expenses: list[dict[str, Any]], cap: Decimal,
        overflow: str, price: Decimal, markup: str, scope: str,
        amendment: dict[str, Any] | None, seed: int) -> None:
    """Whatever the time, expenses, policy and amendment: invoiced <= the cap (the highest
    of its versions) per line, every record ends in one place, and the input order does not
    change the bytes."""
    line = dict(contract("L1", "P1", "USD", 1, "none", "1"), nte_amount=str(cap),
                cap_overflow=overflow, expense_markup_pct=markup, expense_markup_scope=scope)
    lines = [line, contract("L2", "P2", "JPY", 1, "none", "1")]
    rates = [{"rate_card_id": "R" + ccy, "role": role, "rate": str(price), "currency": ccy,
              "unit": "hour", "effective_from": "2024-01-01"}
             for ccy in ("USD", "JPY") for role in ROLES]
    caps = [cap]
    if amendment is not None:
        day = amendment["day"]
        lines.append(dict(line, version=2, rate_card_id="RUSD2",
                          effective_from=f"2025-{1 + day // 30:02d}-{1 + day % 28:02d}",
                          nte_amount=str(amendment["cap"]), amendment_mode=amendment["mode"]))
        rates += [{"rate_card_id": "RUSD2", "role": role, "rate": str(amendment["price"]),
                   "currency": "USD", "unit": "hour", "effective_from": "2024-01-01"}
                  for role in ROLES]
        caps.append(amendment["cap"])
    rows = entries_to_rows(entries)
    spent = [{"id": f"X{index:03d}", "project_id": "P1", "contract_line_id": "L1",
              "date": f"2025-{1 + x['day'] // 30:02d}-{1 + x['day'] % 28:02d}",
              "amount": str(x["amount"]), "currency": "USD", "category": "travel",
              "billable": x["billable"], "status": x["status"]}
             for index, x in enumerate(expenses)]
    with tempfile.TemporaryDirectory() as folder:
        result = run(Path(folder) / "a", rows, lines, rates, Path(folder) / "out-a", spent)
        shuffled = list(rows)
        random.Random(seed).shuffle(shuffled)
        run(Path(folder) / "b", shuffled, lines, rates, Path(folder) / "out-b", spent[::-1])
        for name in ("invoice_line", "invoice", "unbilled_item", "exception"):
            assert (Path(folder) / "out-a" / f"{name}.jsonl").read_bytes() == (
                Path(folder) / "out-b" / f"{name}.jsonl").read_bytes()
    billed = sum(line["amount"] for line in result.outputs["invoice_line"]
                 if line["contract_line_id"] == "L1")
    assert billed <= max(caps)
    assert all(b["cumulative_revenue"] <= max(caps) for b in result.outputs["balance"]
               if b["contract_line_id"] == "L1")
    assert result.reconciles
    assert_the_books_tie_out(result)
    places = {i for line in result.outputs["invoice_line"] for i in line["source_ids"]}
    places |= {u["source_id"] for u in result.outputs["unbilled_item"]}
    excepted = {e["source_id"] for e in result.outputs["exception"] if e["severity"] == "error"}
    for record in [*rows, *spent]:
        ends = [record["id"] in places, record["id"] in excepted,
                record["status"] == "rejected"]
        assert sum(ends) == 1, record
    over = [u for u in result.outputs["unbilled_item"]
            if u["status"] == "over_cap" or "not-to-exceed" in u["reason"]]
    if over:
        codes = {e["code"] for e in result.outputs["exception"] if e["contract_line_id"] == "L1"}
        assert codes & {"CAP_EXCEEDED", "CAP_WOULD_EXCEED"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fee=st.decimals(Decimal("0.01"), 10_000_000, places=2),
       cuts=st.lists(st.integers(1, 997), min_size=1, max_size=6, unique=True),
       milestones=st.booleans())
def test_installments_and_milestones_add_up_to_the_fee(fee: Decimal, cuts: list[int],
                                                       milestones: bool) -> None:
    """Percent installments or milestones, however the percentages fall, bill the fee to
    the cent: the last one by date takes the residue."""
    points = [*sorted(cuts), 1000]
    percents = [Decimal(b - a) / 10 for a, b in zip([0, *sorted(cuts)], points, strict=True)]
    days = [f"2025-{1 + i % 3:02d}-{1 + i:02d}" for i in range(len(percents))]
    line = {"id": "L1", "contract_id": "K1", "customer_id": "C1", "project_id": "P1",
            "version": 1, "effective_from": "2025-01-01", "currency": "USD",
            "revenue_method": "as_invoiced", "tax_code": "T", "fee_amount": str(fee)}
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        if milestones:
            line |= {"billing_method": "milestone"}
            write_jsonl(data, "milestone", [
                {"id": f"M{i}", "contract_line_id": "L1", "name": f"M{i}", "percent": str(p),
                 "due_date": day, "status": "achieved", "achieved_date": day}
                for i, (p, day) in enumerate(zip(percents, days, strict=True))])
        else:
            line |= {"billing_method": "fixed_fee", "installments": [
                {"date": day, "percent": str(p)} for p, day in zip(percents, days, strict=True)]}
        result = run(data, [], [line], [])
    billed = [x["amount"] for x in result.outputs["invoice_line"]]
    assert len(billed) == len(percents)
    assert sum(billed) == fee
