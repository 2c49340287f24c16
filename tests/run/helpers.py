"""Helpers for run tests: write records as JSONL, read outputs back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from tests.conftest import ROOT


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
