"""run --issued: a run continues an earlier run's books. Issued documents are carried byte for
byte; what changed since becomes correction lines in the first open period; the folder must
be the untouched output of a run of the same project."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import engine
from engine.cli import app
from engine.errors import RunError
from engine.run.issued import digest
from tests.run.helpers import april_data
from tests.security.project import TIME_ENTRY, write_project

NORTHWIND = Path("examples/northwind")
DOCUMENTS = ("invoice_line", "invoice", "revenue_line", "journal_entry", "balance")
runner = CliRunner()


def lines(folder: Path, name: str) -> list[str]:
    return (folder / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()


def records(folder: Path, name: str) -> list[dict[str, Any]]:
    """Output records as written (amounts are text)."""
    return [json.loads(line) for line in lines(folder, name)]


@pytest.fixture(scope="module")
def program() -> engine.Program:
    return engine.compile(engine.plan(NORTHWIND))


@pytest.fixture(scope="module")
def march(program: engine.Program, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("march")
    engine.run(program, NORTHWIND / "data", out, "2025-03")
    return out


@pytest.fixture(scope="module")
def april(program: engine.Program, march: Path, tmp_path_factory: pytest.TempPathFactory
          ) -> tuple[engine.RunResult, Path]:
    root = tmp_path_factory.mktemp("april")
    out = root / "out"
    result = engine.run(program, april_data(root / "data"), out, "2025-04", issued=march)
    return result, out


# -- chained closes ----------------------------------------------------------------------

def test_three_chained_monthly_closes_equal_one_run(program: engine.Program, march: Path,
                                                    tmp_path: Path) -> None:
    """January, then February and March each with --issued over the month before: when
    nothing changes after a close, the books are those of one run through March, byte for
    byte, and no correction is raised."""
    previous = None
    for month in ("2025-01", "2025-02", "2025-03"):
        out = tmp_path / month
        engine.run(program, NORTHWIND / "data", out, month, issued=previous)
        previous = out
    assert previous is not None
    for name in (*DOCUMENTS, "unbilled_item", "exception"):
        assert lines(previous, name) == lines(march, name), name
    payloads = previous / "payloads" / "xero_invoice.jsonl"
    assert sorted(payloads.read_text().splitlines()) == sorted(
        (march / "payloads" / "xero_invoice.jsonl").read_text().splitlines())
    summary = json.loads((previous / "run_summary.json").read_text())
    assert summary["new_periods"] == ["2025-03"]
    assert summary["issued"]["through"] == "2025-02"


# -- the second act: April over issued March ----------------------------------------------

def test_issued_documents_are_carried_byte_for_byte(march: Path,
                                                    april: tuple[engine.RunResult, Path]) -> None:
    """Every line of March's books is in April's, unchanged, and April adds only documents
    of April."""
    _, out = april
    for name in DOCUMENTS:
        before, after = lines(march, name), lines(out, name)
        assert set(before) <= set(after), name
        added = [json.loads(line) for line in after if line not in set(before)]
        assert added and all(r["period"] == "2025-04" for r in added), name


def test_each_change_after_the_close_is_a_correction_in_april(
        april: tuple[engine.RunResult, Path]) -> None:
    """The revised February entry, the reopened February entry and the corrected March
    rate are three correction lines in April, each naming the line and period it corrects,
    with the issued and recomputed figures and why."""
    result, _ = april
    corrections = {(line["correction"]["period"], line["contract_line_id"]): line
                   for line in result.outputs["invoice_line"] if line["kind"] == "correction"}
    assert set(corrections) == {("2025-02", "L-GLOBEX-CRM"), ("2025-02", "L-UMB-SEC"),
                                ("2025-03", "L-INITECH-CLOUD")}
    revised = corrections[("2025-02", "L-GLOBEX-CRM")]
    assert revised["period"] == "2025-04" and revised["invoice_id"] == "K-GLOBEX-CRM:2025-04"
    assert revised["corrects"] == "K-GLOBEX-CRM:2025-02:L-GLOBEX-CRM:time:Partner:regular:320.00"
    assert (revised["quantity"], revised["amount"]) == (Decimal("1.00"), Decimal("320.00"))
    assert revised["correction"]["reason"] == "quantity 6.25 -> 7.25"
    reopened = corrections[("2025-02", "L-UMB-SEC")]
    assert (reopened["amount"], reopened["tax_amount"]) == (Decimal(-351000), Decimal(-35100))
    assert "no longer billed: harvest-2400000395" in reopened["correction"]["reason"]
    # Nothing of the key was issued in March: the rate fix bills time March excepted.
    rate_fix = corrections[("2025-03", "L-INITECH-CLOUD")]
    assert rate_fix["corrects"] is None and rate_fix["unit_price"] == Decimal("165.00")
    assert rate_fix["correction"]["old_amount"] == 0
    notices = [e for e in result.outputs["exception"] if e["code"] == "CORRECTION"]
    assert {(n["old_amount"], n["new_amount"]) for n in notices} == {
        (Decimal("2000.00"), Decimal("2320.00")), (Decimal(351000), Decimal(0)),
        (Decimal(0), Decimal("2268.75"))}
    assert all(n["owner_role"] == "finance" and n["severity"] == "info" for n in notices)


def test_a_revised_entry_stays_in_the_period_it_was_billed_in(
        april: tuple[engine.RunResult, Path]) -> None:
    """Re-approved in April, the revised entry is still billed in February: its correction
    corrects February, and no April time line holds it."""
    result, _ = april
    april_time = [line for line in result.outputs["invoice_line"] if line["kind"] == "time"]
    assert all("harvest-2400000377" not in line["source_ids"] for line in april_time)


def test_a_billed_milestone_stays_in_its_issued_period(program: engine.Program, march: Path,
                                                       tmp_path: Path) -> None:
    """MS-1, accepted in February and billed there, has its acceptance date corrected to
    April: it stays billed in February (no correction, no April milestone line). Withdrawn
    (pending again), it is reversed in April."""
    data = april_data(tmp_path / "data")
    rows = [json.loads(line) for line in (data / "milestone.jsonl").read_text().splitlines()]

    def run_with(ms1: dict[str, Any], out: str) -> engine.RunResult:
        changed = [ms1 if r["id"] == "MS-1" else r for r in rows]
        (data / "milestone.jsonl").write_text("".join(json.dumps(r) + "\n" for r in changed))
        return engine.run(program, data, tmp_path / out, "2025-04", issued=march)

    ms1 = next(r for r in rows if r["id"] == "MS-1")
    moved = run_with({**ms1, "accepted_date": "2025-04-02"}, "moved")
    assert not [r for r in moved.outputs["invoice_line"]
                if r["contract_line_id"] == "L-INITECH-SEC"]
    withdrawn = run_with({**ms1, "status": "pending"}, "withdrawn")
    [reversal] = [r for r in withdrawn.outputs["invoice_line"]
                  if r["contract_line_id"] == "L-INITECH-SEC"]
    assert reversal["kind"] == "correction" and reversal["correction"]["period"] == "2025-02"
    assert reversal["amount"] == -reversal["correction"]["old_amount"] < 0


def test_an_invoice_of_reversals_only_is_a_credit_note(
        april: tuple[engine.RunResult, Path]) -> None:
    """Umbrella has no April work: its April invoice holds the reversal only, its total is
    negative, and it goes to Xero as a credit note with positive amounts."""
    result, out = april
    invoices = {i["id"]: i for i in result.outputs["invoice"]}
    credit = invoices["K-UMB-SEC:2025-04"]
    assert credit["document_type"] == "credit_note" and credit["total"] == Decimal(-386100)
    assert {i["document_type"] for k, i in invoices.items() if k != credit["id"]} == {"invoice"}
    [note] = [json.loads(line, parse_float=Decimal) for line in
              (out / "payloads" / "xero_credit_note.jsonl").read_text().splitlines()]
    assert note["Type"] == "ACCRECCREDIT" and note["CreditNoteNumber"] == credit["id"]
    assert [item["LineAmount"] for item in note["LineItems"]] == [351000]
    invoice_numbers = [json.loads(line)["InvoiceNumber"] for line in
                       (out / "payloads" / "xero_invoice.jsonl").read_text().splitlines()]
    assert credit["id"] not in invoice_numbers


def test_billing_through_april_is_the_same_per_contract_line_as_one_run(
        program: engine.Program, april: tuple[engine.RunResult, Path], tmp_path: Path) -> None:
    """Issued plus corrections bill, per contract line and in total, what one run over the
    same data bills (one run may place an item in another period; not another amount)."""
    _, out = april
    fresh = engine.run(program, april_data(tmp_path / "data"), tmp_path / "out", "2025-04")

    def per_line(rows: list[dict[str, Any]]) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = {}
        for row in rows:
            amount = Decimal(row["amount"])
            totals[row["contract_line_id"]] = totals.get(row["contract_line_id"], 0) + amount
        return totals
    assert per_line(records(out, "invoice_line")) == per_line(fresh.outputs["invoice_line"])


def test_the_books_still_tie_out_after_corrections(april: tuple[engine.RunResult, Path]) -> None:
    """Every April balance: cumulative revenue - invoiced = unbilled - deferred, and the
    cumulative invoiced is March's plus April's lines, corrections included."""
    result, out = april
    invoiced: dict[str, Decimal] = {}
    for line in records(out, "invoice_line"):
        invoiced[line["contract_line_id"]] = invoiced.get(line["contract_line_id"], 0) \
            + Decimal(line["amount"])
    for balance in result.outputs["balance"]:
        assert balance["cumulative_revenue"] - balance["cumulative_invoiced"] == (
            balance["unbilled_receivable"] - balance["deferred_revenue"])
        assert balance["cumulative_invoiced"] == invoiced.get(balance["contract_line_id"], 0)
    for entry in result.outputs["journal_entry"]:
        assert sum(x["debit"] for x in entry["lines"]) == sum(x["credit"] for x in entry["lines"])


def test_the_summary_says_what_is_new(april: tuple[engine.RunResult, Path], march: Path) -> None:
    _, out = april
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["new_periods"] == ["2025-04"]
    assert summary["issued"] == {"through": "2025-03", "spec_version": summary["spec_version"],
                                 "summary": digest(march / "run_summary.json")}
    assert summary["outputs"]["invoice"] == len(lines(out, "invoice"))
    assert summary["inputs"]["issued/invoice_line"]["loaded"] == len(lines(march, "invoice_line"))


# -- refusals ------------------------------------------------------------------------------

def refused(program: engine.Program, issued: Path, through: str = "2025-04") -> RunError:
    with pytest.raises(RunError) as caught:
        engine.run(program, NORTHWIND / "data", None, through, issued=issued)
    return caught.value


def test_edited_books_are_refused(program: engine.Program, march: Path, tmp_path: Path) -> None:
    edited = tmp_path / "edited"
    shutil.copytree(march, edited)
    path = edited / "invoice_line.jsonl"
    path.write_text(path.read_text().replace('"amount":"3450.00"', '"amount":"3540.00"', 1))
    error = refused(program, edited)
    assert error.diagnostics[0].code == "E505"
    assert "invoice_line.jsonl differs from what its run wrote" in error.diagnostics[0].message


def test_a_folder_without_digests_or_summary_is_refused(program: engine.Program, march: Path,
                                                        tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    shutil.copytree(march, bare)
    summary = json.loads((bare / "run_summary.json").read_text())
    del summary["files"]
    (bare / "run_summary.json").write_text(json.dumps(summary))
    assert "recorded no digests" in refused(program, bare).diagnostics[0].message
    (bare / "run_summary.json").unlink()
    assert "is not the output folder of a run" in refused(program, bare).diagnostics[0].message


def test_another_projects_books_are_refused(march: Path, tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", {"note.yaml": NOTE}, name="other")
    with pytest.raises(RunError) as caught:
        engine.run(engine.compile(engine.plan(project)), NORTHWIND / "data", None, "2025-04",
                   issued=march)
    assert "holds the books of project 'northwind', not of 'other'" in str(
        caught.value.diagnostics[0].message)


def test_a_run_must_close_after_the_issued_books(program: engine.Program, march: Path) -> None:
    error = refused(program, march, through="2025-03")
    assert error.diagnostics[0].code == "E506"


def test_a_new_spec_version_continues_the_books(march: Path, tmp_path: Path) -> None:
    """A changed spec is one more reason a figure may change: allowed. Issued documents keep
    the spec version they were issued under."""
    project = tmp_path / "northwind"
    shutil.copytree(NORTHWIND, project, ignore=shutil.ignore_patterns("data", "expected"))
    for pack in ("schemas", "rules", "mappings"):
        shutil.copytree(pack, project / pack)
    manifest = project / "billsync.yaml"
    manifest.write_text(manifest.read_text().replace("payment_terms_days: 30",
                                                     "payment_terms_days: 45"))
    program = engine.compile(engine.plan(project))
    out = tmp_path / "out"
    engine.run(program, april_data(tmp_path / "data"), out, "2025-04", issued=march)
    versions = {r["period"] <= "2025-03": r["spec_version"] for r in records(out, "invoice")}
    assert versions[True] != versions[False] == program.plan.spec_version


def test_the_cli_continues_the_books_and_will_not_write_over_them(march: Path,
                                                                  tmp_path: Path) -> None:
    data = april_data(tmp_path / "data")
    same = runner.invoke(app, ["run", str(NORTHWIND), "--data", str(data), "--out", str(march),
                               "--through", "2025-04", "--issued", str(march)])
    assert same.exit_code == 2 and "not the --issued one" in same.output
    done = runner.invoke(app, ["run", str(NORTHWIND), "--data", str(data), "--out",
                               str(tmp_path / "out"), "--through", "2025-04", "--issued",
                               str(march)])
    assert done.exit_code == 0, done.output
    assert "continues the books issued through 2025-03" in done.output
    assert "Corrections of issued periods" in done.output


def test_explain_follows_a_correction_and_sends_issued_documents_back(march: Path,
                                                                     tmp_path: Path) -> None:
    """explain over a continuing run: a correction line is derived from the line it
    corrects (recomputed and issued); an issued document is explained in its own run."""
    data = april_data(tmp_path / "data")
    out = tmp_path / "out"
    ran = runner.invoke(app, ["run", str(NORTHWIND), "--data", str(data), "--out", str(out),
                              "--through", "2025-04", "--issued", str(march), "-q"])
    assert ran.exit_code == 0, ran.output
    fix = next(r for r in records(out, "invoice_line") if r["kind"] == "correction"
               and r["contract_line_id"] == "L-GLOBEX-CRM")
    shown = runner.invoke(app, ["explain", str(out), "invoice_line", fix["id"]])
    assert shown.exit_code == 0, shown.output
    assert "<- rule bill_correction (rules/billing/corrections.yaml:" in shown.output
    assert "<- rule reconcile" in shown.output and "issued_invoice_line" in shown.output
    issued = records(march, "invoice_line")[0]["id"]
    sent_back = runner.invoke(app, ["explain", str(out), "invoice_line", issued])
    assert sent_back.exit_code == 1 and "explain it in that run's folder" in sent_back.output


# -- the engine's guard --------------------------------------------------------------------

NOTE = """entity: note
kind: output
key: [id]
issued: {period: period}
fields: {id: string, period: string, rule_id: string, spec_version: string}
"""
NOTE_RULE = """pack: notes
rules:
  - id: note_each
    for: time_entry
    as: entry
    steps:
      - emit:
          note: {id: entry.id, period: period(entry.work_date)}
        stop: true
"""


def test_a_document_of_an_issued_period_is_refused_not_rewritten(tmp_path: Path) -> None:
    """A rule that makes a document for an issued period gets ISSUED_PERIOD; the issued
    document stands, once."""
    project = write_project(tmp_path / "p", {"note.yaml": NOTE, "rules.yaml": NOTE_RULE})
    program = engine.compile(engine.plan(project))
    data = tmp_path / "data"
    data.mkdir()
    (data / "time_entry.jsonl").write_text(TIME_ENTRY)
    engine.run(program, data, tmp_path / "jan", "2025-01")
    result = engine.run(program, data, tmp_path / "feb", "2025-02", issued=tmp_path / "jan")
    assert [e["code"] for e in result.outputs["exception"]] == ["ISSUED_PERIOD"]
    assert lines(tmp_path / "feb", "note") == lines(tmp_path / "jan", "note")
    assert result.reconciles
