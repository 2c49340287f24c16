"""The baseline: a plain hand-written Python loop doing the benchmark's work without the
engine. It parses the same NDJSON, checks the fields the spec declares, maps Harvest to
canonical time entries, keeps the latest revision of each, prices time and materials as
semantics.md says, groups invoice lines and invoices, and writes sorted JSONL.

Written the way a competent developer would for one firm: direct, no framework.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

MODES = {"up": ROUND_CEILING, "down": ROUND_FLOOR, "nearest": ROUND_HALF_UP}
MINOR = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0}


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def parse_dt(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def check(raw: dict[str, Any]) -> None:
    """The checks the engine makes on a Harvest record: the types of the fields it reads."""
    if type(raw["id"]) is not int:
        raise ValueError("id")
    for name in ("user", "project", "task"):
        value = raw.get(name)
        if value is not None and (type(value) is not dict or (
                value.get("id") is not None and type(value["id"]) is not int)):
            raise ValueError(name)
    if raw["task"].get("name") is not None and type(raw["task"]["name"]) is not str:
        raise ValueError("task.name")
    for name in ("hours", "cost_rate"):
        value = raw.get(name)
        if value is not None and type(value) is not Decimal:
            raise ValueError(name)
    for name in ("is_closed", "billable"):
        value = raw.get(name)
        if value is not None and type(value) is not bool:
            raise ValueError(name)
    if raw.get("notes") is not None and type(raw["notes"]) is not str:
        raise ValueError("notes")
    if raw.get("updated_at") is not None:
        parse_dt(raw["updated_at"])


class Reference:
    def __init__(self, folder: Path) -> None:
        self.projects = {p["id"] for p in load(folder / "project.jsonl")}
        self.crosswalk = {(c["system"], c["entity"], c["external_id"]): c["canonical_id"]
                          for c in load(folder / "crosswalk.jsonl")}
        self.lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for line in load(folder / "contract_line.jsonl"):
            line["effective_from"] = dt.date.fromisoformat(line["effective_from"])
            self.lines[line["project_id"]].append(line)
        self.rates: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for row in load(folder / "rate_card_row.jsonl"):
            row["from"] = dt.date.fromisoformat(row["effective_from"])
            row["to"] = dt.date.fromisoformat(row["effective_to"]) if row.get(
                "effective_to") else None
            self.rates[(row["rate_card_id"], row["role"])].append(row)
        self.taxes = {t["tax_code"]: Decimal(t["rate"]) for t in load(folder / "tax_rate.jsonl")}

    def line_on(self, project: str, day: dt.date) -> dict[str, Any] | None:
        latest: dict[str, dict[str, Any]] = {}
        for line in self.lines.get(project, ()):
            if line["effective_from"] <= day:
                best = latest.get(line["id"])
                if best is None or (line["effective_from"], line["version"]) >= (
                        best["effective_from"], best["version"]):
                    latest[line["id"]] = line
        return next(iter(latest.values())) if len(latest) == 1 else None


def round_to(minutes: int, increment: int, mode: str) -> int:
    if mode == "none" or increment <= 1:
        return minutes
    return int((Decimal(minutes) / increment).quantize(Decimal(1), MODES[mode])) * increment


def money(value: Decimal, currency: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-MINOR[currency]), ROUND_HALF_UP)


def run(folder: Path, out: Path, through: str) -> dict[str, int]:
    reference = Reference(folder)
    latest: dict[str, tuple[int, dict[str, Any]]] = {}
    invalid = 0
    with (folder / "harvest_time_entries.jsonl").open() as handle:
        for text in handle:
            try:
                raw = json.loads(text, parse_float=Decimal)
                check(raw)
                updated = parse_dt(raw["updated_at"])
                closed = bool(raw.get("is_closed"))
                cost_rate = raw.get("cost_rate")
                entry = {  # the whole canonical time entry, as the spec's mapping builds it
                    "id": f"harvest-{raw['id']}",
                    "revision": int(updated.timestamp()),
                    "source_system": "harvest",
                    "project": reference.crosswalk.get(
                        ("harvest", "project", str(raw["project"]["id"])),
                        f"harvest-project-{raw['project']['id']}"),
                    "worker_id": f"harvest-user-{raw['user']['id']}",
                    "role": reference.crosswalk.get(("harvest", "task", str(raw["task"]["id"])),
                                                    raw["task"]["name"]),
                    "day": dt.date.fromisoformat(raw["spent_date"]),
                    "minutes": int((raw["hours"] * 60).quantize(Decimal(1), ROUND_HALF_UP)),
                    "billable": bool(raw.get("billable")),
                    "approved": closed,
                    "approved_at": updated if closed else None,
                    "hold": False,
                    "time_type": "regular",
                    "cost_amount": None if cost_rate is None else (
                        cost_rate * raw["hours"]).quantize(Decimal("0.01"), ROUND_HALF_UP),
                    "notes": raw.get("notes"),
                }
            except (ValueError, KeyError, TypeError):
                invalid += 1
                continue
            seen = latest.get(entry["id"])
            if seen is None or entry["revision"] > seen[0]:
                latest[entry["id"]] = (entry["revision"], entry)
    groups: dict[tuple[Any, ...], list[Any]] = {}
    unbilled: list[dict[str, Any]] = []
    exceptions: list[dict[str, Any]] = []
    for _, entry in sorted(latest.values(), key=lambda item: item[1]["id"]):
        period = f"{entry['day'].year:04d}-{entry['day'].month:02d}"
        if period > through:
            continue
        line = reference.line_on(entry["project"], entry["day"])
        if entry["project"] not in reference.projects or line is None:
            exceptions.append({"id": entry["id"], "code": "UNKNOWN_REFERENCE"})
            continue
        minutes = round_to(entry["minutes"], line.get("time_increment_minutes") or 1,
                           line.get("time_rounding") or "none")
        if not entry["billable"]:
            unbilled.append({"id": entry["id"], "status": "non_billable",
                             "minutes": entry["minutes"]})
            continue
        rows = [r for r in reference.rates.get((line["rate_card_id"], entry["role"]), ())
                if r["from"] <= entry["day"] and (r["to"] is None or entry["day"] <= r["to"])]
        if len(rows) != 1:
            exceptions.append({"id": entry["id"], "code": "NO_RATE" if not rows else
                               "RATE_OVERLAP"})
            continue
        row = rows[0]
        if row["currency"] != line["currency"]:
            exceptions.append({"id": entry["id"], "code": "RATE_CURRENCY_MISMATCH"})
            continue
        price = Decimal(row["rate"])
        if row["unit"] == "day":
            price = price / Decimal(row["hours_per_day"])
        if not entry["approved"]:
            unbilled.append({"id": entry["id"], "status": "awaiting_approval", "minutes": minutes,
                             "amount": money(minutes * price / 60, line["currency"])})
            continue
        key = (line["contract_id"], period, line["id"], entry["role"], "regular", price,
               line["currency"], line["tax_code"])
        group = groups.setdefault(key, [0, []])
        group[0] += minutes
        group[1].append(entry["id"])
    invoice_lines, invoices = [], {}
    for key in sorted(groups):
        contract, period, line_id, role, kind, price, currency, tax_code = key
        minutes, ids = groups[key]
        amount = money(minutes * price / 60, currency)
        tax = money(amount * reference.taxes[tax_code], currency)
        invoice_id = f"{contract}:{period}"
        invoice_lines.append({"id": ":".join(map(str, (contract, period, line_id, "time", role,
                                                         kind, price))),
                              "invoice_id": invoice_id, "quantity": str(money(
                                  Decimal(minutes) / 60, "USD")), "unit_price": str(price),
                              "amount": str(amount), "tax_amount": str(tax),
                              "source_ids": sorted(ids)})
        invoice = invoices.setdefault(invoice_id, [Decimal(0), Decimal(0)])
        invoice[0] += amount
        invoice[1] += tax
    out.mkdir(parents=True, exist_ok=True)
    _write(out / "invoice_line.jsonl", invoice_lines)
    _write(out / "invoice.jsonl", [
        {"id": k, "subtotal": str(v[0]), "tax_total": str(v[1]), "total": str(v[0] + v[1])}
        for k, v in sorted(invoices.items())])
    _write(out / "unbilled_item.jsonl", sorted(unbilled, key=lambda u: u["id"]))
    _write(out / "exception.jsonl", sorted(exceptions, key=lambda e: e["id"]))
    return {"invalid": invalid, "kept": len(latest), "invoice_lines": len(invoice_lines)}


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w") as handle:
        for row in rows:
            handle.write(json.dumps(row, default=str) + "\n")
