"""A small project written into a temporary folder, for the security tests: the shipped
canonical entities plus the rule, entity and mapping files a test gives."""

from __future__ import annotations

from pathlib import Path

import engine

MANIFEST = """name: {name}
version: 0.0.1
spec_format: 1
packs: [schemas/entities, ./spec]
tests: []
"""
TIME_ENTRY = ('{"id": "T1", "project_id": "P1", "role": "r", "work_date": "2025-01-02", '
              '"minutes": 60, "billable": true, "status": "approved"}\n')


def write_project(root: Path, files: dict[str, str], name: str = "mini") -> Path:
    """A project folder holding billsync.yaml and `files` under spec/ (name -> YAML)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "billsync.yaml").write_text(MANIFEST.format(name=name), encoding="utf-8")
    for file_name, text in files.items():
        path = root / "spec" / file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def record_rule(steps: str) -> str:
    """A rule pack holding one record rule, `probe`, over time entries (as `entry`), with
    the given steps (YAML, indented for the steps list)."""
    return f"""pack: probe
rules:
  - id: probe
    for: time_entry
    as: entry
    steps:
{steps}"""


def unbilled_rule(fields: dict[str, str], when: str | None = None) -> str:
    """A rule emitting one unbilled_item per time entry, with the given field expressions
    (the rest filled with plain values)."""
    values = {"id": "entry.id", "source_id": "entry.id", "source_entity": "'time_entry'",
              "contract_line_id": "'none'", "period": "'2025-01'", "status": "'held'",
              "reason": "'test'", **fields}
    lines = "\n".join(f"            {k}: {v!r}" for k, v in values.items())
    guard = f"      - when: {when!r}\n        exclude: guarded_out\n" if when else ""
    return record_rule(f"""{guard}      - emit:
          unbilled_item:
{lines}
        stop: true
""")


def time_entry_mapping(source: str, id_from: str = "src.id", minutes: str = '"60"',
                       let: dict[str, str] | None = None) -> str:
    """An inbound mapping `probe_in` from vendor entity `source` to time_entry; id_from,
    minutes and the let entries (key -> expression) are written as given (YAML text)."""
    lets = "".join(f"  {key}: {value}\n" for key, value in (let or {}).items())
    return f"""mapping: probe_in
vendor: probe
direction: inbound
source: {source}
target: time_entry
{"let:" + chr(10) + lets if lets else ""}fields:
  id: {id_from}
  project_id: "'P1'"
  role: "'r'"
  work_date: date('2025-01-02')
  minutes: {minutes}
  billable: "true"
  status: "'approved'"
"""


def run_one(project: Path, data: Path, line: str = TIME_ENTRY) -> engine.RunResult:
    data.mkdir(parents=True, exist_ok=True)
    (data / "time_entry.jsonl").write_text(line, encoding="utf-8")
    return engine.run(engine.compile(engine.plan(project)), data)
