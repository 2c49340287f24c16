"""Deterministic data for examples and benchmarks: a consulting firm's reference data and
realistic Harvest v2 time entries, at any size.

    python benchmarks/datagen.py northwind examples/northwind/data
    python benchmarks/datagen.py harvest OUT.jsonl --entries 1000000 [--seed 7]

The same seed gives the same bytes. Harvest records carry the fields the real API returns
(user, client, project, task, assignments, timestamps), so parsing costs what it would.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

START = dt.date(2025, 1, 1)
DAYS = 90  # January to March 2025

CUSTOMERS = [
    {"id": "C-ACME", "name": "Acme Corp", "currency": "USD", "country": "US",
     "legal_entity": "LE-US", "region": "NA"},
    {"id": "C-GLOBEX", "name": "Globex GmbH", "currency": "EUR", "country": "DE",
     "legal_entity": "LE-EU", "region": "EMEA"},
    {"id": "C-INITECH", "name": "Initech Ltd", "currency": "GBP", "country": "GB",
     "legal_entity": "LE-UK", "region": "EMEA"},
    {"id": "C-UMBRELLA", "name": "Umbrella KK", "currency": "JPY", "country": "JP",
     "legal_entity": "LE-JP", "region": "APAC"},
]
# canonical project, customer, practice, Harvest project id, contract line, rate card, ccy
PROJECTS = [
    ("P-ACME-ERP", "C-ACME", "Finance Transformation", 14307001, "L-ACME-ERP", "RC-US", "USD"),
    ("P-ACME-DATA", "C-ACME", "Data & Analytics", 14307002, "L-ACME-DATA", "RC-US", "USD"),
    ("P-GLOBEX-CRM", "C-GLOBEX", "Customer Experience", 14307003, "L-GLOBEX-CRM", "RC-EU", "EUR"),
    ("P-INITECH-CLOUD", "C-INITECH", "Cloud", 14307004, "L-INITECH-CLOUD", "RC-UK", "GBP"),
    ("P-UMB-SEC", "C-UMBRELLA", "Security", 14307005, "L-UMB-SEC", "RC-JP", "JPY"),
]
# Harvest task id -> canonical role
TASKS = {8083001: "Partner", 8083002: "Senior Consultant", 8083003: "Consultant",
         8083004: "Architect", 8083005: "Intern"}
ROLE_WEIGHTS = [("Partner", 1), ("Senior Consultant", 4), ("Consultant", 5), ("Architect", 2),
                ("Intern", 0)]
TAX = {"USD": "US-EXEMPT", "EUR": "DE-VAT19", "GBP": "GB-VAT20", "JPY": "JP-CT10"}


def _rates() -> list[dict[str, Any]]:
    rows = []

    def row(card: str, role: str, rate: str, ccy: str, start: str, end: str | None = None,
            unit: str = "hour", per_day: str | None = None) -> None:
        rows.append({"rate_card_id": card, "role": role, "rate": rate, "currency": ccy,
                     "unit": unit, "hours_per_day": per_day, "effective_from": start,
                     "effective_to": end})
    row("RC-US", "Partner", "350.00", "USD", "2024-01-01")
    row("RC-US", "Senior Consultant", "200.00", "USD", "2024-01-01", "2025-02-14")
    row("RC-US", "Senior Consultant", "220.00", "USD", "2025-02-15")
    row("RC-US", "Consultant", "150.00", "USD", "2024-01-01")
    row("RC-US", "Architect", "1500.00", "USD", "2024-01-01", unit="day", per_day="7.5")
    row("RC-EU", "Partner", "320.00", "EUR", "2024-01-01")
    row("RC-EU", "Senior Consultant", "185.00", "EUR", "2024-01-01")
    row("RC-EU", "Consultant", "140.00", "EUR", "2024-01-01")
    row("RC-EU", "Architect", "1400.00", "EUR", "2024-01-01", unit="day", per_day="8")
    row("RC-UK", "Partner", "300.00", "GBP", "2024-01-01")
    row("RC-UK", "Senior Consultant", "175.00", "GBP", "2024-01-01")
    row("RC-UK", "Consultant", "125.00", "GBP", "2024-01-01")
    row("RC-UK", "Architect", "160.00", "GBP", "2024-01-01")
    # A data-entry slip: a second Architect row overlapping March (RATE_OVERLAP).
    row("RC-UK", "Architect", "165.00", "GBP", "2025-03-01")
    row("RC-JP", "Partner", "52000", "JPY", "2024-01-01", "2025-03-19")
    # Another slip: late March's Partner rate was keyed in dollars (RATE_CURRENCY_MISMATCH).
    row("RC-JP", "Partner", "350.00", "USD", "2025-03-20")
    row("RC-JP", "Senior Consultant", "31000", "JPY", "2024-01-01")
    row("RC-JP", "Consultant", "23500", "JPY", "2024-01-01")
    row("RC-JP", "Architect", "225000", "JPY", "2024-01-01", unit="day", per_day="8")
    return rows


def _contract_lines() -> list[dict[str, Any]]:
    lines = []
    for project, customer, _, _, line, card, ccy in PROJECTS:
        lines.append({
            "id": line, "contract_id": "K" + line[1:], "customer_id": customer,
            "project_id": project, "version": 1, "effective_from": "2024-12-01",
            "billing_method": "time_and_materials", "currency": ccy, "rate_card_id": card,
            "time_increment_minutes": 15, "time_rounding": "up", "overtime_multiplier": "1.5",
            "holiday_multiplier": "2", "revenue_method": "as_incurred", "tax_code": TAX[ccy],
            "fx_date_policy": "transaction_date",
        })
    # A mid-project amendment: from March, Acme ERP time rounds to 6 minutes, nearest.
    amended = dict(lines[0], version=2, effective_from="2025-03-01", time_increment_minutes=6,
                   time_rounding="nearest")
    return [*lines, amended]


def reference_data() -> dict[str, list[dict[str, Any]]]:
    """The firm: customers, projects, contract lines, rate cards, taxes, id crosswalk."""
    by_id = {c["id"]: c for c in CUSTOMERS}
    projects = [{"id": p, "customer_id": c, "name": f"{by_id[c]['name']} {p.split('-')[-1]}",
                 "practice": practice, "region": by_id[c]["region"],
                 "legal_entity": by_id[c]["legal_entity"], "currency": ccy}
                for p, c, practice, _, _, _, ccy in PROJECTS]
    crosswalk = [{"system": "harvest", "entity": "project", "external_id": str(h),
                  "canonical_id": p} for p, _, _, h, _, _, _ in PROJECTS]
    crosswalk += [{"system": "harvest", "entity": "task", "external_id": str(t),
                   "canonical_id": role} for t, role in TASKS.items()]
    taxes = [
        {"tax_code": "US-EXEMPT", "rate": "0", "effective_from": "2020-01-01", "rounding": "line"},
        {"tax_code": "DE-VAT19", "rate": "0.19", "effective_from": "2020-01-01",
         "rounding": "line"},
        {"tax_code": "GB-VAT20", "rate": "0.20", "effective_from": "2020-01-01",
         "rounding": "line"},
        {"tax_code": "JP-CT10", "rate": "0.10", "effective_from": "2020-01-01",
         "rounding": "line"},
    ]
    return {"customer": CUSTOMERS, "project": projects, "contract_line": _contract_lines(),
            "rate_card_row": _rates(), "tax_rate": taxes, "crosswalk": crosswalk}


def _stamp(day: dt.date, seconds: int) -> str:
    moment = dt.datetime.combine(day, dt.time(17, 0), dt.UTC) + dt.timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def harvest_entry(rng: random.Random, entry_id: int) -> dict[str, Any]:
    """One realistic Harvest v2 time entry."""
    project, customer, _, harvest_project, _, _, _ = rng.choice(PROJECTS)
    role = rng.choices([r for r, _ in ROLE_WEIGHTS], [w for _, w in ROLE_WEIGHTS])[0]
    task_id = next(t for t, r in TASKS.items() if r == role)
    user_id = 4100000 + rng.randrange(60)
    day = START + dt.timedelta(days=rng.randrange(DAYS))
    hours = Decimal(rng.randrange(5, 600)) / 60
    hours = hours.quantize(Decimal("0.01"))
    closed = rng.random() < 0.9
    client = next(c for c in CUSTOMERS if c["id"] == customer)
    return {
        "id": entry_id, "spent_date": day.isoformat(),
        "user": {"id": user_id, "name": f"Worker {user_id % 1000}"},
        "client": {"id": 5700000 + CUSTOMERS.index(client), "name": client["name"],
                   "currency": client["currency"]},
        "project": {"id": harvest_project, "name": project, "code": project},
        "task": {"id": task_id, "name": role},
        "user_assignment": {"id": 125068000 + user_id % 1000, "is_project_manager": False,
                            "is_active": True, "budget": None, "hourly_rate": None,
                            "created_at": "2024-11-02T09:00:00Z",
                            "updated_at": "2024-11-02T09:00:00Z"},
        "task_assignment": {"id": 155505000 + task_id % 1000, "billable": True,
                            "is_active": True, "hourly_rate": None, "budget": None,
                            "created_at": "2024-11-02T09:00:00Z",
                            "updated_at": "2024-11-02T09:00:00Z"},
        "invoice": None, "external_reference": None,
        "hours": hours, "hours_without_timer": hours, "rounded_hours": hours,
        "notes": rng.choice(["Workshop", "Design review", "Build", "Testing", "Status call",
                             "Data migration", None]),
        "is_locked": closed, "locked_reason": "Item Approved and Locked for this Time Period"
        if closed else None, "is_closed": closed, "is_billed": False, "timer_started_at": None,
        "started_time": None, "ended_time": None, "is_running": False,
        "billable": rng.random() < 0.92, "budgeted": True, "billable_rate": None,
        "cost_rate": Decimal(rng.choice(["65.00", "80.00", "95.00", "120.00"])),
        "created_at": _stamp(day, 0), "updated_at": _stamp(day, 3600 + rng.randrange(7200)),
    }


def harvest_entries(count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for index in range(count):
        yield harvest_entry(rng, 2_400_000_000 + index)


def _json(value: Any) -> str:
    return json.dumps(value, default=_decimal_number, separators=(", ", ": "))


def _decimal_number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def dump_harvest(entry: dict[str, Any]) -> str:
    """A Harvest record as the API sends it: hours and rates as JSON numbers."""
    text = _json(entry)
    for name in ("hours", "hours_without_timer", "rounded_hours", "cost_rate"):
        value = entry.get(name)
        if isinstance(value, Decimal):
            text = text.replace(f'"{name}": "{value}"', f'"{name}": {value}')
    return text


def write_harvest(path: Path, count: int, seed: int = 7) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for entry in harvest_entries(count, seed):
            handle.write(dump_harvest(entry) + "\n")


def _northwind_faults(rng: random.Random) -> list[str]:
    """Bad and tricky records a real feed carries, each with the outcome it must have."""
    base = dict(harvest_entry(rng, 2_500_000_001), billable=True, is_closed=True)
    lines = []

    def variant(entry_id: int, **changes: Any) -> None:
        entry = dict(base, id=entry_id, **changes)
        lines.append(dump_harvest(entry))
    variant(2_500_000_001, spent_date=None)                      # INVALID_RECORD: no date
    variant(2_500_000_002, hours="seven")                        # INVALID_RECORD: hours
    variant(2_500_000_003, project={"id": 99999999, "name": "Unknown", "code": "X"})
    variant(2_500_000_004, task={"id": 8083005, "name": "Intern"})  # NO_RATE
    variant(2_500_000_005)                                       # duplicate: sent twice
    variant(2_500_000_005)
    variant(2_500_000_006, hours=Decimal("2.00"), updated_at="2025-02-03T18:00:00Z")
    variant(2_500_000_006, hours=Decimal("3.50"), updated_at="2025-02-04T09:30:00Z")
    # Worked in February, approved in March: billed in March, February's invoice unchanged.
    variant(2_500_000_008, spent_date="2025-02-26", hours=Decimal("4.00"),
            updated_at="2025-03-03T10:00:00Z")
    lines.append('{"id": 2500000007, "spent_date": "2025-02-10", "hours": ')  # truncated JSON
    return lines


# Northwind's other engagements, beyond the time-and-materials firm the benchmark uses.
# canonical project, customer, Harvest project id, currency
NORTHWIND_PROJECTS = [
    ("P-GLOBEX-PMO", "C-GLOBEX", 14307006, "EUR"),
    ("P-INITECH-SEC", "C-INITECH", 14307007, "GBP"),
    ("P-HOOLI-OPS", "C-HOOLI", 14307008, "USD"),
]


def _northwind_lines() -> list[dict[str, Any]]:
    def line(project: str, customer: str, ccy: str, **terms: Any) -> dict[str, Any]:
        base = {"id": "L" + project[1:], "contract_id": "K" + project[1:],
                "customer_id": customer, "project_id": project, "version": 1,
                "effective_from": "2025-01-01", "currency": ccy, "tax_code": TAX[ccy],
                "fx_date_policy": "transaction_date"}
        return base | terms
    return [
        line("P-GLOBEX-PMO", "C-GLOBEX", "EUR", billing_method="fixed_fee",
             fee_amount="60000.00", revenue_method="as_invoiced", installments=[
                 {"date": "2025-01-31", "percent": "33.333"},
                 {"date": "2025-02-28", "percent": "33.333"},
                 {"date": "2025-03-31", "percent": "33.334"}]),
        line("P-INITECH-SEC", "C-INITECH", "GBP", billing_method="milestone",
             fee_amount="45000.00", milestone_trigger="accepted", revenue_method="milestone"),
        line("P-HOOLI-OPS", "C-HOOLI", "USD", billing_method="retainer", rate_card_id="RC-US",
             retainer_amount="8000.00", retainer_recurring=True, retainer_rollover=False,
             time_increment_minutes=15, time_rounding="up", revenue_method="as_incurred"),
    ]


def _northwind_reference() -> dict[str, list[dict[str, Any]]]:
    data = reference_data()
    data["customer"].append({"id": "C-HOOLI", "name": "Hooli Inc", "currency": "USD",
                             "country": "US", "legal_entity": "LE-US", "region": "NA"})
    by_id = {c["id"]: c for c in data["customer"]}
    for project, customer, harvest, ccy in NORTHWIND_PROJECTS:
        data["project"].append({"id": project, "customer_id": customer, "name": project,
                                "practice": "Advisory", "region": by_id[customer]["region"],
                                "legal_entity": by_id[customer]["legal_entity"],
                                "currency": ccy})
        data["crosswalk"].append({"system": "harvest", "entity": "project",
                                  "external_id": str(harvest), "canonical_id": project})
    # Acme's data project is capped, and from March a re-rating amendment raises the cap: what
    # the old cap left over is billed in March. Its ERP line marks expenses up.
    for line in list(data["contract_line"]):
        if line["id"] == "L-ACME-DATA":
            line.update(nte_amount="35000.00", cap_overflow="split")
            data["contract_line"].append(dict(line, version=2, effective_from="2025-03-01",
                                              nte_amount="60000.00",
                                              amendment_mode="rerate_unbilled"))
        if line["id"] == "L-ACME-ERP":
            line.update(expense_markup_pct="10", expense_markup_scope="line")
        if line["id"] == "L-GLOBEX-CRM":
            line.update(expense_markup_pct="5", expense_markup_scope="aggregate")
    data["contract_line"] += _northwind_lines()
    data["fx_rate"] = [{"base": "EUR", "quote": "USD", "date": f"2025-{m:02d}-{d:02d}",
                        "rate": rate} for m, d, rate in (
                            (1, 3, "1.0412"), (1, 10, "1.0298"), (1, 17, "1.0301"),
                            (1, 24, "1.0487"), (1, 31, "1.0393"), (2, 7, "1.0331"),
                            (2, 14, "1.0486"), (2, 21, "1.0503"), (2, 28, "1.0405"),
                            (3, 7, "1.0833"), (3, 14, "1.0880"))]
    return data


def _northwind_events(rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    expenses = []
    for index in range(16):
        day = START + dt.timedelta(days=rng.randrange(DAYS))
        line, ccy = rng.choice([("L-ACME-ERP", "USD"), ("L-ACME-ERP", "EUR"),
                                ("L-GLOBEX-CRM", "EUR"), ("L-HOOLI-OPS", "USD")])
        amount = Decimal(rng.randrange(1500, 60000)).scaleb(-2)
        expenses.append({"id": f"EXP-{index:03d}", "project_id": "P" + line[1:],
                         "contract_line_id": line, "date": day.isoformat(),
                         "amount": str(amount), "currency": ccy,
                         "category": rng.choice(["travel", "hotel", "meals"]),
                         "billable": rng.random() < 0.9, "status": "approved"})
    # Expenses on the capped line count against its cap with its time.
    for index, (day, amount) in enumerate((("2025-01-21", "1240.00"), ("2025-02-19", "385.50"))):
        expenses.append({"id": f"EXP-5{index:02d}", "project_id": "P-ACME-DATA",
                         "contract_line_id": "L-ACME-DATA", "date": day, "amount": amount,
                         "currency": "USD", "category": "travel", "billable": True,
                         "status": "approved"})
    # No GBP/USD rate is published: this one cannot be converted (NO_FX_RATE).
    expenses.append({"id": "EXP-900", "project_id": "P-ACME-ERP", "date": "2025-02-12",
                     "amount": "86.40", "currency": "GBP", "category": "travel",
                     "billable": True, "status": "approved"})
    milestones = [
        {"id": "MS-1", "contract_line_id": "L-INITECH-SEC", "name": "Assessment",
         "percent": "30", "due_date": "2025-01-31", "status": "accepted",
         "achieved_date": "2025-01-29", "accepted_date": "2025-02-04"},
        {"id": "MS-2", "contract_line_id": "L-INITECH-SEC", "name": "Remediation plan",
         "percent": "30", "due_date": "2025-03-15", "status": "achieved",
         "achieved_date": "2025-03-14"},
        {"id": "MS-3", "contract_line_id": "L-INITECH-SEC", "name": "Retest",
         "percent": "40", "due_date": "2025-05-30", "status": "pending"},
    ]
    adjustments = [{"id": "ADJ-1", "contract_line_id": "L-INITECH-CLOUD", "period": "2025-02",
                    "amount": "-750.00", "allocation": "hours", "reason": "onboarding overrun"}]
    return {"expense": expenses, "milestone": milestones, "adjustment": adjustments}


def _northwind_harvest(rng: random.Random, count: int) -> list[str]:
    """Time on the fixed-fee, milestone and retainer engagements."""
    lines = []
    for index in range(count):
        entry = harvest_entry(rng, 2_600_000_000 + index)
        project, _, harvest, _ = rng.choice(NORTHWIND_PROJECTS)
        entry["project"] = {"id": harvest, "name": project, "code": project}
        lines.append(dump_harvest(entry))
    return lines


def write_northwind(folder: Path, entries: int = 420, seed: int = 2025) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    for entity, rows in {**_northwind_reference(), **_northwind_events(rng)}.items():
        with (folder / f"{entity}.jsonl").open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps({k: v for k, v in row.items() if v is not None}) + "\n")
    with (folder / "harvest_time_entries.jsonl").open("w", encoding="utf-8") as handle:
        for entry in harvest_entries(entries, seed):
            handle.write(dump_harvest(entry) + "\n")
        for line in _northwind_faults(rng):
            handle.write(line + "\n")
        for line in _northwind_harvest(rng, 60):
            handle.write(line + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    north = sub.add_parser("northwind", help="the Northwind example's data folder")
    north.add_argument("folder", type=Path)
    harvest = sub.add_parser("harvest", help="N Harvest time entries as NDJSON")
    harvest.add_argument("path", type=Path)
    harvest.add_argument("--entries", type=int, default=100_000)
    harvest.add_argument("--seed", type=int, default=7)
    reference = sub.add_parser("reference", help="the firm's reference data as JSONL files")
    reference.add_argument("folder", type=Path)
    args = parser.parse_args()
    if args.what == "northwind":
        write_northwind(args.folder)
    elif args.what == "harvest":
        write_harvest(args.path, args.entries, args.seed)
    else:
        args.folder.mkdir(parents=True, exist_ok=True)
        for entity, rows in reference_data().items():
            (args.folder / f"{entity}.jsonl").write_text("".join(
                json.dumps({k: v for k, v in r.items() if v is not None}) + "\n" for r in rows))


if __name__ == "__main__":
    main()
