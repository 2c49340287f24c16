"""Unbilled work in progress: every unbilled item of a run, with who it is for and how old it
is, summed by the dimensions finance asks for, as a table and as CSV.

Items come from the run's unbilled_item output; the customer, practice, region and legal
entity of each come from the run's reference data (contract lines, projects, customers) in
the canonical model; the age runs from the item's date to the close (the end of the run's
last period).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.compile import runtime
from engine.run.records import read_records

DIMENSIONS = ("status", "reason", "age", "contract_line", "customer", "practice", "region",
              "legal_entity", "currency")
AGES = ((30, "0-30 days"), (60, "31-60 days"), (90, "61-90 days"))
CSV_COLUMNS = ("id", "source_entity", "source_id", "period", "date", "status", "reason", "age",
               "age_days", "contract_line", "customer", "practice", "region", "legal_entity",
               "currency", "hours", "amount")


@dataclass(frozen=True)
class Group:
    key: tuple[str, ...]
    items: int
    hours: Decimal
    amount: Decimal


def _by_id(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(row["id"]): row for row in rows if "id" in row}


def close_date(through: str | None) -> dt.date | None:
    return runtime.period_end(through) if through else None


def age_bucket(days: int | None) -> str:
    if days is None:
        return "unknown"
    return next((label for limit, label in AGES if days <= limit), "over 90 days")


def items(out_dir: Path, data_dir: Path | None, through: str | None) -> list[dict[str, str]]:
    """Each unbilled item with its dimensions, as text (the CSV rows)."""
    def reference(entity: str) -> dict[str, dict[str, Any]]:
        return _by_id(read_records(data_dir / f"{entity}.jsonl")) if data_dir else {}

    lines, projects = reference("contract_line"), reference("project")
    customers = reference("customer")
    close = close_date(through)
    rows = []
    for item in read_records(out_dir / "unbilled_item.jsonl"):
        line = lines.get(item["contract_line_id"], {})
        project = projects.get(str(line.get("project_id")), {})
        customer = customers.get(str(line.get("customer_id")), {})
        days = (close - dt.date.fromisoformat(item["date"])).days \
            if close is not None and item.get("date") else None
        minutes = item.get("minutes")
        rows.append({
            "id": item["id"], "source_entity": item["source_entity"],
            "source_id": item["source_id"], "period": item["period"],
            "date": item.get("date") or "", "status": item["status"], "reason": item["reason"],
            "age": age_bucket(days), "age_days": "" if days is None else str(days),
            "contract_line": item["contract_line_id"],
            "customer": str(line.get("customer_id") or "unknown"),
            "practice": str(project.get("practice") or "unknown"),
            "region": str(project.get("region") or customer.get("region") or "unknown"),
            "legal_entity": str(project.get("legal_entity") or customer.get("legal_entity")
                                or "unknown"),
            "currency": str(item.get("currency") or ""),
            "hours": "" if minutes is None else str((Decimal(minutes) / 60).quantize(
                Decimal("0.01"))),
            "amount": "" if item.get("amount") is None else str(item["amount"]),
        })
    return rows


def summarise(rows: Iterable[dict[str, str]], by: tuple[str, ...]) -> list[Group]:
    """Items, hours and amount at rate per distinct value of the chosen dimensions (the
    command always adds currency: amounts add up only within one)."""
    groups: dict[tuple[str, ...], list[Decimal]] = {}
    for row in rows:
        key = tuple(row[d] for d in by)
        totals = groups.setdefault(key, [Decimal(0), Decimal(0), Decimal(0)])
        totals[0] += 1
        totals[1] += Decimal(row["hours"] or 0)
        totals[2] += Decimal(row["amount"] or 0)
    return [Group(key, int(t[0]), t[1], t[2]) for key, t in sorted(groups.items())]


def to_csv(rows: Iterable[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
