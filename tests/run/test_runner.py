"""run: every record ends in exactly one place, counts reconcile, output is deterministic."""

import json
import random
import shutil
from pathlib import Path

import engine
from engine.compile.program import Program
from tests.conftest import ROOT
from tests.run.helpers import read_jsonl, spec_case, write_given, write_jsonl


def standard() -> Program:
    return engine.compile(engine.plan("examples/standard"))


def g07_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    write_given(folder, spec_case("examples/standard/tests/G07-eligibility.yaml"))
    return folder


def test_an_invalid_record_becomes_an_exception_and_the_run_goes_on(tmp_path: Path) -> None:
    """INVALID_RECORD names the field, file and line; valid records are still billed."""
    folder = g07_folder(tmp_path)
    with (folder / "time_entry.jsonl").open("a") as handle:
        handle.write('{"id": "BAD", "project_id": "P1", "role": "x", "work_date": "2025-13-01",'
                     ' "minutes": 5, "billable": true, "status": "approved"}\n')
        handle.write('{"id": "BAD2", "project_id": "P1", "role": "x", "work_date": "2025-03-01",'
                     ' "minutes": -5, "billable": true, "status": "approved"}\n')
        handle.write("{not json\n")
    with (folder / "time_entry.jsonl").open("ab") as binary:
        binary.write(b'{"id": "\xff"}\n')
    result = engine.run(standard(), folder, through="2025-03")
    invalid = [e for e in result.outputs["exception"] if e["code"] == "INVALID_RECORD"]
    assert [(e["field"], e["line"], e["file"]) for e in invalid] == [
        ("work_date", 5, "time_entry.jsonl"), ("minutes", 6, "time_entry.jsonl"),
        ("(line)", 7, "time_entry.jsonl"), ("(line)", 8, "time_entry.jsonl")]
    assert "not UTF-8" in invalid[3]["message"]
    assert "time_entry.jsonl:5: field 'work_date'" in invalid[0]["message"]
    assert len(result.outputs["invoice_line"]) == 1
    tally = result.tallies["time_entry"]
    assert (tally.received, tally.invalid, tally.routed) == (8, 4, 4)
    assert result.reconciles


def test_duplicates_are_processed_once_and_higher_revisions_replace(tmp_path: Path) -> None:
    """The same id and revision is one record; a higher revision wins in any order."""
    folder = g07_folder(tmp_path)
    rows = read_jsonl(folder / "time_entry.jsonl")
    first = dict(rows[0], revision=1, billable_minutes=None)
    again = dict(first)
    revised = dict(first, revision=2, minutes=300)
    for order in ([first, again, revised], [revised, first, again]):
        write_jsonl(folder, "time_entry", order)
        result = engine.run(standard(), folder, through="2025-03")
        [line] = result.outputs["invoice_line"]
        assert line["quantity"] == 5 and line["source_ids"] == ["A"]
        tally = result.tallies["time_entry"]
        assert (tally.received, tally.duplicate, tally.superseded, tally.routed) == (3, 1, 1, 1)
        assert result.reconciles


def test_conflicting_duplicates_resolve_the_same_in_any_order(tmp_path: Path) -> None:
    """Same id and revision with different content: one is kept, deterministically, and a
    DUPLICATE_CONFLICT warning says so; counts still reconcile."""
    folder = g07_folder(tmp_path)
    rows = read_jsonl(folder / "time_entry.jsonl")
    one = dict(rows[0], revision=3, billable_minutes=None, minutes=60)
    other = dict(one, minutes=90)
    kept = []
    for order in ([one, other], [other, one]):
        write_jsonl(folder, "time_entry", order)
        result = engine.run(standard(), folder, through="2025-03")
        [line] = result.outputs["invoice_line"]
        kept.append(line["quantity"])
        [conflict] = [e for e in result.outputs["exception"] if e["code"] == "DUPLICATE_CONFLICT"]
        assert conflict["severity"] == "warning"
        assert result.tallies["time_entry"].duplicate == 1 and result.reconciles
    assert kept[0] == kept[1]


def test_output_is_byte_identical_across_runs_and_input_order(tmp_path: Path) -> None:
    """Same inputs and spec version give the same bytes, whatever order the lines come in."""
    data = ROOT / "examples" / "northwind" / "data"
    program = engine.compile(engine.plan("examples/northwind"))
    engine.run(program, data, tmp_path / "a", "2025-03")
    engine.run(program, data, tmp_path / "b", "2025-03")
    shuffled = tmp_path / "shuffled"
    shutil.copytree(data, shuffled)
    for path in shuffled.glob("*.jsonl"):
        lines = path.read_text().splitlines(keepends=True)
        random.Random(1).shuffle(lines)
        path.write_text("".join(lines))
    result = engine.run(program, shuffled, tmp_path / "c", "2025-03")
    for path in sorted((tmp_path / "a").rglob("*.jsonl")):
        relative = path.relative_to(tmp_path / "a")
        assert path.read_bytes() == (tmp_path / "b" / relative).read_bytes()
        if relative.name != "exception.jsonl":
            assert path.read_bytes() == (tmp_path / "c" / relative).read_bytes(), relative
    # Only INVALID_RECORD exceptions name an input line (a shuffle moves it, and a line that
    # is not JSON has no id but its place); every other exception is identical.
    def strip(path: Path) -> list[dict[str, object]]:
        return [e for e in read_jsonl(path) if e["code"] != "INVALID_RECORD"]
    assert strip(tmp_path / "c" / "exception.jsonl") == strip(tmp_path / "a" / "exception.jsonl")
    assert len(read_jsonl(tmp_path / "c" / "exception.jsonl")) == len(
        read_jsonl(tmp_path / "a" / "exception.jsonl"))
    assert result.reconciles


def test_the_run_summary_reconciles_per_input(tmp_path: Path) -> None:
    """run_summary.json counts, per input, received = every place a record can end."""
    program = engine.compile(engine.plan("examples/northwind"))
    engine.run(program, ROOT / "examples" / "northwind" / "data", tmp_path, "2025-03")
    summary = json.loads((tmp_path / "run_summary.json").read_text())
    assert summary["reconciles"] is True
    harvest = summary["inputs"]["harvest_time_entries"]
    ends = (harvest["invalid"] + harvest["duplicate"] + harvest["superseded"]
            + sum(harvest["excluded"].values()) + harvest["excepted"] + harvest["routed"])
    assert ends == harvest["received"] == 490
    assert (harvest["invalid"], harvest["duplicate"], harvest["superseded"]) == (3, 1, 1)
    assert summary["spec_version"] == program.plan.spec_version


def test_through_leaves_later_periods_for_a_later_run(tmp_path: Path) -> None:
    """--through 2025-01 bills January only; later entries are excluded as after_through."""
    program = engine.compile(engine.plan("examples/northwind"))
    result = engine.run(program, ROOT / "examples" / "northwind" / "data", None, "2025-01")
    assert {line["period"] for line in result.outputs["invoice_line"]} == {"2025-01"}
    assert result.tallies["harvest_time_entries"].excluded["after_through"] > 0
    assert result.reconciles


def test_every_output_record_carries_the_spec_version(tmp_path: Path) -> None:
    """Outputs are stamped with the Plan's hash and the id of the rule that made them."""
    program = standard()
    result = engine.run(program, g07_folder(tmp_path), through="2025-03")
    for entity in ("invoice_line", "invoice", "unbilled_item"):
        for row in result.outputs[entity]:
            assert row["spec_version"] == program.plan.spec_version
            assert row["rule_id"]


def test_records_no_rule_reads_are_unrouted_exceptions(tmp_path: Path) -> None:
    """An event entity no rule reads is not silently dropped: each of its records is an
    UNROUTED exception and the counts reconcile (a project that prices time only)."""
    write_jsonl(tmp_path, "expense", [
        {"id": "X1", "project_id": "P1", "date": "2025-03-02", "amount": "12.50",
         "currency": "USD", "category": "travel", "billable": True, "status": "approved"}])
    result = engine.run(engine.compile(engine.plan("tests/fixtures/failing")), tmp_path)
    [unrouted] = [e for e in result.outputs["exception"] if e["code"] == "UNROUTED"]
    assert (unrouted["source_entity"], unrouted["source_id"]) == ("expense", "X1")
    assert result.tallies["expense"].excepted == 1 and result.reconciles


def test_every_decimal_field_is_written_as_a_decimal_string(tmp_path: Path) -> None:
    """Money and rates are strings in the output files, never JSON numbers (an int literal
    in a rule filling a decimal field included)."""
    program = engine.compile(engine.plan("examples/northwind"))
    engine.run(program, ROOT / "examples" / "northwind" / "data", tmp_path, "2025-03")

    def check(value: object, field: object) -> None:
        kind = getattr(field, "type", None)
        if value is None:
            return
        if kind == "decimal":
            assert isinstance(value, str), (getattr(field, "name", ""), value)
        elif kind == "record" and isinstance(value, dict):
            for nested in field.fields:  # type: ignore[attr-defined]
                check(value.get(nested.name), nested)
        elif kind == "list" and isinstance(value, list):
            for item in value:
                check(item, field.item)  # type: ignore[attr-defined]
    for entity in program.plan.entities:
        if entity.kind == "output":
            for row in read_jsonl(tmp_path / f"{entity.name}.jsonl"):
                for field in entity.fields:
                    check(row[field.name], field)
