"""Paths stay inside: a run reads only regular files inside its data folder, says which
declared input is missing, and never mixes its outputs with an earlier run's or deletes
files that are not a run's."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

import engine
from engine.cli import app
from engine.errors import RunError
from engine.plan.model import InputIR
from engine.run import paths
from tests.conftest import ROOT
from tests.run.helpers import read_jsonl, spec_case, write_given

runner = CliRunner()
NORTHWIND = ROOT / "examples" / "northwind"
HARVEST = "harvest_time_entries.jsonl"


def _project(tmp_path: Path, file: str = HARVEST, optional: bool = False) -> Path:
    """Northwind's manifest with its one input declared as given."""
    text = (NORTHWIND / "billsync.yaml").read_text().replace(
        f"  - file: {HARVEST}\n",
        f"  - file: {json.dumps(file)}\n" + ("    optional: true\n" if optional else ""))
    project = tmp_path / "project"
    project.mkdir()
    (project / "billsync.yaml").write_text(text.replace("tests: [tests]", "tests: []"))
    return project


def _data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(NORTHWIND / "data", data)
    return data


def _run(project: Path, data: Path, out: Path) -> Result:
    return runner.invoke(app, ["run", str(project), "--data", str(data), "--out", str(out),
                               "--through", "2025-03", "-q"])


def _outside(tmp_path: Path) -> Path:
    """A canary outside the data folder: valid Harvest records a run must never read."""
    canary = tmp_path / "outside.jsonl"
    shutil.copy(NORTHWIND / "data" / HARVEST, canary)
    return canary


def _e502(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if "error[E502]" in line]


# -- inputs: confined to the data folder ----------------------------------------------------

@pytest.mark.parametrize("file", ["/etc/passwd", "../outside.jsonl", "a/../../outside.jsonl",
                                  ".hidden.jsonl"])
def test_a_manifest_input_outside_the_data_folder_fails_check(tmp_path: Path, file: str) -> None:
    """An absolute path or one with '..' in `file:` is E104 at its span: no command that
    reads or writes inputs (check, run, test) gets past loading."""
    project = _project(tmp_path, file)
    result = runner.invoke(app, ["check", str(project)])
    assert result.exit_code == 1
    assert "error[E104]" in result.output and "billsync.yaml:18:11" in result.output


def test_billsync_test_cannot_append_to_a_file_outside(tmp_path: Path) -> None:
    """`billsync test` writes each case's inputs into a scratch folder under the declared
    names; a name climbing out of it is refused, so the canary is never created."""
    project = _project(tmp_path, "../../canary.jsonl")
    shutil.copytree(NORTHWIND / "tests", project / "tests")
    (project / "billsync.yaml").write_text(
        (project / "billsync.yaml").read_text().replace("tests: []", "tests: [tests]"))
    result = runner.invoke(app, ["test", str(project)])
    assert result.exit_code == 1
    assert not list(tmp_path.rglob("canary.jsonl"))


@pytest.mark.parametrize("file", ["/abs/outside.jsonl", "../outside.jsonl", "x/../../y.jsonl"])
def test_the_resolver_refuses_what_the_manifest_pattern_would(tmp_path: Path, file: str) -> None:
    """Security in the mechanism: a Plan made without the manifest's pattern still cannot
    read outside the data folder (E502 from the one resolver)."""
    plan = engine.plan(NORTHWIND)
    plan = dataclasses.replace(plan, inputs=(InputIR(file, "harvest_time_entry"),))
    with pytest.raises(RunError) as raised:
        paths.input_files(plan, NORTHWIND / "data")
    assert [d.code for d in raised.value.diagnostics] == ["E502"]


def test_a_run_with_an_unsafe_input_stops_before_reading_anything(tmp_path: Path) -> None:
    """engine.run itself (not only the command) refuses: the canary outside is never read,
    and there is no output folder."""
    canary = _outside(tmp_path)
    plan = engine.plan(NORTHWIND)
    plan = dataclasses.replace(plan, inputs=(InputIR(str(canary), "harvest_time_entry"),))
    with pytest.raises(RunError):
        engine.run(engine.compile(plan), _data(tmp_path), tmp_path / "out", "2025-03")
    assert not (tmp_path / "out").exists()


def test_a_symlink_out_of_the_data_folder_is_refused(tmp_path: Path) -> None:
    """A declared input or a canonical <entity>.jsonl that is a symbolic link to a file
    outside the data folder is E502, each named; nothing is read, nothing written."""
    canary, data = _outside(tmp_path), _data(tmp_path)
    (data / HARVEST).unlink()
    (data / HARVEST).symlink_to(canary)
    (data / "customer.jsonl").unlink()
    (data / "customer.jsonl").symlink_to(tmp_path / "customers-elsewhere.jsonl")
    result = _run(_project(tmp_path), data, tmp_path / "out")
    assert result.exit_code == 1, result.output
    errors = _e502(result)
    assert any(HARVEST in e and "outside the data folder" in e for e in errors)
    assert any("customer.jsonl" in e and "outside the data folder" in e for e in errors)
    assert not (tmp_path / "out").exists()


def test_a_symlink_inside_the_data_folder_is_followed(tmp_path: Path) -> None:
    """A link that stays inside the data folder is an ordinary input."""
    data = _data(tmp_path)
    (data / HARVEST).rename(data / "real.jsonl")
    (data / HARVEST).symlink_to(data / "real.jsonl")
    result = _run(_project(tmp_path), data, tmp_path / "out")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "run_summary.json").read_text())
    assert summary["inputs"]["harvest_time_entries"]["received"] == 490


def test_a_folder_where_an_input_file_should_be_is_an_error(tmp_path: Path) -> None:
    """A folder named like a declared input or a canonical file is E502 ('a folder')."""
    data = _data(tmp_path)
    (data / HARVEST).unlink()
    (data / HARVEST).mkdir()
    (data / "customer.jsonl").unlink()
    (data / "customer.jsonl").mkdir()
    result = _run(_project(tmp_path), data, tmp_path / "out")
    assert result.exit_code == 1, result.output
    errors = _e502(result)
    assert len(errors) == 2 and all("is a folder, not a file" in e for e in errors)


def test_an_unreadable_input_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file the run cannot open is E502 with the system's reason. (Tests run as root,
    whom file modes do not stop: opening is refused here the way the system would.)"""
    real_open = os.open

    def refusing(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if Path(path).name == HARVEST:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing)
    result = _run(_project(tmp_path), _data(tmp_path), tmp_path / "out")
    assert result.exit_code == 1, result.output
    [error] = _e502(result)
    assert HARVEST in error and "cannot be read: Permission denied" in error


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root reads a file whatever its mode; the test above covers it")
def test_a_file_without_read_permission_is_an_error(tmp_path: Path) -> None:
    """chmod 000 on a declared input: E502, cannot be read."""
    data = _data(tmp_path)
    (data / HARVEST).chmod(0)
    result = _run(_project(tmp_path), data, tmp_path / "out")
    assert result.exit_code == 1, result.output
    assert any("cannot be read" in e for e in _e502(result))


def test_a_missing_declared_input_is_an_error_naming_it(tmp_path: Path) -> None:
    """A declared input that is not there stops the run (it used to 'reconcile' with no
    time entries): E502 at the manifest line, naming the file and the data folder, with a
    hint."""
    data = _data(tmp_path)
    (data / HARVEST).unlink()
    result = _run(_project(tmp_path), data, tmp_path / "out")
    assert result.exit_code == 1, result.output
    [error] = _e502(result)
    assert "billsync.yaml:18:11" in error and f"input file '{HARVEST}' is missing" in error
    assert str(data) in error and "declare the input `optional: true`" in result.output
    assert not (tmp_path / "out").exists()


def test_an_optional_declared_input_may_be_missing(tmp_path: Path) -> None:
    """`optional: true`: a missing file is no records, and the run reconciles."""
    data = _data(tmp_path)
    (data / HARVEST).unlink()
    result = _run(_project(tmp_path, optional=True), data, tmp_path / "out")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "run_summary.json").read_text())
    assert summary["reconciles"] and summary["inputs"]["harvest_time_entries"]["received"] == 0


def test_every_input_problem_is_listed_at_once(tmp_path: Path) -> None:
    """A missing declared input, a folder and a link out: three E502 in one run."""
    data = _data(tmp_path)
    (data / HARVEST).unlink()
    (data / "project.jsonl").unlink()
    (data / "project.jsonl").mkdir()
    (data / "customer.jsonl").unlink()
    (data / "customer.jsonl").symlink_to(_outside(tmp_path))
    result = _run(_project(tmp_path), data, tmp_path / "out")
    assert result.exit_code == 1
    assert len(_e502(result)) == 3


# -- outputs: never mixed, never someone else's ---------------------------------------------

def _g01(tmp_path: Path) -> Path:
    data = tmp_path / "g01"
    write_given(data, spec_case("examples/standard/tests/G01-tm-rate-change.yaml"))
    return data


def test_a_run_replaces_every_file_of_an_earlier_run(tmp_path: Path) -> None:
    """Northwind, its ledger and wip into --out, then another project into the same folder:
    only the second run's files remain (no stale payload, ledger or CSV)."""
    out = tmp_path / "out"
    assert _run(NORTHWIND, NORTHWIND / "data", out).exit_code == 0
    for command in (["ledger", str(out)], ["wip", str(out)]):
        assert runner.invoke(app, command).exit_code == 0
    assert (out / "payloads" / "xero_invoice.jsonl").exists()
    second = _run(ROOT / "examples" / "standard", _g01(tmp_path), out)
    assert second.exit_code == 0, second.output
    left = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    assert left == sorted(["balance.jsonl", "exception.jsonl", "invoice.jsonl",
                           "invoice_line.jsonl", "journal_entry.jsonl", "revenue_line.jsonl",
                           "unbilled_item.jsonl", "run_summary.json", "run_inputs.json"])
    assert json.loads((out / "run_summary.json").read_text())["project"] == "standard"
    assert {r["contract_line_id"] for r in read_jsonl(out / "invoice_line.jsonl")} == {"L1"}


def test_a_folder_that_is_not_a_runs_output_is_refused_and_left_untouched(
        tmp_path: Path) -> None:
    """--out holding a user's files and no run_summary.json: exit 2, nothing deleted,
    nothing added."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    (out / "invoice.jsonl").write_text("not billsync's\n")
    result = _run(ROOT / "examples" / "standard", _g01(tmp_path), out)
    assert result.exit_code == 2, result.output
    assert "error[E503]" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["invoice.jsonl", "notes.txt"]
    assert (out / "notes.txt").read_text() == "my notes"


def test_an_out_folder_holding_the_data_is_refused(tmp_path: Path) -> None:
    """--out that contains the data folder would lose it on replacement: exit 2."""
    data = _g01(tmp_path / "out")
    (tmp_path / "out" / "run_summary.json").write_text("{}")
    result = _run(ROOT / "examples" / "standard", data, tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert (data / "time_entry.jsonl").exists()


def test_a_failed_write_leaves_the_earlier_output_as_it_was(tmp_path: Path) -> None:
    """Outputs are staged: when writing fails, the folder keeps the earlier run's files
    and no staging folder is left behind."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "run_summary.json").write_text('{"project": "earlier"}')
    (out / "invoice.jsonl").write_text("earlier\n")
    with pytest.raises(OSError), paths.replacing(out) as staging:
        (staging / "invoice.jsonl").write_text("new\n")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert sorted(p.name for p in out.iterdir()) == ["invoice.jsonl", "run_summary.json"]
    assert (out / "invoice.jsonl").read_text() == "earlier\n"


def test_an_interrupted_staging_folder_does_not_block_the_next_run(tmp_path: Path) -> None:
    """A staging folder left by a run that was killed is billsync's own: the next run into
    that folder proceeds and removes it."""
    out = tmp_path / "out"
    (out / f"{paths.STAGING}dead").mkdir(parents=True)
    result = _run(ROOT / "examples" / "standard", _g01(tmp_path), out)
    assert result.exit_code == 0, result.output
    assert not list(out.glob(f"{paths.STAGING}*"))
