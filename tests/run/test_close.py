"""run: a run without --through closes through the period of the latest dated input record;
it is never open-ended."""

from __future__ import annotations

from pathlib import Path

import pytest

import engine
from engine.errors import RunError
from tests.security.project import TIME_ENTRY, record_rule, write_project

NORTHWIND = Path("examples/northwind")
EXCLUDE_ALL = record_rule("      - exclude: probed\n")


def test_northwind_without_through_closes_where_its_data_ends() -> None:
    """Northwind's latest work is in March 2025: the run closes 2025-03 and its outputs are
    those of --through 2025-03 (it used to run to 9999 for 11 minutes)."""
    program = engine.compile(engine.plan(NORTHWIND))
    derived = engine.run(program, NORTHWIND / "data")
    given = engine.run(program, NORTHWIND / "data", through="2025-03")
    assert derived.through == "2025-03" and derived.derived_through
    assert derived.summary()["through_from"] == "latest dated input"
    assert not given.derived_through
    assert derived.outputs == given.outputs


def test_a_milestone_is_dated_by_its_achievement(tmp_path: Path) -> None:
    """A milestone counts by the latest of its achieved and accepted dates, not its due
    date (a plan, not an event)."""
    project = write_project(tmp_path / "p", {"rule.yaml": EXCLUDE_ALL})
    data = tmp_path / "data"
    data.mkdir()
    (data / "time_entry.jsonl").write_text(TIME_ENTRY)
    (data / "milestone.jsonl").write_text(
        '{"id": "M1", "contract_line_id": "L1", "name": "Go-live", "amount": "10",'
        ' "due_date": "2026-12-31", "status": "accepted", "achieved_date": "2025-03-30",'
        ' "accepted_date": "2025-04-02"}\n')
    result = engine.run(engine.compile(engine.plan(project)), data)
    assert result.through == "2025-04"


def test_a_run_with_nothing_dated_asks_for_through(tmp_path: Path) -> None:
    """No dated input and no --through: E504, never a run to year 9999."""
    project = write_project(tmp_path / "p", {"rule.yaml": EXCLUDE_ALL})
    data = tmp_path / "data"
    data.mkdir()
    with pytest.raises(RunError) as stopped:
        engine.run(engine.compile(engine.plan(project)), data)
    assert [d.code for d in stopped.value.diagnostics] == ["E504"]


def test_dated_by_names_date_fields(tmp_path: Path) -> None:
    """`dated_by` on a field that is not a date or a date-time is E205; on no field, E204."""
    entity = ("entity: probe_event\nkind: event\nkey: [id]\ndated_by: [{field}]\n"
              "fields:\n  id: string\n  day: date\n  note: string\n")
    for field, code in (("note", "E205"), ("nothing", "E204"), ("day", None)):
        project = write_project(tmp_path / field, {"event.yaml": entity.format(field=field)})
        codes = [d.code for d in engine.build(project).diagnostics if d.is_error]
        assert codes == ([code] if code else []), (field, codes)
