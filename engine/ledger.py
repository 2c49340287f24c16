"""Export a run's journal entries as a plain-text double-entry ledger (Beancount syntax), so
that an outside tool can check the books: one account per account role, legal entity and
currency; one transaction per journal entry, debits positive and credits negative.

The account roles are the canonical model's (semantics.md, "Journals"); each belongs to one
side of the balance sheet or income statement, which is all this module knows of them.

Everything written comes from records, so everything is escaped by construction: text goes
out only through `quoted` (a Beancount string that nothing can end early), names only
through `component` and `commodity` (valid by construction, a short hash keeping apart two
names that clean to the same text), amounts only through `number` (plain notation, every
digit). A row that is not what a run writes is a LedgerError naming its line.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from engine.compile import runtime
from engine.escape import printable
from engine.run.paths import write_text
from engine.run.records import read_jsonl

ROOTS = {
    "accounts_receivable": "Assets",
    "unbilled_receivable": "Assets",
    "deferred_revenue": "Liabilities",
    "tax_payable": "Liabilities",
    "services_revenue": "Income",
    "expense_revenue": "Income",
    "write_down": "Expenses",
}
KIND_ORDER = {"revenue": 0, "write_down": 1, "invoice": 2}  # within a line and period
_INVALID = re.compile(r"[^A-Za-z0-9-]")
_COMPONENT = re.compile(r"[A-Z0-9][A-Za-z0-9-]*")
_COMMODITY = re.compile(r"[A-Z]([A-Z0-9'._-]{0,22}[A-Z0-9])?")
# Sums of amounts are exact whatever their size (a 28-digit context would round them).
EXACT = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN,
                        traps=[decimal.InvalidOperation])
T = TypeVar("T")


class LedgerError(Exception):
    """A journal entry the ledger cannot hold (an account role it does not know, a row that
    is not what a run writes), or a ledger that cannot be written."""


# -- names, strings and numbers, valid by construction --------------------------------------

def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8].upper()


def component(text: str) -> str:
    """A valid account name component: letters, digits and dashes, starting with a capital
    or a digit. A name that is one (once its first letter is a capital) stays as it is; any
    other keeps its valid characters and gains a short hash of itself."""
    capital = text[:1].upper() + text[1:]
    if _COMPONENT.fullmatch(capital):
        return capital
    cleaned = _INVALID.sub("-", capital)[:40]
    head = cleaned if _COMPONENT.match(cleaned) else "X" + cleaned
    return f"{head}-{_digest(text)}"


def commodity(text: str) -> str:
    """A valid Beancount commodity: the currency code itself (USD) when it is one, or else X
    and a short hash of it."""
    return text if _COMMODITY.fullmatch(text) else f"X{_digest(text)}"


def account(role: str, legal_entity: str, currency: str) -> str:
    root = ROOTS.get(role)
    if root is None:
        raise LedgerError(f"unknown account role {printable(repr(role))} "
                          f"(known: {', '.join(ROOTS)})")
    name = "".join(part.capitalize() for part in role.split("_"))
    return f"{root}:{name}:{component(legal_entity)}:{component(commodity(currency))}"


def quoted(text: str) -> str:
    """A Beancount string that reads back as the printable form of the text: backslashes
    and quotes escaped, control characters (a newline too) shown as escapes."""
    return '"' + printable(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def number(value: Decimal) -> str:
    """An amount in plain notation with every digit (never 3.3E+29)."""
    return runtime.plain(value)


# -- rows to directives ----------------------------------------------------------------------

@dataclass(frozen=True)
class Transaction:
    """A journal entry as the ledger writes it: its names and amounts already valid."""

    date: str
    line: str
    period: str
    kind: str
    id: str
    commodity: str
    postings: tuple[tuple[str, Decimal], ...]  # account, amount

    def order(self) -> tuple[str, str, str, int, str]:
        return (self.date, self.line, self.period, KIND_ORDER.get(self.kind, 9), self.id)

    def lines(self) -> list[str]:
        head = f"{self.date} * {quoted(self.line)} {quoted(f'{self.kind} {self.period}')}"
        return [head, f"  billsync_id: {quoted(self.id)}",
                *(f"  {name}  {number(amount)} {self.commodity}" for name, amount in self.postings),
                ""]


@dataclass(frozen=True)
class Assertion:
    """One period-end figure of one account, to be summed with the others of its day."""

    date: str
    account: str
    commodity: str
    amount: Decimal


def _text(row: dict[str, Any], name: str) -> str:
    value = row[name]
    if not isinstance(value, str):
        raise TypeError(f"field '{name}' is not text")
    return value


def _amount(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise TypeError("an amount is not a decimal")
    amount = Decimal(value)
    if not amount.is_finite():
        raise ValueError("an amount is not finite")
    return amount


def _date(text: str) -> str:
    return dt.date.fromisoformat(text).isoformat()


def _fitting(convert: Callable[[dict[str, Any]], T]) -> Callable[[Any], T]:
    """convert, with a row that does not fit turned into a LedgerError saying why."""
    def checked(row: Any) -> T:
        if not isinstance(row, dict):
            raise LedgerError("not a JSON object")
        try:
            with decimal.localcontext(EXACT):
                return convert(row)
        except KeyError as missing:
            raise LedgerError(f"field {missing} is missing") from None
        except (TypeError, ValueError, ArithmeticError, runtime.RuleError) as error:
            raise LedgerError(printable(str(error)) or "a value does not fit") from None
    return checked


@_fitting
def transaction(entry: dict[str, Any]) -> Transaction:
    """A journal entry as a transaction: debits positive, credits negative."""
    currency = _text(entry, "currency")
    lines = entry["lines"]
    if not isinstance(lines, list) or not all(isinstance(x, dict) for x in lines):
        raise TypeError("field 'lines' is not a list of records")
    postings = tuple(
        (account(_text(x, "account_role"), _text(entry, "legal_entity"), currency),
         _amount(x["debit"]) - _amount(x["credit"])) for x in lines)
    return Transaction(_date(_text(entry, "date")), _text(entry, "contract_line_id"),
                       _text(entry, "period"), _text(entry, "kind"), _text(entry, "id"),
                       commodity(currency), postings)


@_fitting
def assertions(row: dict[str, Any]) -> list[Assertion]:
    """A balance record as assertions on the unbilled receivable (a debit) and deferred
    revenue (a credit), checked at the start of the day after its period's end."""
    after = str(runtime.period_end(_text(row, "period")) + dt.timedelta(days=1))
    currency = _text(row, "currency")
    return [Assertion(after, account(role, _text(row, "legal_entity"), currency),
                      commodity(currency), sign * _amount(row[role]))
            for role, sign in (("unbilled_receivable", 1), ("deferred_revenue", -1))]


def to_beancount(entries: Iterable[dict[str, Any]],
                 balances: Iterable[dict[str, Any]] = ()) -> str:
    """The ledger text of journal entries and balance records (LedgerError on a row that
    does not fit)."""
    return render([transaction(e) for e in entries],
                  [a for row in balances for a in assertions(row)])


def render(transactions: list[Transaction], checks: list[Assertion]) -> str:
    """Open directives (every account the day before the ledger's first date, so before
    its first balance assertion), the transactions (per day, line and period: revenue,
    write-down, invoice), and one balance assertion per account and date, summed."""
    ordered = sorted(transactions, key=Transaction.order)
    with decimal.localcontext(EXACT):
        totals: dict[tuple[str, str, str], Decimal] = {}
        for check in checks:
            key = (check.date, check.account, check.commodity)
            totals[key] = totals.get(key, Decimal(0)) + check.amount
    accounts = {name: t.commodity for t in ordered for name, _ in t.postings}
    accounts.update({name: unit for _, name, unit in totals})
    dates = [t.date for t in ordered] + [day for day, _, _ in totals]
    first = dt.date.fromisoformat(min(dates)) if dates else dt.date.max
    opening = first - dt.timedelta(days=1) if first > dt.date.min else first
    head = [f"{opening} open {name} {unit}" for name, unit in sorted(accounts.items())]
    body = [line for t in ordered for line in t.lines()]
    tail = [f"{day} balance {name}  {number(amount)} {unit}"
            for (day, name, unit), amount in sorted(totals.items())]
    return "\n".join([*head, "", *body, *tail]) + "\n"


# -- files -----------------------------------------------------------------------------------

def _rows(path: Path, convert: Callable[[Any], T]) -> Iterator[T]:
    """Each row of a run's output file, converted; a LedgerError names the line that does
    not fit. No file: no rows."""
    if not path.exists():
        return
    for line, row, problem in read_jsonl(path):
        try:
            if problem is not None:
                raise LedgerError(problem)
            yield convert(row)
        except LedgerError as error:
            raise LedgerError(f"{path.name}:{line}: not a record as a run writes it: "
                              f"{error}") from None


def export(out_dir: Path, target: Path | None = None) -> Path:
    """Write OUT_DIR/ledger.beancount (or target) from the run's journal entries and
    balances."""
    path = target or out_dir / "ledger.beancount"
    text = render(list(_rows(out_dir / "journal_entry.jsonl", transaction)),
                  [a for rows in _rows(out_dir / "balance.jsonl", assertions) for a in rows])
    try:
        write_text(path, text)
    except OSError as error:
        raise LedgerError(f"cannot write {path}: {error.strerror}") from None
    return path


def check(path: Path) -> list[str]:
    """Beancount's own checks (every transaction balances, every assertion holds, accounts
    are open) on a ledger file; its error messages, empty when the books are sound."""
    try:
        from beancount import loader
    except ImportError as missing:  # an optional tool, installed with the test extras
        raise LedgerError("beancount is not installed: pip install 'billsync[test]'") \
            from missing
    _, errors, _ = loader.load_file(str(path))
    return [printable(f"{e.source.get('filename', path)}:{e.source.get('lineno', '?')}: "
                      f"{e.message}" if e.source else str(e.message)) for e in errors]
