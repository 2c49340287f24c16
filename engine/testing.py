"""`billsync test`: given/expect cases kept beside the spec, run through the compiled program.

Each expected record must match a distinct output record on every field it lists (amounts
compare as decimals). A failure prints a keyed, field-level diff against the closest output
record; an expectation met by an empty output is a failure, never a pass.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from engine.compile import runtime
from engine.compile.program import Program
from engine.compile.runtime import text
from engine.load.project import Loaded
from engine.run.runner import Runner
from engine.spec.models import SpecTestCase, SpecTestFile


@dataclass
class CaseResult:
    file: str
    line: int
    name: str
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def _normal(value: Any) -> Any:
    """Values compare as decimals when both sides are numbers, else as canonical text."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_normal(v) for v in value]
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    return text(value)


def _mismatches(expected: dict[str, Any], actual: dict[str, Any], prefix: str = "") -> list[str]:
    """Fields of `expected` that `actual` does not match; nested records match partially
    too (only the fields listed count)."""
    found = []
    for name, want in expected.items():
        got = actual.get(name)
        if name not in actual:
            found.append(f"{prefix}{name}: no such field")
        elif isinstance(want, dict) and isinstance(got, dict):
            found += _mismatches(want, got, f"{prefix}{name}.")
        elif _normal(want) != _normal(got):
            found.append(f"{prefix}{name}: expected {_show(want)}, got {_show(got)}")
    return found


def _show(value: Any) -> str:
    return json.dumps(_normal(value), default=str)


def compare(entity: str, expected: list[dict[str, Any]], actual: list[dict[str, Any]]
            ) -> list[str]:
    """Failures of matching each expected record to a distinct actual record."""
    if expected and not actual:
        return [f"{entity}: expected {len(expected)} record(s), the run produced none"]
    free = list(range(len(actual)))
    failures = []
    for want in expected:
        match = next((i for i in free if not _mismatches(want, actual[i])), None)
        if match is not None:
            free.remove(match)
            continue
        pool = free or list(range(len(actual)))
        closest = min(pool, key=lambda i: len(_mismatches(want, actual[i])))
        diff = "; ".join(_mismatches(want, actual[closest]))
        label = actual[closest].get("id", f"#{closest}")
        failures.append(f"{entity}: no record matches {_show(want)}\n"
                        f"    closest is {label}: {diff}")
    return failures


def absent(entity: str, unwanted: list[dict[str, Any]], actual: list[dict[str, Any]]
            ) -> list[str]:
    return [f"{entity}: found a record that must not be there: {_show(u)}"
            for u in unwanted if any(not _mismatches(u, a) for a in actual)]


def _input_file(program: Program, entity: str) -> str:
    """Canonical records go to <entity>.jsonl; vendor records to the input their mapping reads."""
    for item in program.plan.inputs:
        mapping = program.plan.mapping(item.mapping)
        if mapping is not None and mapping.source == entity:
            return item.file
    return f"{entity}.jsonl"


def _unknown_given(program: Program, case: SpecTestCase) -> list[str]:
    """Given records may only be of entities the spec declares (the entity names the file
    they are written to)."""
    known = {entity.name for entity in program.plan.entities}
    return [f"given: '{runtime.shown(entity)}' is not an entity of this spec"
            for entity in case.given if entity not in known]


def _write_given(program: Program, case: SpecTestCase, folder: Path) -> None:
    for entity, rows in case.given.items():
        path = folder / _input_file(program, entity)  # a relative path without '..' (E104)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, default=_plain_json) + "\n")


def _plain_json(value: Any) -> str:
    if isinstance(value, (dt.date, Decimal)):
        return str(value)
    raise TypeError(type(value).__name__)


def run_case(program: Program, loaded: Loaded[SpecTestFile], index: int) -> CaseResult:
    case = loaded.spec.tests[index]
    span = loaded.span("tests", index)
    result = CaseResult(span.file, span.line, case.name)
    if not any(case.expect.values()) and not case.absent:
        result.failures.append("the case expects nothing: add records under expect")
        return result
    result.failures += _unknown_given(program, case)
    if result.failures:
        return result
    with tempfile.TemporaryDirectory(prefix="billsync-test-") as folder:
        _write_given(program, case, Path(folder))
        run = Runner(program, Path(folder), case.through).run()
    for entity, expected in case.expect.items():
        result.failures += compare(entity, expected, run.outputs.get(entity, []))
    for entity, unwanted in case.absent.items():
        result.failures += absent(entity, unwanted, run.outputs.get(entity, []))
    if not run.reconciles:
        result.failures.append("input counts do not reconcile: " + json.dumps(run.summary()))
    return result


def run_tests(program: Program, files: list[Loaded[SpecTestFile]]) -> list[CaseResult]:
    return [run_case(program, loaded, i) for loaded in files for i in range(len(loaded.spec.tests))]
