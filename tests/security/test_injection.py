"""No spec text becomes code: each place issue 8 found pasted into generated source, tried
through the command line (check, compile --emit-python, run, test) with a canary file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from tests.security.project import (
    TIME_ENTRY,
    record_rule,
    time_entry_mapping,
    unbilled_rule,
    write_project,
)

# The issue's own example, then the same shell call closing other quotes and lines.
SHELL = "rt.__builtins__['__import__']('os').system('touch PWNED')"
PAYLOADS = (f'x"""; {SHELL}; """', f"x'; {SHELL}; '", f"x\n{SHELL}\n#", f"x']}}; {SHELL}; {{'")
runner = CliRunner()


def _q(text: str) -> str:
    return json.dumps(text)


def _manifest(root: Path, name: str = "inject", version: str = "1.0") -> None:
    (root / "billsync.yaml").write_text(
        f"name: {_q(name)}\nversion: {_q(version)}\nspec_format: 1\n"
        "packs: [schemas/entities, ./spec]\ntests: [tests]\n", encoding="utf-8")


def _group_rule(by: str, aggregate: str) -> str:
    return f"""pack: grouped
rules:
  - id: per_entry
    for: time_entry
    as: entry
    steps:
      - emit:
          probe_item: {{id: entry.id, minutes: entry.minutes}}
        stop: true
  - id: per_id
    group: probe_item
    as: s
    by:
      {_q(by)}: s.id
    aggregate:
      {_q(aggregate)}: sum(s.minutes)
    emit:
      unbilled_item:
        id: {_q(by)}
        source_id: {_q(by)}
        source_entity: "'time_entry'"
        contract_line_id: "'none'"
        period: "'2025-01'"
        status: "'held'"
        minutes: {_q(aggregate)}
        reason: "'grouped'"
"""


def _after_record(field: str, kind: str = "vendor") -> str:
    """An entity (probe_row, vendor; or probe_canonical, reference) whose field `field`
    comes right after a record field."""
    name = "probe_row" if kind == "vendor" else "probe_canonical"
    return f"""entity: {name}
kind: {kind}
key: [id]
fields:
  id: string
  nested: {{type: record, fields: {{a: string}}}}
  {field}: string?
"""


EXCLUDE_ALL = record_rule("      - exclude: probed\n")


def _vectors(payload: str) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
    """Per place: (manifest fields, spec files) with the payload at that place."""
    plain_rule = {"rule.yaml": unbilled_rule({})}
    return {
        "manifest name": ({"name": payload}, plain_rule),
        "manifest version": ({"version": payload}, plain_rule),
        "rule description": ({}, {"rule.yaml": unbilled_rule({}).replace(
            "  - id: probe\n", f"  - id: probe\n    description: {_q(payload)}\n")}),
        "let key": ({}, {"rule.yaml": record_rule(
            f"      - let:\n          {_q(payload)}: entry.minutes\n      - exclude: x\n")}),
        "require key": ({}, {"rule.yaml": record_rule(
            f"      - require:\n          {_q(payload)}: entry.cost_amount\n"
            "        else: {exclude: no_cost}\n      - exclude: x\n")}),
        "group by key": ({}, {"rule.yaml": _group_rule(payload, "total")}),
        "group aggregate key": ({}, {"rule.yaml": _group_rule("s_id", payload)}),
        "mapping let key": ({}, {"vendor.yaml": _after_record("x"),
                                 "mapping.yaml": time_entry_mapping(
                                     "probe_row", let={_q(payload): "src.id"}),
                                 "rule.yaml": EXCLUDE_ALL}),
        "vendor field after a record field": ({}, {
            "vendor.yaml": _after_record(_q(payload)),
            "mapping.yaml": time_entry_mapping("probe_row", id_from="mine",
                                               let={"mine": "src.id"}),
            "rule.yaml": EXCLUDE_ALL}),
        "canonical field after a record field": ({}, {
            "canonical.yaml": _after_record(_q(payload), "reference"),
            "rule.yaml": EXCLUDE_ALL}),
        "pack file name": ({}, {f"{payload.replace('/', '_')}.yaml": unbilled_rule({})}),
    }


CASES = [(place, payload) for payload in PAYLOADS for place in _vectors(payload)]


def _project(root: Path, manifest: dict[str, str], files: dict[str, str]) -> Path:
    write_project(root, files)
    _manifest(root, **manifest)
    (root / "tests").mkdir()
    (root / "tests" / "cases.yaml").write_text(
        f"tests:\n  - name: one\n    given:\n      time_entry: [{TIME_ENTRY.strip()}]\n"
        "    expect:\n      exception: []\n", encoding="utf-8")
    data = root / "data"
    data.mkdir()
    (data / "time_entry.jsonl").write_text(TIME_ENTRY, encoding="utf-8")
    return root


@pytest.mark.parametrize(("place", "payload"), CASES,
                         ids=[f"{place}-{n % len(PAYLOADS)}" for n, (place, _) in
                              enumerate(CASES)])
def test_spec_text_never_runs(place: str, payload: str, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Python in any of these places is either refused with a diagnostic or kept as data:
    check, compile --emit-python, run and test never create the canary, and never end in
    a traceback."""
    monkeypatch.chdir(tmp_path)
    manifest, files = _vectors(payload)[place]
    project = _project(tmp_path / "project", manifest, files)
    commands = (["check", str(project)], ["compile", str(project), "--emit-python"],
                ["run", str(project), "--data", str(project / "data"), "--out",
                 str(tmp_path / "out")], ["test", str(project)])
    for command in commands:
        result = runner.invoke(app, command)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            command, result.exception)
        assert result.exit_code in (0, 1), (command, result.output)
        assert "Traceback" not in result.output
    assert not (tmp_path / "PWNED").exists()


def test_the_injection_project_is_sound_without_a_payload(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """With a plain word in every place, every vector's project checks and runs, so each
    payload is tried where it would otherwise be accepted."""
    monkeypatch.chdir(tmp_path)
    for number, (place, (manifest, files)) in enumerate(_vectors("word").items()):
        project = _project(tmp_path / f"p{number}", manifest, files)
        result = runner.invoke(app, ["check", str(project)])
        assert result.exit_code == 0, (place, result.output)
