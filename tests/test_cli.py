"""The command line: verbs, formats and exit codes (0 success, 1 problems, 2 bad usage)."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app

runner = CliRunner()


def test_check_exits_1_on_errors_in_every_format() -> None:
    """A broken project fails check; json and github formats are machine-readable."""
    text = runner.invoke(app, ["check", "tests/fixtures/broken"])
    assert text.exit_code == 1
    assert "error[E204]" in text.output and "check failed" in text.output
    as_json = runner.invoke(app, ["check", "tests/fixtures/broken", "--format", "json"])
    assert as_json.exit_code == 1
    assert {d["code"] for d in json.loads(as_json.stdout)} >= {"E204", "E209"}
    github = runner.invoke(app, ["check", "tests/fixtures/broken", "--format", "github"])
    assert github.exit_code == 1 and "::error file=" in github.stdout


def test_plan_json_carries_the_spec_version() -> None:
    """`plan --json` prints the whole Plan; its hash is the spec version."""
    result = runner.invoke(app, ["plan", "examples/standard", "--json"])
    assert result.exit_code == 0
    plan = json.loads(result.stdout)
    assert plan["spec_version"].startswith("sv1-")
    assert {e["name"] for e in plan["entities"]} >= {"time_entry", "invoice_line"}


def test_compile_emits_python_and_lineage_and_graph_work() -> None:
    """compile --emit-python, lineage and graph print what they promise."""
    python = runner.invoke(app, ["compile", "examples/northwind", "--emit-python"])
    assert python.exit_code == 0 and "def rule_price_time(v_entry):" in python.stdout
    lineage = runner.invoke(app, ["lineage", "examples/northwind", "invoice_line.amount"])
    assert lineage.exit_code == 0 and "rate_card_row.rate" in lineage.stdout
    missing = runner.invoke(app, ["lineage", "examples/northwind", "invoice_line.nope"])
    assert missing.exit_code == 1
    mermaid = runner.invoke(app, ["graph", "examples/northwind", "--format", "mermaid"])
    assert mermaid.exit_code == 0 and mermaid.stdout.startswith("flowchart LR")


def test_run_rejects_bad_usage_with_exit_2(tmp_path: Path) -> None:
    """A malformed --through or a missing data folder is a usage error, not a crash."""
    bad_period = runner.invoke(app, ["run", "examples/standard", "--data", str(tmp_path),
                                     "--out", str(tmp_path / "o"), "--through", "2025-3"])
    assert bad_period.exit_code == 2
    no_data = runner.invoke(app, ["run", "examples/standard", "--data", str(tmp_path / "x"),
                                  "--out", str(tmp_path / "o")])
    assert no_data.exit_code == 2


def test_test_fails_on_a_project_without_cases(tmp_path: Path) -> None:
    """`billsync test` with nothing to run is a failure, never a silent pass."""
    (tmp_path / "billsync.yaml").write_text(
        "name: x\nversion: '1'\nspec_format: 1\npacks: [schemas/entities, rules/billing]\n")
    result = runner.invoke(app, ["test", str(tmp_path)])
    assert result.exit_code == 1
    assert "0 passed, 0 failed" in result.output


def test_schemas_check_reports_stale_files(tmp_path: Path) -> None:
    """`schemas --check` exits 1 when the generated schemas differ from the code."""
    assert runner.invoke(app, ["schemas", "--check", "schemas"]).exit_code == 0
    assert runner.invoke(app, ["schemas", "--check", str(tmp_path)]).exit_code == 1


def test_an_internal_fault_is_a_message_not_a_traceback(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    """A bug of billsync itself ends in one line asking for a report, exit 70, no traceback
    and no Python class name (BILLSYNC_DEBUG=1 shows the traceback)."""
    import sys

    import engine.cli

    def broken(_: object) -> None:
        raise KeyError("plan")

    monkeypatch.setattr(engine, "compile", broken)
    monkeypatch.setattr(sys, "argv", ["billsync", "compile", "examples/standard",
                                      "--emit-python"])
    monkeypatch.delenv("BILLSYNC_DEBUG", raising=False)
    with pytest.raises(SystemExit) as stopped:
        engine.cli.main()
    assert stopped.value.code == 70
    message = capsys.readouterr().err
    assert "internal error" in message and "please report it" in message
    assert "Traceback" not in message and "KeyError" not in message


def test_version_prints_the_installed_version() -> None:
    import importlib.metadata

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"billsync {importlib.metadata.version('billsync')}"


def test_a_missing_pack_names_every_place_searched(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """'pack not found' lists the BILLSYNC_PACK_PATH folders and the shipped packs' place,
    and says that BILLSYNC_PACK_PATH can name more."""
    (tmp_path / "billsync.yaml").write_text(
        "name: p\nversion: 0.0.1\nspec_format: 1\npacks: [rules/nowhere]\n")
    monkeypatch.setenv("BILLSYNC_PACK_PATH", str(tmp_path / "packs"))
    result = runner.invoke(app, ["check", str(tmp_path)])
    assert result.exit_code == 1
    assert "pack 'rules/nowhere' not found" in result.output
    assert f"{tmp_path.name}/packs/rules/nowhere" in result.output  # shown relative or not
    assert "BILLSYNC_PACK_PATH" in result.output
