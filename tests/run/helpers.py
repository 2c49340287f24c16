"""Helpers for run tests: write records as JSONL, read outputs back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from tests.conftest import ROOT

NORTHWIND = ROOT / "examples" / "northwind"


def april_data(folder: Path) -> Path:
    """Northwind's data as April's pull leaves it: re-sent and new Harvest entries appended,
    the rate card replaced by its corrected snapshot (as `make demo` builds it)."""
    shutil.copytree(NORTHWIND / "data", folder)
    with (folder / "harvest_time_entries.jsonl").open("a", encoding="utf-8") as handle:
        handle.write((NORTHWIND / "april" / "harvest_time_entries.jsonl").read_text())
    shutil.copy(NORTHWIND / "april" / "rate_card_row.jsonl", folder / "rate_card_row.jsonl")
    return folder


def write_jsonl(folder: Path, name: str, rows: list[dict[str, Any]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{name}.jsonl").open("w") as handle:
        for row in rows:
            handle.write(json.dumps(row, default=str) + "\n")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def spec_case(path: str, index: int = 0) -> dict[str, Any]:
    """A given/expect case from a spec test file of the repository."""
    data = YAML(typ="safe").load((ROOT / path).read_text())
    case: dict[str, Any] = data["tests"][index]
    return case


def write_given(folder: Path, case: dict[str, Any]) -> None:
    for entity, rows in case["given"].items():
        write_jsonl(folder, entity, rows)
