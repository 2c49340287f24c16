"""Outputs can't be injected: the Beancount export, the CSV and the terminal show every id and
name as text, whatever it holds; reports never crash on rows the run rejected."""

from __future__ import annotations

import csv
import io
import shutil
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from engine import ledger, wip
from engine.cli import app
from tests.conftest import ROOT
from tests.run.helpers import read_jsonl, spec_case, write_given

runner = CliRunner()
G01 = "examples/standard/tests/G01-tm-rate-change.yaml"
NORTHWIND = ROOT / "examples" / "northwind"
# A contract-line id that closes the payee string, adds two postings that balance each other
# (3,000,000 into receivables, out of revenue) and comments out the rest of the line. It
# lands twice in each of two entries (payee and billsync_id): 12 million in all.
TWELVE_MILLION = ('L1"\n  Assets:AccountsReceivable:LE-US:USD  3000000 USD\n'
                  '  Income:ServicesRevenue:LE-US:USD  -3000000 USD\n  ;')
TERMINAL = "C1\x1b]0;owned\x07\x1b[31m[bold]red[/bold]"


def _scenario(data: Path, line_id: str = "L1", customer_id: str = "C1",
              submitted: tuple[str, ...] = ()) -> Path:
    """G01 (time and materials over a rate change) with the given contract line and customer
    ids in every record that names them; the time entries named are left unapproved (they
    are unbilled work in progress)."""
    case = spec_case(G01)
    given = case["given"]
    for row in given["contract_line"]:
        row["id"], row["customer_id"] = line_id, customer_id
    for row in given["time_entry"]:
        row["contract_line_id"] = line_id
        if row["id"] in submitted:
            row["status"] = "submitted"
    for row in given["customer"]:
        row["id"] = customer_id
    for row in given["project"]:
        row["customer_id"] = customer_id
    write_given(data, case)
    return data


def _run(data: Path, out: Path, project: Path = ROOT / "examples" / "standard",
         through: str = "2025-03") -> Result:
    result = runner.invoke(app, ["run", str(project), "--data", str(data), "--out", str(out),
                                 "--through", through])
    assert result.exit_code == 0, result.output
    return result


def _clean(result: Result) -> None:
    """A command that ended as it meant to: an exit code, never a traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)


def _journal_totals(out: Path) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for entry in read_jsonl(out / "journal_entry.jsonl"):
        for line in entry["lines"]:
            name = ledger.account(line["account_role"], entry["legal_entity"], entry["currency"])
            totals[name] += Decimal(line["debit"]) - Decimal(line["credit"])
    return dict(totals)


def _ledger_totals(path: Path) -> tuple[dict[str, Decimal], list[Any]]:
    """Per account, the sum of the ledger's postings as Beancount reads them; and its
    transactions."""
    from beancount import loader
    from beancount.core import data

    entries, _, _ = loader.load_file(str(path))
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                totals[posting.account] += posting.units.number
    return dict(totals), [e for e in entries if isinstance(e, data.Transaction)]


# -- the Beancount export ------------------------------------------------------------------

def test_a_contract_line_id_cannot_add_postings_to_the_ledger(tmp_path: Path) -> None:
    """The 12-million attack: the id stays a string; the ledger holds exactly the journals'
    postings, so `ledger --check` passing means the books are the run's."""
    _run(_scenario(tmp_path / "data", TWELVE_MILLION), tmp_path / "out")
    result = runner.invoke(app, ["ledger", str(tmp_path / "out"), "--check"])
    assert result.exit_code == 0, result.output
    assert "beancount: 0 error(s)" in result.output
    totals, transactions = _ledger_totals(tmp_path / "out" / "ledger.beancount")
    assert totals == _journal_totals(tmp_path / "out")
    assert max(totals.values()) < 1_000_000
    assert transactions and all(t.payee.startswith('L1"\\n  Assets') for t in transactions)


def test_an_id_cannot_make_the_ledger_check_load_a_plugin(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An id that would write a `plugin` directive: `ledger --check` imports nothing (the
    canary module, importable here, is never run)."""
    modules, canary = tmp_path / "modules", tmp_path / "CANARY"
    modules.mkdir()
    (modules / "billsync_canary_plugin.py").write_text(
        f"open({str(canary)!r}, 'w').close()\n__plugins__ = ()\n")
    monkeypatch.syspath_prepend(str(modules))
    attack = 'L1"\nplugin "billsync_canary_plugin"\ninclude "/etc/passwd"\n2025-03-31 * "L1'
    _run(_scenario(tmp_path / "data", attack), tmp_path / "out")
    result = runner.invoke(app, ["ledger", str(tmp_path / "out"), "--check"])
    _clean(result)
    assert not canary.exists()
    text = (tmp_path / "out" / "ledger.beancount").read_text()
    assert "\nplugin" not in text and "\ninclude" not in text


def test_names_in_accounts_and_currencies_cannot_break_out() -> None:
    """A legal entity or currency that is not a valid account part or commodity becomes one
    (with a short hash of itself, so two names never share an account); nothing follows the
    amount on a posting line but its commodity."""
    entry = _entry("E1", "LE-US\n2025-01-01 open Assets:X", "USD\n  Assets:X 5 USD", "10.00")
    text = ledger.to_beancount([entry])
    postings = [line for line in text.splitlines() if line.startswith("  ") and
                not line.startswith("  billsync_id")]
    assert len(postings) == 2
    assert all(len(line.split()) == 3 for line in postings)
    assert ledger.component("LE-US\n") != ledger.component("LE-US ")
    assert ledger.component("LE-US") == "LE-US"
    assert ledger.commodity("USD") == "USD" and ledger.commodity("usd") != "USD"


def test_huge_amounts_are_written_in_plain_notation(tmp_path: Path) -> None:
    """Amounts and balances keep every digit, never `3.3E+29`, and sum exactly."""
    big = "330000000000000000000000000000.01"
    entries = [_entry("E1", "LE-US", "USD", big), _entry("E2", "LE-US", "USD", big)]
    balances = [{"period": "2025-03", "legal_entity": "LE-US", "currency": "USD",
                 "unbilled_receivable": "660000000000000000000000000000.02",
                 "deferred_revenue": "0"}]
    text = ledger.to_beancount(entries, balances)
    assert "E+" not in text and "e+" not in text
    assert f"  Assets:UnbilledReceivable:LE-US:USD  {big} USD" in text
    assert "balance Assets:UnbilledReceivable:LE-US:USD  660000000000000000000000000000.02 USD" \
        in text


def test_accounts_open_before_their_first_balance_assertion(tmp_path: Path) -> None:
    """An account first used in March but asserted at the end of January opens before the
    January assertion; Beancount finds no error."""
    entries = [_entry("E1", "LE-US", "USD", "10.00", date="2025-03-31")]
    balances = [{"period": period, "legal_entity": "LE-US", "currency": "USD",
                 "unbilled_receivable": amount, "deferred_revenue": "0"}
                for period, amount in (("2025-01", "0"), ("2025-03", "10.00"))]
    text = ledger.to_beancount(entries, balances)
    opened = {line.split()[2]: line.split()[0] for line in text.splitlines()
              if " open " in line}
    for line in text.splitlines():
        if " balance " in line:
            day, _, name = line.split()[:3]
            assert opened[name] < day, line
    path = tmp_path / "ledger.beancount"
    path.write_text(text)
    assert ledger.check(path) == []


def test_a_journal_row_that_does_not_fit_is_a_clear_error(tmp_path: Path) -> None:
    """A journal file that is not what a run writes stops the export with its line named
    (exit 1), never a traceback."""
    (tmp_path / "journal_entry.jsonl").write_text('{"id": "E1", "lines": 5}\nnot json\n')
    result = runner.invoke(app, ["ledger", str(tmp_path)])
    _clean(result)
    assert result.exit_code == 1
    assert "journal_entry.jsonl:1" in result.output


def _entry(entry_id: str, legal_entity: str, currency: str, amount: str,
           date: str = "2025-03-31") -> dict[str, Any]:
    return {"id": entry_id, "date": date, "contract_line_id": "L1", "period": date[:7],
            "legal_entity": legal_entity, "currency": currency, "kind": "revenue",
            "lines": [{"account_role": "unbilled_receivable", "debit": amount, "credit": "0"},
                      {"account_role": "services_revenue", "debit": "0", "credit": amount}]}


# -- CSV -----------------------------------------------------------------------------------

@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_text_cells_that_a_spreadsheet_would_run_are_neutralised(start: str) -> None:
    """A text cell beginning with = + - @ tab or carriage return gets a leading quote (the
    OWASP rule); the rest of the cell is kept."""
    row = dict.fromkeys(wip.CSV_COLUMNS, "")
    row |= {"id": f"{start}HYPERLINK(\"http://x\")", "customer": f"{start}1+1"}
    [parsed] = list(csv.DictReader(io.StringIO(wip.to_csv([row]))))
    for column in ("id", "customer"):
        assert parsed[column].startswith("'"), parsed[column]


def test_csv_numbers_stay_numbers() -> None:
    """Numeric columns holding a number (a negative amount, a credit) are written as they
    are; anything else in them is neutralised like text."""
    row = dict.fromkeys(wip.CSV_COLUMNS, "")
    row |= {"amount": "-12.50", "hours": "-1.25", "age_days": "-3", "id": "-5"}
    [parsed] = list(csv.DictReader(io.StringIO(wip.to_csv([row]))))
    assert (parsed["amount"], parsed["hours"], parsed["age_days"]) == ("-12.50", "-1.25", "-3")
    assert parsed["id"] == "'-5"
    row["amount"] = "-1+cmd|' /C calc'!A0"
    [parsed] = list(csv.DictReader(io.StringIO(wip.to_csv([row]))))
    assert parsed["amount"].startswith("'")


def test_wip_csv_from_a_hostile_customer_id_is_inert(tmp_path: Path) -> None:
    """A customer id that is a spreadsheet formula reaches wip.csv neutralised."""
    data = _scenario(tmp_path / "data", customer_id="=HYPERLINK(\"http://evil\",\"x\")",
                     submitted=("T10", "T11"))
    _run(data, tmp_path / "out")
    result = runner.invoke(app, ["wip", str(tmp_path / "out"), "--by", "customer"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "out" / "wip.csv").open()))
    assert rows and all(r["customer"].startswith("'=HYPERLINK") for r in rows)


# -- the terminal --------------------------------------------------------------------------

def test_ids_reach_the_terminal_as_text(tmp_path: Path) -> None:
    """An escape sequence or rich markup in an id is printed as visible text by the run
    summary, wip and explain: no control character reaches the terminal, no markup applies."""
    out = tmp_path / "out"
    summary = _run(_scenario(tmp_path / "data", customer_id=TERMINAL, submitted=("T10",)), out)
    line = read_jsonl(out / "invoice_line.jsonl")[0]
    shown = [summary,
             runner.invoke(app, ["wip", str(out), "--by", "customer"]),
             runner.invoke(app, ["explain", str(out), "invoice_line", line["id"]])]
    for result in shown:
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.output and "\x07" not in result.output
    assert "C1\\x1b]0;owned\\x07\\x1b[31m[bold]red[/bold]" in summary.output
    assert "C1\\x1b]0;owned" in shown[1].output and "C1\\x1b]0;owned" in shown[2].output


# -- reports over rows the run rejected ----------------------------------------------------

def test_reports_run_cleanly_over_reference_rows_the_run_rejected(tmp_path: Path) -> None:
    """Customer, project and contract-line rows that are not JSON, not UTF-8, not objects,
    or whose fields are missing or of the wrong type are INVALID_RECORD in the run; wip,
    ledger and explain then skip them and finish with exit 0."""
    data = tmp_path / "data"
    shutil.copytree(NORTHWIND / "data", data)
    bad = ['{"id": 5, "name": ["x"], "region": {"a": 1}}', "[1, 2]", '"text"', "not json",
           '{"id": "C-ACME", "region": 7, "legal_entity": ["LE"]}', '{"id": "C-NEW"}']
    for name in ("customer", "project", "contract_line"):
        with (data / f"{name}.jsonl").open("ab") as handle:
            handle.write(("\n".join(bad) + "\n").encode() + b"\xff\xfe not utf-8\n")
    out = tmp_path / "out"
    _run(data, out, NORTHWIND)
    invalid = [e for e in read_jsonl(out / "exception.jsonl") if e["code"] == "INVALID_RECORD"]
    assert {e["file"] for e in invalid} >= {"customer.jsonl", "project.jsonl"}
    reports = [runner.invoke(app, ["wip", str(out), "--by", "customer,practice,region"]),
               runner.invoke(app, ["ledger", str(out), "--check"]),
               runner.invoke(app, ["explain", str(out), "invoice_line",
                                   read_jsonl(out / "invoice_line.jsonl")[0]["id"]])]
    for result in reports:
        _clean(result)
        assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "wip.csv").open()))
    assert {r["region"] for r in rows if r["customer"] == "C-ACME"} == {"NA"}
