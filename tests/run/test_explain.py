"""explain: how an output record was derived, from a run's output folder: the input records,
every rule applied, and each intermediate value with the YAML line that computed it."""

import json
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from engine.cli import app
from tests.run.helpers import read_jsonl, spec_case, write_given

runner = CliRunner()
RERATE = ("examples/standard/tests/caps.yaml", 4)  # the re-rating amendment over a cap
MARCH = "K1:2025-03:L1:time:Consultant:regular:120.00"


def _run(tmp_path: Path, case: tuple[str, int] = RERATE) -> Path:
    given = spec_case(*case)
    write_given(tmp_path / "data", given)
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", "examples/standard", "--data", str(tmp_path / "data"),
                                 "--out", str(out), "--through", given["through"], "-q"])
    assert result.exit_code == 0, result.output
    return out


def test_explain_walks_from_an_invoice_line_to_its_time_entries(
        tmp_path: Path, golden: Callable[[str, str], None]) -> None:
    """The March line holds T3 on the new terms and what the old cap left of T1 and T2: the
    explanation shows each entry, the rate row, the cap's passes and every rule, in order."""
    out = _run(tmp_path)
    result = runner.invoke(app, ["explain", str(out), "invoice_line", MARCH])
    assert result.exit_code == 0, result.output
    text = result.output
    for rule in ("tax_lines", "adjust_period", "time_invoice_lines", "settle_cap_share",
                 "apply_caps", "price_time"):
        assert f"<- rule {rule} (rules/billing/" in text
    for entry in ("T1", "T2", "T3"):
        assert f"time_entry {entry}  [input, time_entry.jsonl]" in text
    assert "rate_row = {rate_card_id: RC2, role: Consultant, rate: 120.00" in text
    assert "minutes = 250  (rules/billing/time_and_materials.yaml:" in text
    assert "retaken: 120" in text  # T2: over the old cap, whole on the new one
    golden("explain/rerate_over_cap.txt", text)


def test_explain_shows_an_expense_conversion(tmp_path: Path) -> None:
    """A converted expense's line: the fx rate found, its date, and the original amount."""
    out = _run(tmp_path, ("examples/standard/tests/expenses_fx.yaml", 0))
    line = next(r for r in read_jsonl(out / "invoice_line.jsonl") if r["fx"])
    result = runner.invoke(app, ["explain", str(out), "invoice_line", line["id"]])
    assert result.exit_code == 0, result.output
    assert f"expense {line['source_ids'][0]}  [input, expense.jsonl]" in result.output
    assert f"fx_rate = {line['fx'][0]['rate']}" in result.output
    assert "<- rule bill_charge (rules/billing/charges.yaml:" in result.output


def test_explain_as_json_is_the_same_tree(tmp_path: Path) -> None:
    out = _run(tmp_path)
    result = runner.invoke(app, ["explain", str(out), "invoice_line", MARCH, "--json"])
    assert result.exit_code == 0, result.output
    tree = json.loads(result.output)
    assert tree["rule"] == "tax_lines" and tree["record"]["amount"] == "500.00"
    rules, stack = set(), [tree]
    while stack:
        node = stack.pop()
        rules.add(node["rule"])
        stack += node["inputs"]
    assert {"price_time", "apply_caps", None} <= rules  # None: the input records


def test_explain_refuses_an_unknown_record_or_a_changed_spec(tmp_path: Path) -> None:
    out = _run(tmp_path)
    missing = runner.invoke(app, ["explain", str(out), "invoice_line", "nope"])
    assert missing.exit_code == 1
    assert "no invoice_line with id 'nope'" in missing.output
    summary = json.loads((out / "run_summary.json").read_text())
    summary["spec_version"] = "sv1-0000000000000000"
    (out / "run_summary.json").write_text(json.dumps(summary))
    changed = runner.invoke(app, ["explain", str(out), "invoice_line", MARCH])
    assert changed.exit_code == 1
    assert "the spec changed since this run" in changed.output
