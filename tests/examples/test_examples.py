"""Examples: every example project checks, passes its spec tests and runs; Northwind's
outputs are golden files; the shared scenarios run through `billsync run`."""

import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from engine.cli import app
from engine.testing import absent, compare
from tests.conftest import ROOT, shared
from tests.run.helpers import april_data, read_jsonl, spec_case, write_given

EXAMPLES = sorted(p.parent for p in (ROOT / "examples").glob("*/billsync.yaml"))
SCENARIO_CASES = sorted((ROOT / "examples" / "standard" / "tests").glob("G*.yaml"))
runner = CliRunner()


@pytest.mark.parametrize("project", EXAMPLES, ids=lambda p: p.name)
def test_every_example_checks_and_passes_its_spec_tests(project: Path) -> None:
    """`billsync check` and `billsync test` succeed on every example project."""
    checked = runner.invoke(app, ["check", str(project)])
    assert checked.exit_code == 0, checked.output
    tested = runner.invoke(app, ["test", str(project)])
    assert tested.exit_code == 0, tested.output
    assert " 0 failed" in tested.output


def matches_golden(out: Path, expected: Path, update: bool) -> None:
    """Every file of a run's folder (but run_inputs.json, whose paths are this machine's)
    equals the golden one, byte for byte; --update-golden rewrites them."""
    produced = sorted(p.relative_to(out) for p in out.rglob("*")
                      if p.is_file() and p.name != "run_inputs.json")
    if update:
        shutil.rmtree(expected, ignore_errors=True)
        for relative in produced:
            (expected / relative).parent.mkdir(parents=True, exist_ok=True)
            (expected / relative).write_bytes((out / relative).read_bytes())
    assert produced == sorted(p.relative_to(expected) for p in expected.rglob("*") if p.is_file())
    for relative in produced:
        assert (out / relative).read_bytes() == (expected / relative).read_bytes(), relative


def test_northwind_outputs_match_the_golden_files(tmp_path: Path,
                                                  request: pytest.FixtureRequest) -> None:
    """make demo's two runs: March, then April over the issued March with the changes of
    examples/northwind/april; their folders equal expected/ and expected-april/."""
    project = ROOT / "examples" / "northwind"
    update = request.config.getoption("--update-golden")
    march, april = tmp_path / "march", tmp_path / "april"
    result = runner.invoke(app, ["run", str(project), "--data", str(project / "data"),
                                 "--out", str(march), "--through", "2025-03"])
    assert result.exit_code == 0, result.output
    assert "all input counts reconcile" in result.output
    matches_golden(march, project / "expected", update)
    result = runner.invoke(app, ["run", str(project), "--data", str(april_data(tmp_path / "d")),
                                 "--out", str(april), "--through", "2025-04",
                                 "--issued", str(march)])
    assert result.exit_code == 0, result.output
    assert "Corrections of issued periods" in result.output
    matches_golden(april, project / "expected-april", update)


@pytest.mark.parametrize("case_file", SCENARIO_CASES, ids=lambda p: p.stem)
def test_scenarios_run_through_billsync_run(case_file: Path, tmp_path: Path) -> None:
    """The scenario's records as input files, `billsync run examples/standard`, its figures."""
    case = spec_case(str(case_file.relative_to(ROOT)))
    write_given(tmp_path / "data", case)
    result = runner.invoke(app, ["run", "examples/standard", "--data", str(tmp_path / "data"),
                                 "--out", str(tmp_path / "out"), "--through", case["through"]])
    assert result.exit_code == 0, result.output
    failures = []
    for entity, expected in case["expect"].items():
        failures += compare(entity, expected, read_jsonl(tmp_path / "out" / f"{entity}.jsonl"))
    for entity, unwanted in case.get("absent", {}).items():
        failures += absent(entity, unwanted, read_jsonl(tmp_path / "out" / f"{entity}.jsonl"))
    assert failures == []


@pytest.mark.parametrize("case_file", SCENARIO_CASES, ids=lambda p: p.stem)
def test_our_scenario_copies_carry_the_shared_figures(case_file: Path) -> None:
    """The figures in our spec tests are the shared scenario's billing figures, unchanged."""
    source = shared("scenarios", f"{case_file.stem}.yaml")
    original = YAML(typ="safe").load(source.read_text())
    case = spec_case(str(case_file.relative_to(ROOT)))
    plural = {"invoice_line": "invoice_lines", "invoice": "invoices",
              "unbilled_item": "unbilled_items", "exception": "exceptions",
              "revenue_line": "revenue_lines", "balance": "balances"}
    for entity, rows in case["expect"].items():
        assert rows == original["expect"][plural[entity]]
    assert case.get("absent", {}).get("invoice_line", []) == original["expect"].get(
        "no_invoice_for", [])
    assert case["given"] == original["data"]
    assert case["through"] == original["through"]
