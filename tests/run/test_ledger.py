"""ledger: the journal output, exported as a Beancount ledger, passes Beancount's own checks
for every example project and scenario; a wrong balance is caught."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine import ledger
from engine.cli import app
from tests.conftest import ROOT
from tests.run.helpers import spec_case, write_given

runner = CliRunner()
SCENARIOS = sorted((ROOT / "examples" / "standard" / "tests").glob("G*.yaml"))


def _run(project: Path, data: Path, out: Path, through: str) -> Path:
    result = runner.invoke(app, ["run", str(project), "--data", str(data), "--out", str(out),
                                 "--through", through, "-q"])
    assert result.exit_code == 0, result.output
    return out


def _checked(out: Path) -> str:
    result = runner.invoke(app, ["ledger", str(out), "--check"])
    assert result.exit_code == 0, result.output
    assert "beancount: 0 error(s)" in result.output
    return (out / "ledger.beancount").read_text()


@pytest.mark.parametrize("case_file", SCENARIOS, ids=lambda p: p.stem)
def test_every_scenario_ledger_passes_beancount(case_file: Path, tmp_path: Path) -> None:
    case = spec_case(str(case_file.relative_to(ROOT)))
    write_given(tmp_path / "data", case)
    out = _run(ROOT / "examples" / "standard", tmp_path / "data", tmp_path / "out",
               case["through"])
    text = _checked(out)
    assert " balance Assets:UnbilledReceivable:" in text


def test_the_northwind_ledger_passes_beancount(tmp_path: Path) -> None:
    """Three months, five currencies, four legal entities: balanced, and every period-end
    balance the run reports is what the ledger sums to."""
    project = ROOT / "examples" / "northwind"
    out = _run(project, project / "data", tmp_path, "2025-03")
    text = _checked(out)
    assert "Liabilities:DeferredRevenue:LE-EU:EUR" in text
    assert "Expenses:WriteDown:LE-UK:GBP" in text


def test_a_wrong_balance_fails_the_check(tmp_path: Path) -> None:
    """The check can fail: one balance record off by 1.00 is an error Beancount names (it
    tolerates one unit of the last digit, a cent here)."""
    project = ROOT / "examples" / "northwind"
    out = _run(project, project / "data", tmp_path, "2025-03")
    balances = (out / "balance.jsonl").read_text().replace(
        '"unbilled_receivable":"0.00"', '"unbilled_receivable":"1.00"', 1)
    (out / "balance.jsonl").write_text(balances)
    result = runner.invoke(app, ["ledger", str(out), "--check"])
    assert result.exit_code == 1
    assert "Balance failed" in result.output


def test_account_names_are_valid_and_unknown_roles_refused() -> None:
    assert ledger.account("deferred_revenue", "unassigned", "USD") == \
        "Liabilities:DeferredRevenue:Unassigned:USD"
    with pytest.raises(ledger.LedgerError):
        ledger.account("petty_cash", "LE-US", "USD")
