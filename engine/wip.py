"""Unbilled work in progress: every unbilled item of a run, with who it is for and how old it
is, summed by the dimensions finance asks for, as a table and as CSV.

Items come from the run's unbilled_item output; the customer, practice, region and legal
entity of each come from the run's reference data (contract lines, projects, customers) in
the canonical model; the age runs from the item's date to the close (the end of the run's
last period).

Rows are taken as the run took them: a reference line the run reported as INVALID_RECORD
is skipped, as is any line that is not a JSON object; a field that is absent or not text
shows as unknown. Nothing a row holds makes the report fail.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.compile import runtime
from engine.escape import csv_cell
from engine.run.paths import data_file
from engine.run.records import read_jsonl

DIMENSIONS = ("status", "reason", "age", "contract_line", "customer", "top_customer",
              "practice", "region", "legal_entity", "currency")
AGES = ((30, "0-30 days"), (60, "31-60 days"), (90, "61-90 days"))
CSV_COLUMNS = ("id", "source_entity", "source_id", "period", "date", "status", "reason", "age",
               "age_days", "contract_line", "customer", "top_customer", "practice", "region",
               "legal_entity", "currency", "hours", "amount")
NUMERIC_COLUMNS = frozenset({"age_days", "hours", "amount"})


@dataclass(frozen=True)
class Group:
    key: tuple[str, ...]
    items: int
    hours: Decimal
    amount: Decimal


def close_date(through: str | None) -> dt.date | None:
    return runtime.period_end(through) if through else None


def age_bucket(days: int | None) -> str:
    if days is None:
        return "unknown"
    return next((label for limit, label in AGES if days <= limit), "over 90 days")


def items(out_dir: Path, data_dir: Path | None, through: str | None) -> list[dict[str, str]]:
    """Each unbilled item with its dimensions, as text (the CSV rows)."""
    rejected = _rejected(out_dir)
    lines, projects, customers = (_reference(data_dir, entity, rejected)
                                  for entity in ("contract_line", "project", "customer"))
    close = close_date(through)
    rows = []
    for item in _rows(out_dir / "unbilled_item.jsonl"):
        line = lines.get(_text(item, "contract_line_id"), {})
        project = projects.get(_text(line, "project_id"), {})
        customer = customers.get(_text(line, "customer_id"), {})
        days = _age(item, close)
        rows.append({
            **{name: _text(item, name) for name in ("id", "source_entity", "source_id",
                                                    "period", "date", "status", "reason")},
            "age": age_bucket(days), "age_days": "" if days is None else str(days),
            "contract_line": _text(item, "contract_line_id"),
            "customer": _text(line, "customer_id") or "unknown",
            "top_customer": _top_parent(customers, _text(line, "customer_id")) or "unknown",
            "practice": _text(project, "practice") or "unknown",
            "region": _text(project, "region") or _text(customer, "region") or "unknown",
            "legal_entity": _text(project, "legal_entity") or _text(customer, "legal_entity")
            or "unknown",
            "currency": _text(item, "currency"),
            "hours": _hours(item.get("minutes")),
            "amount": _number(item.get("amount")),
        })
    return rows


def _top_parent(customers: dict[str, dict[str, Any]], customer_id: str) -> str:
    """The top of a customer's hierarchy (parent_id up, as far as known customers go; a
    cycle stops where it would repeat)."""
    seen = {customer_id}
    current = customer_id
    while (parent := _text(customers.get(current, {}), "parent_id")) and parent not in seen \
            and parent in customers:
        seen.add(parent)
        current = parent
    return current


# -- reading rows that may not fit -----------------------------------------------------------

def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) for each line of a JSONL file that is a JSON object; lines
    that are not (not UTF-8, not JSON, not an object) are skipped. No file: no lines."""
    if not path.is_file():
        return
    for line, row, problem in read_jsonl(path):
        if problem is None and isinstance(row, dict):
            yield line, row


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    return (row for _, row in _lines(path))


def _rejected(out_dir: Path) -> set[tuple[str, int]]:
    """The input lines (file, line) the run reported as INVALID_RECORD."""
    return {(str(e.get("file")), e["line"]) for e in _rows(out_dir / "exception.jsonl")
            if e.get("code") == "INVALID_RECORD" and isinstance(e.get("line"), int)}


def _reference(data_dir: Path | None, entity: str,
               rejected: set[tuple[str, int]]) -> dict[str, dict[str, Any]]:
    """The rows of a reference entity's canonical file by id, as the run took them: a line
    the run reported as INVALID_RECORD, or that is not a record with a text id, is
    skipped (its dimensions then show as unknown). The file is found by the run's own
    resolver (engine/run/paths.py): inside the data folder, or a RunError."""
    name = f"{entity}.jsonl"
    path = data_file(data_dir, name) if data_dir is not None and data_dir.is_dir() else None
    if path is None:
        return {}
    return {row["id"]: row for line, row in _lines(path)
            if (name, line) not in rejected and isinstance(row.get("id"), str)}


def _text(row: dict[str, Any], name: str) -> str:
    """A text field, or "" when it is absent or not text."""
    value = row.get(name)
    return value if isinstance(value, str) else ""


def _age(item: dict[str, Any], close: dt.date | None) -> int | None:
    try:
        return (close - dt.date.fromisoformat(item["date"])).days if close else None
    except (KeyError, TypeError, ValueError):
        return None


def _number(value: Any) -> str:
    """A decimal in plain notation, or "" when the value is not a finite number."""
    try:
        number = Decimal(value) if isinstance(value, (str, int, Decimal)) else None
    except ArithmeticError:
        return ""
    return runtime.plain(number) if number is not None and number.is_finite() else ""


def _hours(minutes: Any) -> str:
    """Minutes as hours to the hundredth ("" when not an integer), at any size."""
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        return ""
    with decimal.localcontext(prec=max(28, len(str(minutes)) + 4)):
        return str((Decimal(minutes) / 60).quantize(Decimal("0.01")))


def summarise(rows: Iterable[dict[str, str]], by: tuple[str, ...]) -> list[Group]:
    """Items, hours and amount at rate per distinct value of the chosen dimensions (the
    command always adds currency: amounts add up only within one)."""
    groups: dict[tuple[str, ...], list[Decimal]] = {}
    with decimal.localcontext(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX,
                              Emin=decimal.MIN_EMIN):  # exact sums, whatever their size
        for row in rows:
            key = tuple(row[d] for d in by)
            totals = groups.setdefault(key, [Decimal(0), Decimal(0), Decimal(0)])
            totals[0] += 1
            totals[1] += Decimal(row["hours"] or 0)
            totals[2] += Decimal(row["amount"] or 0)
    return [Group(key, int(t[0]), t[1], t[2]) for key, t in sorted(groups.items())]


def to_csv(rows: Iterable[dict[str, str]]) -> str:
    """Every item as CSV, each cell through escape.csv_cell: text a spreadsheet reads as
    text (a formula's first character defused by a leading quote); a number in a numeric
    column (age_days, hours, amount) stays a number, negative ones too."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(csv_cell(row.get(column, ""), column in NUMERIC_COLUMNS)
                        for column in CSV_COLUMNS)
    return buffer.getvalue()
