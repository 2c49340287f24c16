"""run --issued, by property: monthly closes chained over random histories.

A tiny fixed setup (one customer, one or two time-and-materials lines in USD on one contract,
the second maybe capped, a two-role rate card, a tax code rounded per document at 20 %,
maybe a second rate row later) and a random history over January to March or April: time
entries worked and approved, then, after each close, some of them revised, approved late,
rejected, held or released, a rate corrected retroactively, a contract line amended, an
issued period written down or up. Each month is closed over the data known by its end,
continuing the books of the month before (`engine.run(..., issued=previous_out)`), and after
every close the books obey the rules of semantics.md, "Issued periods and corrections".

The oracle for "issued plus corrections equals the recomputed billing" is a fresh run (no
issued books) of the same data in which every item already billed keeps the approval it had
when it was first billed: that is the recomputation the semantics describe ("an item once
billed in an issued period stays in that period"), made by the engine's own rules without
`--issued`. A fresh run of the data as it is may bill a re-approved item in a later period,
so it is compared (per contract line) only where no item would move.

Histories that once broke a property (each an engine bug, since fixed) are kept as explicit
examples, tried first on every run.

BILLSYNC_FUZZ_EXAMPLES sets the examples per property (default 40: the file runs in about
half a minute on two cores; a nightly run may set hundreds). By default the examples are
the same on every run (derandomized, not shrunk), so CI is repeatable and bounded in time;
with the variable set, each run explores new histories and shrinks what fails.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

import engine
from tests.run.helpers import write_jsonl

Record = dict[str, Any]
EXPLORE = "BILLSYNC_FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("BILLSYNC_FUZZ_EXAMPLES", "40"))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, derandomize=not EXPLORE,
                    phases=list(Phase) if EXPLORE else [Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
MONTHS = ("2025-01", "2025-02", "2025-03", "2025-04")
ROLES = ("A", "B")
DOCUMENTS = ("invoice_line", "invoice", "revenue_line", "journal_entry", "balance")
CENT = Decimal("0.01")
VAT = Decimal("0.20")
NEW_VAT = Decimal("0.25")


@pytest.fixture(scope="module")
def program() -> engine.Program:
    return engine.compile(engine.plan("examples/standard"))


# -- histories ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Work:
    """A time entry as first recorded in the month it was worked: approved on the day worked
    when approved_in is its own month, else submitted until approved (revision 2) on
    approval_day of MONTHS[approved_in]; never approved when that is after the last close."""

    id: str
    line: str
    role: str
    date: str
    minutes: int
    approved_in: int
    approval_day: int

    @property
    def month(self) -> int:
        return MONTHS.index(self.date[:7])


@dataclass(frozen=True)
class Revision:
    """A change made in MONTHS[month] (after the close of the month before) to an entry of
    an earlier month, as a higher revision: new minutes (re-approved on `day` when approved),
    rejected, put on hold, or released from hold."""

    month: int
    entry: str
    kind: str  # minutes | reject | hold | release
    day: int
    minutes: int = 0


@dataclass(frozen=True)
class RateFix:
    """From MONTHS[month] on, the rate card's row for role is corrected to rate, back to its
    effective_from (the rate_card_row file is replaced)."""

    month: int
    role: str
    rate: Decimal


@dataclass(frozen=True)
class Amendment:
    """Known from MONTHS[month]: version 2 of line, from `day` of that month, on rate card
    R1 or R2 and (for L2) a new cap."""

    month: int
    line: str
    day: int
    mode: str  # prospective | rerate_unbilled
    rate_card: str
    cap: Decimal | None


@dataclass(frozen=True)
class WriteOff:
    """Known from MONTHS[month]: an adjustment of an issued period (MONTHS[period])."""

    month: int
    line: str
    period: int
    amount: Decimal
    allocation: str  # amount | hours


@dataclass(frozen=True)
class History:
    """The reference setup's terms and what happened, month by month, over `closes` closes:
    rates of roles A and B on rate card R1 (and on R2, for amendments), L1's revenue method,
    whether L2 exists and its cap (cap_overflow `overflow`), a later 25 % rate of the tax
    code, the entries worked and the changes made after each close."""

    closes: int
    rates: tuple[Decimal, Decimal]
    amended_rates: tuple[Decimal, Decimal]
    revenue_method: str  # of L1
    second_line: bool
    cap: Decimal | None  # L2's not-to-exceed
    overflow: str
    tax_change: tuple[str, str] | None  # effective_from and rounding of a 25 % row
    work: tuple[Work, ...]
    revisions: tuple[Revision, ...] = ()
    rate_fixes: tuple[RateFix, ...] = ()
    amendments: tuple[Amendment, ...] = ()
    write_offs: tuple[WriteOff, ...] = ()

    def data(self, close: int) -> dict[str, list[Record]]:
        """The records known at the end of MONTHS[close]."""
        return {
            "customer": [{"id": "C1", "name": "Acme", "currency": "USD"}],
            "project": [{"id": "P1", "customer_id": "C1", "name": "Rollout"}],
            "tax_rate": self.tax_rates(),
            "contract_line": self.contract_lines(close),
            "rate_card_row": self.rate_card(close),
            "time_entry": self.entries(close),
            "adjustment": [
                {"id": f"A{index}", "contract_line_id": w.line, "period": MONTHS[w.period],
                 "amount": str(w.amount), "allocation": w.allocation, "reason": "goodwill"}
                for index, w in enumerate(self.write_offs) if w.month <= close],
        }

    def tax_rates(self) -> list[Record]:
        rows = [{"tax_code": "VAT", "rate": str(VAT), "effective_from": "2020-01-01",
                 "rounding": "document"}]
        if self.tax_change is not None:
            since, rounding = self.tax_change
            rows.append({"tax_code": "VAT", "rate": str(NEW_VAT), "effective_from": since,
                         "rounding": rounding})
        return rows

    def contract_lines(self, close: int) -> list[Record]:
        def version_1(line: str) -> Record:
            row: Record = {
                "id": line, "contract_id": "K1", "customer_id": "C1", "project_id": "P1",
                "version": 1, "effective_from": "2025-01-01",
                "billing_method": "time_and_materials", "currency": "USD",
                "rate_card_id": "R1", "tax_code": "VAT",
                "revenue_method": self.revenue_method if line == "L1" else "as_incurred"}
            if line == "L2" and self.cap is not None:
                row |= {"nte_amount": str(self.cap), "cap_overflow": self.overflow}
            return row
        rows = [version_1("L1")] + ([version_1("L2")] if self.second_line else [])
        for amendment in self.amendments:
            if amendment.month <= close:
                first = next(row for row in rows if row["id"] == amendment.line)
                row = dict(first, version=2, rate_card_id=amendment.rate_card,
                           amendment_mode=amendment.mode,
                           effective_from=f"{MONTHS[amendment.month]}-{amendment.day:02d}")
                if amendment.cap is not None:
                    row |= {"nte_amount": str(amendment.cap),
                            "cap_overflow": self.overflow}
                rows.append(row)
        return rows

    def rate_card(self, close: int) -> list[Record]:
        rates = dict(zip(ROLES, self.rates, strict=True))
        for fix in self.rate_fixes:
            if fix.month <= close:
                rates[fix.role] = fix.rate
        amended = dict(zip(ROLES, self.amended_rates, strict=True))
        return [{"rate_card_id": card, "role": role, "rate": str(rate), "currency": "USD",
                 "unit": "hour", "effective_from": "2024-01-01"}
                for card, table in (("R1", rates), ("R2", amended))
                for role, rate in table.items()]

    def entries(self, close: int) -> list[Record]:
        rows: dict[str, Record] = {}
        for work in self.work:
            if work.month <= close:
                approved = work.approved_in == work.month
                rows[work.id] = {
                    "id": work.id, "revision": 1, "source_system": "harvest",
                    "project_id": "P1", "contract_line_id": work.line, "worker_id": "W1",
                    "role": work.role, "work_date": work.date, "minutes": work.minutes,
                    "billable": True, "status": "approved" if approved else "submitted",
                    "approved_by": "M1" if approved else None,
                    "approved_at": f"{work.date}T18:00:00Z" if approved else None,
                    "hold": False, "time_type": "regular"}
        for month in range(1, close + 1):
            for work in self.work:
                if work.approved_in == month and work.month < month:
                    revise(rows[work.id], status="approved", approved_by="M1",
                           approved_at=f"{MONTHS[month]}-{work.approval_day:02d}T09:00:00Z")
            for change in self.revisions:
                if change.month == month:
                    apply(rows[change.entry], change)
        return list(rows.values())


def revise(row: Record, **fields: Any) -> None:
    row.update(fields, revision=row["revision"] + 1)


def apply(row: Record, change: Revision) -> None:
    when = f"{MONTHS[change.month]}-{change.day:02d}T09:00:00Z"
    if change.kind == "minutes":
        approval = {"approved_at": when} if row["status"] == "approved" else {}
        revise(row, minutes=change.minutes, **approval)
    elif change.kind == "reject":
        revise(row, status="rejected")
    else:
        revise(row, hold=change.kind == "hold",
               hold_reason="disputed" if change.kind == "hold" else None)


PRICE = st.decimals(Decimal("40.00"), Decimal("300.00"), places=2)
DAY = st.integers(1, 28)


@st.composite
def histories(draw: st.DrawFn, plain_as_incurred: bool = False,
              rerating: bool = False) -> History:
    """A history; plain_as_incurred: L1 is as_incurred, never capped, never adjusted;
    rerating: L1 is amended to rate card R2 with rerate_unbilled, and entries are more
    often approved late (so still unbilled when the amendment takes effect)."""
    closes = draw(st.integers(3, 4))
    second_line = draw(st.booleans())
    work: list[Work] = []
    for month in range(closes):
        for line, role, day, minutes, delay, approval_day in draw(st.lists(st.tuples(
                st.sampled_from(["L1", "L2"] if second_line else ["L1"]),
                st.sampled_from(ROLES), DAY, st.integers(1, 600),
                st.sampled_from([0, 1, 1, 2, 9] if rerating else [0, 0, 0, 1, 2, 9]), DAY),
                max_size=4)):
            work.append(Work(f"T{len(work) + 1:02d}", line, role,
                             f"{MONTHS[month]}-{day:02d}", minutes, month + delay,
                             approval_day))
    revisions = []
    for month in range(1, closes):
        earlier = [w.id for w in work if w.month < month]
        if earlier:
            for entry, kind, day, minutes in draw(st.lists(st.tuples(
                    st.sampled_from(earlier),
                    st.sampled_from(["minutes", "minutes", "reject", "hold", "release"]),
                    DAY, st.integers(0, 600)), max_size=3)):
                revisions.append(Revision(month, entry, kind, day, minutes))
    rate_fixes = [RateFix(month, role, rate) for month, role, rate in draw(st.lists(
        st.tuples(st.integers(1, closes - 1), st.sampled_from(ROLES), PRICE), max_size=2))]
    amendments = []
    for line in ["L1", "L2"] if second_line else ["L1"]:
        terms = st.tuples(
            st.integers(1, closes - 1), DAY, st.sampled_from(["prospective", "rerate_unbilled"]),
            st.sampled_from(["R1", "R2"]), st.decimals(0, 4000, places=2))
        if rerating and line == "L1":
            terms = st.tuples(st.integers(1, closes - 1), DAY, st.just("rerate_unbilled"),
                              st.just("R2"), st.just(Decimal(0)))
        amendment = draw(terms if rerating and line == "L1" else st.none() | terms)
        if amendment is not None:
            month, day, mode, card, cap = amendment
            amendments.append(Amendment(month, line, day, mode, card,
                                        cap if line == "L2" else None))
    write_offs: list[WriteOff] = []
    for month, pick, amount, allocation in [] if plain_as_incurred else draw(st.lists(
            st.tuples(st.integers(1, closes - 1), st.integers(0, 99),
                      st.decimals(-300, 150, places=2).filter(lambda x: x != 0),
                      st.sampled_from(["amount", "hours"])), max_size=2)):
        # Mostly a period and line that had time, sometimes one that had none.
        worked = sorted({(w.line, w.month) for w in work if w.month < month}) or [("L1", 0)]
        line, period = worked[pick % len(worked)] if pick < 90 else ("L1", month - 1)
        write_offs.append(WriteOff(month, line, period, amount, allocation))
    return History(
        closes=closes, rates=(draw(PRICE), draw(PRICE)),
        amended_rates=(draw(PRICE), draw(PRICE)),
        revenue_method="as_incurred" if plain_as_incurred else draw(
            st.sampled_from(["as_incurred", "as_invoiced"])),
        second_line=second_line,
        cap=draw(st.none() | st.decimals(0, 3000, places=2)),
        overflow=draw(st.sampled_from(["split", "whole_item"])),
        tax_change=draw(st.none() | st.tuples(
            st.sampled_from(["2025-02-01", "2025-03-01", "2025-04-01"]),
            st.sampled_from(["document", "line"]))),
        work=tuple(work), revisions=tuple(revisions), rate_fixes=tuple(rate_fixes),
        amendments=tuple(amendments), write_offs=tuple(write_offs))


# -- chained closes ----------------------------------------------------------------------

@dataclass
class Close:
    """One monthly close: its data, its result and folder, and the close before it."""

    index: int
    data: dict[str, list[Record]]
    result: engine.RunResult
    folder: Path
    previous: Close | None
    # The oracle (only when asked for): a fresh run with billed items kept where they were
    # billed, and whether that kept any item's approval from moving it.
    pinned: engine.RunResult | None = None
    moved: bool = False
    fresh: engine.RunResult | None = None

    @property
    def through(self) -> str:
        return MONTHS[self.index]

    def lines(self, name: str) -> list[str]:
        return (self.folder / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()

    def records(self, name: str) -> list[Record]:
        """The folder's records, issued ones included, amounts as Decimal."""
        return [json.loads(line, parse_float=Decimal) for line in self.lines(name)]


@dataclass
class Chain:
    """Closes in progress: their folder, and each billed item's approval when first billed."""

    root: Path
    pins: dict[str, str | None] = field(default_factory=dict)


def write_data(folder: Path, data: dict[str, list[Record]]) -> Path:
    for name, rows in data.items():
        write_jsonl(folder, name, rows)
    return folder


def chained(program: engine.Program, history: History, root: Path,
            oracle: bool = False) -> Iterator[Close]:
    """Close each month in turn, continuing the books of the month before."""
    chain = Chain(root)
    previous: Close | None = None
    for index in range(history.closes):
        data = history.data(index)
        folder = root / f"out-{MONTHS[index]}"
        result = engine.run(program, write_data(root / f"data-{MONTHS[index]}", data), folder,
                            MONTHS[index], issued=previous.folder if previous else None)
        close = Close(index, data, result, folder, previous)
        if oracle and previous is not None:
            add_oracle(program, chain, close)
        pin(chain, close)
        yield close
        previous = close


def billed_in(line: Record) -> tuple[str, str]:
    """The period and kind of billing a line is part of (a correction: the line it corrects)."""
    correction = line["correction"]
    if correction is None:
        return str(line["period"]), str(line["kind"])
    return str(correction["period"]), str(correction["kind"])


def pin(chain: Chain, close: Close) -> None:
    """Items billed for the first time by this close, with the approval they had then."""
    rows = {row["id"]: row for row in close.data["time_entry"]}
    for line in close.records("invoice_line"):
        if line["period"] == close.through and billed_in(line)[1] == "time":
            for source in line["source_ids"]:
                chain.pins.setdefault(source, rows[source]["approved_at"])


def add_oracle(program: engine.Program, chain: Chain, close: Close) -> None:
    """The recomputation of the books through this close, as fresh runs: each billed item
    with the approval it was first billed under (so billed where it was), and as the data
    is (compared only when the two are the same data)."""
    data = {name: [dict(row) for row in rows] for name, rows in close.data.items()}
    for row in data["time_entry"]:
        if row["id"] in chain.pins and row["status"] == "approved" and \
                row["approved_at"] != chain.pins[row["id"]]:
            row["approved_at"] = chain.pins[row["id"]]
            close.moved = True
    folder = write_data(chain.root / f"pinned-{close.through}", data)
    close.pinned = engine.run(program, folder, None, close.through)
    if not close.moved:
        close.fresh = engine.run(program, folder, None, close.through)


def closes_of(program: engine.Program, history: History, oracle: bool = False
              ) -> Iterator[Close]:
    with tempfile.TemporaryDirectory() as root:
        yield from chained(program, history, Path(root), oracle)


# -- helpers -----------------------------------------------------------------------------

def money(value: Any) -> Decimal:
    return Decimal(str(value))


def half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def key_of(line: Record) -> tuple[str, str]:
    """The issued key a line bills under: its own (period, id), or a correction's."""
    correction = line["correction"]
    if correction is None:
        return str(line["period"]), str(line["id"])
    return str(correction["period"]), str(correction["line_id"])


def by_key(lines: list[Record], field_name: str) -> dict[tuple[str, str], Decimal]:
    totals: dict[tuple[str, str], Decimal] = {}
    for line in lines:
        key = key_of(line)
        totals[key] = totals.get(key, Decimal(0)) + money(line[field_name])
    return {key: total for key, total in totals.items() if total != 0}


def per_contract_line(lines: list[Record]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for line in lines:
        owner = str(line["contract_line_id"])
        totals[owner] = totals.get(owner, Decimal(0)) + money(line["amount"])
    return {owner: total for owner, total in totals.items() if total != 0}


def where(close: Close) -> str:
    return f"close {close.through}"


# -- minimal histories that once broke a property ------------------------------------------

# T01, an hour in January at 40.01, is invoiced in January. The rate is corrected to 40.00
# after January's close: February corrects January's 40.01 key to 0 and bills a 40.00 key
# January never had (corrects: null). T01 is rejected after February's close: March must
# reverse January's 40.00 key, and a fourth close, with nothing new, must correct nothing.
# (Found: the reversal was filed under the February correction's own id and period, and
# every later close re-issued a -0.67/+0.67 pair.)
RECORRECTED = History(
    closes=4, rates=(Decimal("40.01"), Decimal("40.00")),
    amended_rates=(Decimal("40.00"), Decimal("40.00")), revenue_method="as_incurred",
    second_line=False, cap=None, overflow="split", tax_change=None,
    work=(Work("T01", "L1", "A", "2025-01-01", 1, 0, 1),),
    revisions=(Revision(2, "T01", "reject", 1),),
    rate_fixes=(RateFix(1, "A", Decimal("40.00")),))

# Cap 500 (whole_item) on L2: T01, 10 hours at 100 in January, does not fit, yet as_incurred
# recognises 500 of revenue (unbilled receivable). After January's close T01 is revised to
# 5 hours and re-approved: never billed, it moves to February and is invoiced there (500).
# February recognises nothing more (500 recomputed - 500 issued). (Found: February started
# from zero, recognised 500 again, and its balance disagreed with the journals.)
RECOGNISED_TWICE = History(
    closes=2, rates=(Decimal("100.00"), Decimal("40.00")),
    amended_rates=(Decimal("40.00"), Decimal("40.00")), revenue_method="as_incurred",
    second_line=True, cap=Decimal("500.00"), overflow="whole_item", tax_change=None,
    work=(Work("T01", "L2", "A", "2025-01-10", 600, 0, 1),),
    revisions=(Revision(1, "T01", "minutes", 3, 300),))

# The same, T01 rejected instead: nothing of L2 is left to recompute, and February must
# still reverse January's 500 and carry L2's balance.
REVERSED = History(
    closes=2, rates=(Decimal("100.00"), Decimal("40.00")),
    amended_rates=(Decimal("40.00"), Decimal("40.00")), revenue_method="as_incurred",
    second_line=True, cap=Decimal("500.00"), overflow="whole_item", tax_change=None,
    work=(Work("T01", "L2", "A", "2025-01-10", 600, 0, 1),),
    revisions=(Revision(1, "T01", "reject", 3),))

# T01, an hour on 10 January at 100, is invoiced in January. After January's close, version
# 2 of L1 (from 1 February, rerate_unbilled) prices the role at 120, and T01 is re-approved
# on 3 February, its minutes unchanged. T01 was invoiced, not unbilled, when version 2 took
# effect: January stands at 100 and February corrects nothing. (Found: February reversed
# January's 100 and billed January 120.)
REAPPROVED = History(
    closes=2, rates=(Decimal("100.00"), Decimal("40.00")),
    amended_rates=(Decimal("120.00"), Decimal("40.00")), revenue_method="as_incurred",
    second_line=False, cap=None, overflow="split", tax_change=None,
    work=(Work("T01", "L1", "A", "2025-01-10", 60, 0, 1),),
    revisions=(Revision(1, "T01", "minutes", 3, 60),),
    amendments=(Amendment(1, "L1", 1, "rerate_unbilled", "R2", None),))

# T01, an hour on 20 February at 100 (role B), is submitted, and approved only on 26 March,
# after version 2 of L1 (known from March, in force from 7 March, rerate_unbilled, 120 an
# hour): still unbilled when version 2 took effect, it is invoiced in March at 120. April
# learns nothing new and must correct nothing. (Found: April re-priced it at 100, -120/+100.)
LATE_RERATED = History(
    closes=4, rates=(Decimal("100.00"), Decimal("100.00")),
    amended_rates=(Decimal("120.00"), Decimal("120.00")), revenue_method="as_incurred",
    second_line=False, cap=None, overflow="split", tax_change=None,
    work=(Work("T01", "L1", "B", "2025-02-20", 60, 2, 26),),
    amendments=(Amendment(2, "L1", 7, "rerate_unbilled", "R2", None),))

# T01, 2 hours on 3 February at 40 on L2 (no cap), is submitted and approved on 28 March,
# after version 2 of L2 (known from March, in force from 2 March, rerate_unbilled) which
# keeps the rate card and only caps the line at 0.67: re-rated, it is billed 1 minute
# (0.67) in March, the rest over the cap. April learns nothing new and corrects nothing.
# (Found, in a larger history, while re-rating was being fixed: April put such an entry
# back on version 1, uncapped, and corrected March by its whole amount.)
CAP_ONLY_RERATED = History(
    closes=4, rates=(Decimal("40.00"), Decimal("40.00")),
    amended_rates=(Decimal("40.00"), Decimal("40.00")), revenue_method="as_incurred",
    second_line=True, cap=None, overflow="split", tax_change=None,
    work=(Work("T01", "L2", "A", "2025-02-03", 120, 2, 28),),
    amendments=(Amendment(2, "L2", 2, "rerate_unbilled", "R1", Decimal("0.67")),))


def learns_nothing(history: History, index: int) -> bool:
    """Whether the data of close `index` is that of the close before plus the month's own
    new entries: nothing known at the earlier close changed."""
    now, before = history.data(index), history.data(index - 1)
    month = MONTHS[index]
    now["time_entry"] = [row for row in now["time_entry"] if row["work_date"][:7] < month]
    return now == before


def quiet_last_month(history: History) -> History:
    """The history with nothing learnt in its last month but the month's own entries."""
    last = history.closes - 1
    return replace(
        history,
        work=tuple(replace(w, approved_in=9) if w.month < w.approved_in == last else w
                   for w in history.work),
        revisions=tuple(x for x in history.revisions if x.month != last),
        rate_fixes=tuple(x for x in history.rate_fixes if x.month != last),
        amendments=tuple(x for x in history.amendments if x.month != last),
        write_offs=tuple(x for x in history.write_offs if x.month != last))


# -- properties --------------------------------------------------------------------------

@PROPERTY
@given(history=histories())
def test_issued_documents_never_change(program: engine.Program, history: History) -> None:
    """After every close, each line of the previous close's invoice lines, invoices, revenue
    lines, journal entries and balances is in the new folder unchanged, the new folder's
    documents of issued periods are exactly those, and every other document is of the
    period the close opens."""
    for close in closes_of(program, history):
        if close.previous is None:
            continue
        for name in DOCUMENTS:
            before = close.previous.lines(name)
            after = close.lines(name)
            assert set(before) <= set(after), (where(close), name)
            added = [json.loads(line) for line in after if line not in set(before)]
            assert len(after) == len(before) + len(added), (where(close), name)
            assert all(row["period"] == close.through for row in added), (where(close), name)


def assert_recomputed_totals(close: Close) -> None:
    """Issued lines, corrections and the open period's lines bill, per contract line and in
    total, what the recomputation bills, and what a fresh run does when no item moved."""
    assert close.pinned is not None
    lines = close.records("invoice_line")
    recomputed = close.pinned.outputs["invoice_line"]
    assert per_contract_line(lines) == per_contract_line(recomputed), where(close)
    assert sum(money(x["amount"]) for x in lines) == sum(x["amount"] for x in recomputed)
    if close.fresh is not None:
        assert per_contract_line(lines) == per_contract_line(
            close.fresh.outputs["invoice_line"]), where(close)


def assert_recomputed_per_key(close: Close) -> None:
    """Per key, issued plus corrections is the recomputed line; each correction states it."""
    assert close.pinned is not None
    lines = close.records("invoice_line")
    recomputed = close.pinned.outputs["invoice_line"]
    assert by_key(lines, "amount") == by_key(recomputed, "amount"), where(close)
    assert by_key(lines, "quantity") == by_key(recomputed, "quantity"), where(close)
    check_corrections(close, recomputed)


def check_corrections(close: Close, recomputed: list[Record]) -> None:
    assert close.previous is not None
    issued = close.previous.records("invoice_line")
    issued_amount = by_key(issued, "amount")
    issued_quantity = by_key(issued, "quantity")
    now_amount = by_key(recomputed, "amount")
    now_quantity = by_key(recomputed, "quantity")
    seen: set[tuple[str, str]] = set()
    for line in close.result.outputs["invoice_line"]:
        if line["kind"] != "correction":
            continue
        key, fix = key_of(line), line["correction"]
        assert key not in seen, (where(close), key)
        seen.add(key)
        assert line["period"] == close.through and key[0] < close.through, line["id"]
        assert line["invoice_id"] == f"{line['contract_id']}:{close.through}"
        assert (line["amount"], line["quantity"]) != (0, 0), line["id"]
        assert fix["old_amount"] == issued_amount.get(key, 0), line["id"]
        assert fix["old_quantity"] == issued_quantity.get(key, 0), line["id"]
        assert fix["new_amount"] == now_amount.get(key, 0), line["id"]
        assert fix["new_quantity"] == now_quantity.get(key, 0), line["id"]
        assert line["amount"] == fix["new_amount"] - fix["old_amount"], line["id"]
        assert line["quantity"] == fix["new_quantity"] - fix["old_quantity"], line["id"]
        under_key = {x["id"] for x in issued if key_of(x) == key}
        if under_key:
            assert line["corrects"] in under_key, line["id"]
        else:
            assert line["corrects"] is None, line["id"]


def assert_corrects_nothing(close: Close) -> None:
    """A close that learnt nothing about issued periods corrects none of them."""
    corrections = [line["id"] for line in close.result.outputs["invoice_line"]
                   if line["kind"] == "correction"]
    notices = [e["id"] for e in close.result.outputs["exception"] if e["code"] == "CORRECTION"]
    assert (corrections, notices) == ([], []), where(close)


@PROPERTY
@example(history=REAPPROVED)
@example(history=LATE_RERATED)
@given(history=histories())
def test_issued_plus_corrections_bill_the_recomputed_total(program: engine.Program,
                                                          history: History) -> None:
    """After every close, what the folder invoices through it (issued lines, corrections and
    the open period's lines) is, per contract line and in total, what the recomputation
    bills; and what a fresh run of the same data bills, when no re-approval would move an
    item out of the period it was billed in."""
    for close in closes_of(program, history, oracle=True):
        if close.previous is not None:
            assert_recomputed_totals(close)


# T01, a minute on 1 January on L2 (cap 0.67, role B at 40.50: 0.68, over the cap), is
# revised to 2 minutes and approved on 1 February, when the rate is corrected to 40.01 and
# version 2 of L2 (from 2 February, rerate_unbilled, 40.00 on R2, cap 1.34) is known. Not
# re-rated (approved before version 2), one minute fits the old cap at 40.01 and the other
# is re-offered on version 2 at 40.00: two February lines. March learns nothing new and
# must correct nothing. (Found: March took the re-offered line's re-rating for the whole
# entry and moved both minutes to 40.00.)
SPLIT_RERATED = History(
    closes=4, rates=(Decimal("40.00"), Decimal("40.50")),
    amended_rates=(Decimal("40.00"), Decimal("40.00")), revenue_method="as_incurred",
    second_line=True, cap=Decimal("0.67"), overflow="split", tax_change=None,
    work=(Work("T01", "L2", "B", "2025-01-01", 1, 0, 1),
          Work("T02", "L1", "A", "2025-01-01", 1, 0, 1),
          Work("T03", "L1", "A", "2025-01-01", 1, 0, 1),
          Work("T04", "L1", "A", "2025-01-01", 1, 0, 1)),
    revisions=(Revision(1, "T01", "minutes", 1, 2),),
    rate_fixes=(RateFix(1, "A", Decimal("40.00")), RateFix(1, "B", Decimal("40.01"))),
    amendments=(Amendment(1, "L2", 2, "rerate_unbilled", "R2", Decimal("1.34")),))


@PROPERTY
@example(history=RECORRECTED)
@example(history=REAPPROVED)
@example(history=SPLIT_RERATED)
@given(history=histories())
def test_issued_plus_corrections_is_the_recomputed_billing_per_key(
        program: engine.Program, history: History) -> None:
    """After every close, per line key of every period (an issued line's key, or for a
    correction the key of the line it corrects), the issued amount and quantity plus the
    corrections' equal what the recomputation bills under that key. Each correction is of
    the open period, names the issued line it corrects (none only when nothing of its key
    was issued), carries the issued and recomputed figures and bills their difference, once
    per key and never a difference of zero."""
    for close in closes_of(program, history, oracle=True):
        if close.previous is not None:
            assert_recomputed_per_key(close)


@PROPERTY
@example(history=RECORRECTED)
@example(history=LATE_RERATED)
@given(history=histories())
def test_a_close_that_learns_nothing_new_corrects_nothing(program: engine.Program,
                                                          history: History) -> None:
    """A close whose data is the previous close's plus the new month's own entries (nothing
    revised, approved, re-rated or adjusted since) raises no correction and no CORRECTION
    notice: issued books are only corrected for what changed."""
    history = quiet_last_month(history)
    for close in closes_of(program, history):
        if close.previous is not None and learns_nothing(history, close.index):
            assert_corrects_nothing(close)


@PROPERTY
@example(history=LATE_RERATED)
@example(history=REAPPROVED)
@example(history=CAP_ONLY_RERATED)
@given(history=histories(rerating=True))
def test_an_item_keeps_the_terms_it_was_invoiced_on(program: engine.Program,
                                                    history: History) -> None:
    """Re-rating prices on an amendment's terms what was still unbilled when it took effect;
    an invoiced item keeps the terms it was invoiced on, whether or not it was re-rated,
    whatever is re-approved later. So, over histories where L1 is amended to re-rate, issued
    plus corrections is still the recomputation per key and in total, and a close that
    learns nothing new corrects nothing."""
    for close in closes_of(program, history, oracle=True):
        if close.previous is not None:
            assert_recomputed_totals(close)
            assert_recomputed_per_key(close)
            if learns_nothing(history, close.index):
                assert_corrects_nothing(close)


@PROPERTY
@example(history=RECOGNISED_TWICE)
@example(history=REVERSED)
@given(history=histories())
def test_the_books_tie_out_at_every_close(program: engine.Program, history: History) -> None:
    """After every close, over the whole folder (issued periods included): each journal
    entry's debits equal its credits; at each balance, cumulative revenue - cumulative
    invoiced = unbilled receivable - deferred revenue; the last balance of a contract line
    has invoiced, cumulatively, the sum of its invoice lines (corrections included)."""
    for close in closes_of(program, history):
        for entry in close.records("journal_entry"):
            debits = sum(money(x["debit"]) for x in entry["lines"])
            assert debits == sum(money(x["credit"]) for x in entry["lines"]), entry["id"]
        last: dict[str, Record] = {}
        for balance in close.records("balance"):
            owner, period = balance["contract_line_id"], balance["period"]
            revenue, invoiced = money(balance["cumulative_revenue"]), money(
                balance["cumulative_invoiced"])
            assert revenue - invoiced == money(balance["unbilled_receivable"]) - money(
                balance["deferred_revenue"]), (where(close), owner, period)
            if owner not in last or last[owner]["period"] < period:
                last[owner] = balance
        invoiced_lines = per_contract_line(close.records("invoice_line"))
        for owner in set(last) | set(invoiced_lines):
            assert owner in last, (where(close), owner)
            assert money(last[owner]["cumulative_invoiced"]) == invoiced_lines.get(owner, 0), (
                where(close), owner)


@PROPERTY
@example(history=RECOGNISED_TWICE)
@example(history=REVERSED)
@given(history=histories())
def test_balances_are_the_journals_carried_forward(program: engine.Program,
                                                   history: History) -> None:
    """After every close, a contract line with a balance at the previous close has one at
    this close's period; each balance's unbilled receivable and deferred revenue are its
    line's journal movements through its period (issued journals included), and its
    cumulative revenue is its revenue lines' sum through its period."""
    for close in closes_of(program, history):
        moved: dict[tuple[str, str, str], Decimal] = {}
        for entry in close.records("journal_entry"):
            for x in entry["lines"]:
                sign = 1 if x["account_role"] == "unbilled_receivable" else -1
                movement = (entry["contract_line_id"], x["account_role"], entry["period"])
                moved[movement] = moved.get(movement, Decimal(0)) + sign * (
                    money(x["debit"]) - money(x["credit"]))
        revenue = close.records("revenue_line")
        balances = close.records("balance")
        if close.previous is not None:
            carried = {b["contract_line_id"] for b in close.previous.records("balance")}
            now = {b["contract_line_id"] for b in balances if b["period"] == close.through}
            assert carried <= now, (where(close), carried - now)
        for balance in balances:
            owner, period = balance["contract_line_id"], balance["period"]
            for role in ("unbilled_receivable", "deferred_revenue"):
                assert money(balance[role]) == sum(
                    (v for (line, r, p), v in moved.items()
                     if line == owner and r == role and p <= period), Decimal(0)), (
                    where(close), owner, period, role)
            assert money(balance["cumulative_revenue"]) == sum(
                (money(r["amount"]) for r in revenue
                 if r["contract_line_id"] == owner and r["period"] <= period), Decimal(0)), (
                where(close), owner, period)


@PROPERTY
@given(history=histories())
def test_every_close_accounts_for_its_records(program: engine.Program,
                                             history: History) -> None:
    """Every close reconciles (each record read is accounted for) and raises no RULE_ERROR
    and no ISSUED_PERIOD: no rule fails, and none tries to rewrite an issued period."""
    for close in closes_of(program, history):
        assert close.result.reconciles, where(close)
        codes = {e["code"] for e in close.result.outputs["exception"]}
        assert not codes & {"RULE_ERROR", "ISSUED_PERIOD"}, (where(close), codes)


def corrected_period(line: Record, lines: dict[str, Record]) -> str:
    """The period a line bills: its own; a correction's, the period of the line it corrects
    (followed through a correction it names)."""
    while line["correction"] is not None:
        corrected = lines.get(line["correction"]["line_id"])
        if corrected is None:
            return str(line["correction"]["period"])
        line = corrected
    return str(line["period"])


@PROPERTY
@given(history=histories())
def test_each_document_carries_the_tax_of_its_lines(program: engine.Program,
                                                    history: History) -> None:
    """After every close, for each invoice: its subtotal and tax total are its lines' sums
    and its total their sum; it is a credit note exactly when that total is negative. Each
    line is taxed at the rate in force at the end of the period it bills (a correction: of
    the period it corrects); per invoice and rate rounded per document, the lines' tax is
    round_half_up(sum of their amounts x rate), whatever the signs of the amounts; rounded
    per line, each line's tax is its amount x rate rounded."""
    for close in closes_of(program, history):
        rates = history.tax_rates()
        records = close.records("invoice_line")
        by_id = {line["id"]: line for line in records}
        lines: dict[str, list[Record]] = {}
        for line in records:
            lines.setdefault(line["invoice_id"], []).append(line)
            period_end = f"{corrected_period(line, by_id)}-31"
            in_force = max((r for r in rates if r["effective_from"] <= period_end),
                           key=lambda r: str(r["effective_from"]))
            assert money(line["tax_rate"]) == money(in_force["rate"]), (where(close), line["id"])
        for invoice in close.records("invoice"):
            own = lines[invoice["id"]]
            subtotal = sum((money(x["amount"]) for x in own), Decimal(0))
            tax = sum((money(x["tax_amount"]) for x in own), Decimal(0))
            assert (money(invoice["subtotal"]), money(invoice["tax_total"])) == (subtotal, tax)
            assert money(invoice["total"]) == subtotal + tax, invoice["id"]
            negative = money(invoice["total"]) < 0
            assert (invoice["document_type"] == "credit_note") == negative, invoice["id"]
            for rate in {money(x["tax_rate"]) for x in own}:
                share = [x for x in own if money(x["tax_rate"]) == rate]
                rounding = next(r["rounding"] for r in rates if money(r["rate"]) == rate)
                if rounding == "document":
                    assert sum(money(x["tax_amount"]) for x in share) == half_up(
                        sum((money(x["amount"]) for x in share), Decimal(0)) * rate), (
                        where(close), invoice["id"], rate)
                else:
                    for x in share:
                        assert money(x["tax_amount"]) == half_up(money(x["amount"]) * rate)


# Two one-minute entries of one role in January at 40.00: one invoice line of 1.33 (0.67
# each, rounded per entry, would make 1.34 of revenue).
TWO_MINUTES = History(
    closes=2, rates=(Decimal("40.00"), Decimal("40.00")),
    amended_rates=(Decimal("40.00"), Decimal("40.00")), revenue_method="as_incurred",
    second_line=False, cap=None, overflow="split", tax_change=None,
    work=(Work("T01", "L1", "A", "2025-01-01", 1, 0, 1),
          Work("T02", "L1", "A", "2025-01-01", 1, 0, 1)))

# Three entries of role B in January at 299.99: 214, 220 and 256 minutes, one invoice line
# of 690 minutes = 3449.885 exactly, invoiced 3449.89 (half up). Summed per entry as
# minutes x price / 60, each quotient cut to 28 digits, the sum is 3449.88499..., which
# rounds to 3449.88.
HALF_CENT_TIE = History(
    closes=2, rates=(Decimal("40.00"), Decimal("299.99")),
    amended_rates=(Decimal("40.00"), Decimal("40.00")), revenue_method="as_incurred",
    second_line=False, cap=None, overflow="split", tax_change=None,
    work=(Work("T01", "L1", "B", "2025-01-10", 214, 0, 1),
          Work("T02", "L1", "B", "2025-01-11", 220, 0, 1),
          Work("T03", "L1", "B", "2025-01-12", 256, 0, 1)))


@PROPERTY
@example(history=HALF_CENT_TIE)
@example(history=TWO_MINUTES)
@given(history=histories(plain_as_incurred=True))
def test_as_incurred_revenue_is_what_was_invoiced(program: engine.Program,
                                                  history: History) -> None:
    """On an uncapped as_incurred line never adjusted, revenue is priced as it is invoiced
    (one rounding per invoice line): after every close, its cumulative revenue equals its
    cumulative net invoiced amount to the cent."""
    for close in closes_of(program, history):
        balances = [b for b in close.records("balance") if b["contract_line_id"] == "L1"]
        if balances:
            last = max(balances, key=lambda b: str(b["period"]))
            assert money(last["cumulative_revenue"]) == money(last["cumulative_invoiced"]), (
                where(close))
