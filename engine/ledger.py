"""Export a run's journal entries as a plain-text double-entry ledger (Beancount syntax), so
that an outside tool can check the books: one account per account role, legal entity and
currency; one transaction per journal entry, debits positive and credits negative.

The account roles are the canonical model's (semantics.md, "Journals"); each belongs to one
side of the balance sheet or income statement, which is all this module knows of them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.compile import runtime
from engine.run.records import read_records

ROOTS = {
    "accounts_receivable": "Assets",
    "unbilled_receivable": "Assets",
    "deferred_revenue": "Liabilities",
    "tax_payable": "Liabilities",
    "services_revenue": "Income",
    "expense_revenue": "Income",
    "write_down": "Expenses",
}
_INVALID = re.compile(r"[^A-Za-z0-9-]")


class LedgerError(Exception):
    """A journal entry the ledger cannot hold (an account role it does not know)."""


def component(text: str) -> str:
    """A valid account name component: letters, digits and dashes, starting with a capital."""
    cleaned = _INVALID.sub("-", text) or "X"
    return cleaned[0].upper() + cleaned[1:] if cleaned[0].isalpha() else "X" + cleaned


def account(role: str, legal_entity: str, currency: str) -> str:
    root = ROOTS.get(role)
    if root is None:
        raise LedgerError(f"unknown account role '{role}' (known: {', '.join(ROOTS)})")
    name = "".join(part.capitalize() for part in role.split("_"))
    return f"{root}:{name}:{component(legal_entity)}:{component(currency)}"


KIND_ORDER = {"revenue": 0, "write_down": 1, "invoice": 2}  # within a line and period


def to_beancount(entries: Iterable[dict[str, Any]],
                 balances: Iterable[dict[str, Any]] = ()) -> str:
    """The ledger text: open directives, the entries (per day, line and period: revenue,
    write-down, invoice), and balance assertions for the unbilled receivable and deferred
    revenue that the run's balance records report at each period end."""
    ordered = sorted(entries, key=lambda e: (e["date"], e["contract_line_id"], e["period"],
                                             KIND_ORDER.get(e["kind"], 9), e["id"]))
    opened: dict[str, tuple[str, str]] = {}
    body: list[str] = []
    for entry in ordered:
        body.append(f'{entry["date"]} * "{entry["contract_line_id"]}" '
                    f'"{entry["kind"]} {entry["period"]}"')
        body.append(f'  billsync_id: "{entry["id"]}"')
        for line in entry["lines"]:
            name = account(line["account_role"], entry["legal_entity"], entry["currency"])
            opened.setdefault(name, (entry["date"], entry["currency"]))
            amount = Decimal(line["debit"]) - Decimal(line["credit"])
            body.append(f"  {name}  {amount} {entry['currency']}")
        body.append("")
    body += _assertions(balances, opened, ordered[0]["date"] if ordered else "1970-01-01")
    head = [f"{date} open {name} {currency}" for name, (date, currency) in sorted(
        opened.items(), key=lambda item: (item[1][0], item[0]))]
    return "\n".join([*head, "", *body]) + "\n"


def _assertions(balances: Iterable[dict[str, Any]], opened: dict[str, tuple[str, str]],
                first_date: str) -> list[str]:
    """Balance directives, checked at the start of the day after each period end."""
    totals: dict[tuple[str, str], Decimal] = {}
    for row in balances:
        after = str(runtime.period_end(row["period"]) + dt.timedelta(days=1))
        for role, sign in (("unbilled_receivable", 1), ("deferred_revenue", -1)):
            name = account(role, row["legal_entity"], row["currency"])
            opened.setdefault(name, (first_date, row["currency"]))
            key = (after, name)
            totals[key] = totals.get(key, Decimal(0)) + sign * Decimal(row[role])
    currency = {name: ccy for name, (_, ccy) in opened.items()}
    return [f"{day} balance {name}  {amount} {currency[name]}"
            for (day, name), amount in sorted(totals.items())]


def export(out_dir: Path, target: Path | None = None) -> Path:
    """Write OUT_DIR/ledger.beancount (or target) from the run's journal entries and
    balances."""
    path = target or out_dir / "ledger.beancount"
    path.write_text(to_beancount(read_records(out_dir / "journal_entry.jsonl"),
                                 read_records(out_dir / "balance.jsonl")), encoding="utf-8")
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
    return [f"{e.source.get('filename', path)}:{e.source.get('lineno', '?')}: {e.message}"
            if e.source else str(e.message) for e in errors]
