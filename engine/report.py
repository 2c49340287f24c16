"""The readable run summary: what came in and where it went, the invoices per client, and
the books (revenue, invoiced, unbilled, deferred) per client and period.

Ids and names come from records: every cell is a rich Text made through escape.printable,
so neither an escape sequence nor rich markup (`[bold]`) in an id reaches the terminal as
anything but visible text."""

from __future__ import annotations

import decimal
from collections import defaultdict
from decimal import Decimal

from rich.console import Console
from rich.table import Table
from rich.text import Text

from engine.escape import printable
from engine.run.runner import RunResult


def cell(value: object) -> Text:
    """A table cell or title showing the value as plain, printable text (no markup)."""
    return Text(printable(str(value)))


def add_row(table: Table, *values: object) -> None:
    table.add_row(*(cell(value) for value in values))


def amount(value: Decimal) -> str:
    """An amount with thousands separators, in plain notation at any size."""
    return format(value, ",f")


def inputs_table(result: RunResult) -> Table:
    table = Table(title=cell(f"Inputs ({result.plan.name}, spec {result.plan.spec_version})"))
    for column in ("input", "received", "invalid", "duplicate", "superseded", "excluded",
                   "excepted", "routed", "loaded", "reconciles"):
        table.add_column(column, justify="left" if column == "input" else "right")
    for name, tally in sorted(result.tallies.items()):
        if not tally.received:
            continue
        excluded = ", ".join(f"{k} {v}" for k, v in sorted(tally.excluded.items())) or "0"
        add_row(table, name, tally.received, tally.invalid, tally.duplicate, tally.superseded,
                excluded, tally.excepted, tally.routed, tally.loaded,
                "yes" if tally.accounted == tally.received else "NO")
    return table


def outputs_table(result: RunResult) -> Table:
    """Records per file; with issued books, how many of them this run made."""
    issued = result.issued
    table = Table(title="Outputs")
    table.add_column("file")
    table.add_column("records", justify="right")
    if issued is not None:
        table.add_column(f"new (after {issued.through})", justify="right")
    counts = [(f"{n}.jsonl", len(rows), len(issued.documents.get(n, ())) if issued else 0)
              for n, rows in sorted(result.outputs.items())]
    counts += [(f"payloads/{n}.jsonl", len(rows), len(issued.payloads.get(n, ())) if issued else 0)
               for n, rows in sorted(result.payloads.items())]
    for name, made, carried in counts:
        add_row(table, name, made + carried, *((made,) if issued else ()))
    return table


def invoices_table(result: RunResult) -> Table:
    table = Table(title="Invoiced per customer and period")
    invoices = result.outputs.get("invoice", [])
    credits = any(i["document_type"] == "credit_note" for i in invoices)
    for column in ("customer", "period", "currency", "invoices",
                   *(("credit notes",) if credits else ()), "subtotal", "tax", "total"):
        table.add_column(column, justify="left" if column in ("customer", "period", "currency")
                         else "right")
    totals: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 5)
    for invoice in invoices:
        row = totals[(invoice["customer_id"], invoice["period"], invoice["currency"])]
        row[0 if invoice["document_type"] != "credit_note" else 1] += 1
        row[2] += invoice["subtotal"]
        row[3] += invoice["tax_total"]
        row[4] += invoice["total"]
    for (customer, period, currency), figures in sorted(totals.items()):
        add_row(table, customer, period, currency, *figures[:2 if credits else 1],
                *map(amount, figures[2:]))
    return table


def corrections_table(result: RunResult) -> Table | None:
    """The corrections of issued periods this run bills, one per line it corrects."""
    lines = [line for line in result.outputs.get("invoice_line", [])
             if line["correction"] is not None]
    if not lines:
        return None
    table = Table(title="Corrections of issued periods")
    for column in ("invoice", "corrects", "issued", "now", "difference", "why"):
        table.add_column(column, justify="right" if column in ("issued", "now", "difference")
                         else "left")
    for line in lines:
        fix = line["correction"]
        add_row(table, line["invoice_id"], line["description"].removeprefix("Correction of "),
                amount(fix["old_amount"]), amount(fix["new_amount"]), amount(line["amount"]),
                fix["reason"])
    return table


def books_table(result: RunResult) -> Table:
    """Per customer and period: revenue and net invoiced in the period, unbilled and deferred
    at its end, and whether cumulative revenue - invoiced = unbilled - deferred."""
    table = Table(title="Books per customer and period")
    for column in ("customer", "period", "currency", "revenue", "invoiced", "unbilled",
                   "deferred", "ties out"):
        table.add_column(column, justify="left" if column in ("customer", "period", "currency")
                         else "right")
    rows: dict[tuple[str, str, str], list[Decimal]] = defaultdict(
        lambda: [Decimal(0)] * 4)
    ties: dict[tuple[str, str, str], bool] = defaultdict(lambda: True)
    # Figures are per period: from the issued books' last balances, when a run continues them.
    previous: dict[str, tuple[Decimal, Decimal]] = {
        b["contract_line_id"]: (b["cumulative_revenue"], b["cumulative_invoiced"])
        for b in sorted(result.issued.records("balance") if result.issued else [],
                        key=lambda b: b["period"])}
    for balance in sorted(result.outputs.get("balance", []),
                          key=lambda b: (b["contract_line_id"], b["period"])):
        key = (balance["customer_id"], balance["period"], balance["currency"])
        revenue, invoiced = balance["cumulative_revenue"], balance["cumulative_invoiced"]
        before = previous.get(balance["contract_line_id"], (Decimal(0), Decimal(0)))
        previous[balance["contract_line_id"]] = (revenue, invoiced)
        row = rows[key]
        row[0] += revenue - before[0]
        row[1] += invoiced - before[1]
        row[2] += balance["unbilled_receivable"]
        row[3] += balance["deferred_revenue"]
        ties[key] = ties[key] and revenue - invoiced == (
            balance["unbilled_receivable"] - balance["deferred_revenue"])
    for key, figures in sorted(rows.items()):
        add_row(table, *key, *map(amount, figures), "yes" if ties[key] else "NO")
    return table


def exceptions_table(result: RunResult) -> Table:
    table = Table(title="Exceptions by code")
    for column in ("code", "owner", "count"):
        table.add_column(column, justify="right" if column == "count" else "left")
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for row in result.outputs.get("exception", []):
        counts[(row["code"], row["owner_role"])] += 1
    for (code, owner), count in sorted(counts.items()):
        add_row(table, code, owner, count)
    return table


def print_summary(result: RunResult, console: Console) -> None:
    """The tables, their sums exact whatever the size of the amounts."""
    with decimal.localcontext(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX,
                              Emin=decimal.MIN_EMIN):
        tables = (inputs_table(result), outputs_table(result), invoices_table(result),
                  corrections_table(result), books_table(result), exceptions_table(result))
    if result.issued is not None:
        console.print(cell(f"continues the books issued through {result.issued.through} "
                           f"({result.issued.folder}); new: {', '.join(result.new_periods())}"))
    for table in tables:
        if table is not None:
            console.print(table)
    verdict = "all input counts reconcile" if result.reconciles else "COUNTS DO NOT RECONCILE"
    console.print(f"[bold]{verdict}[/bold]")
