"""Spec files: JSON Schemas generated from the models are fresh, referenced and agree."""

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML

import engine
from engine.spec import jsonschema
from tests.conftest import ROOT

SPEC_FOLDERS = ("schemas/entities", "mappings", "rules", "examples", "connectors")
POINTER = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.MULTILINE)


def spec_files() -> list[Path]:
    files = []
    for folder in SPEC_FOLDERS:
        files += sorted((ROOT / folder).rglob("*.yaml")) if (ROOT / folder).exists() else []
    return files


def test_generated_schemas_are_fresh() -> None:
    """schemas/spec and schemas/records match what the code generates (make schemas)."""
    entities = engine.plan("examples/standard").entities
    assert jsonschema.stale(entities, ROOT / "schemas") == []


@pytest.mark.parametrize("path", spec_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_spec_files_point_at_their_schema_and_validate(path: Path) -> None:
    """Each spec file names its JSON Schema for editors, and that schema accepts it."""
    text = path.read_text()
    match = POINTER.search(text)
    assert match, f"{path.relative_to(ROOT)} has no yaml-language-server $schema line"
    schema_path = (path.parent / match.group(1)).resolve()
    assert schema_path.exists(), schema_path
    schema = json.loads(schema_path.read_text())
    data = json.loads(json.dumps(YAML(typ="safe").load(text), default=str))
    errors = [f"{list(e.path)}: {e.message}" for e in
              Draft202012Validator(schema).iter_errors(data)]
    assert errors == []


def test_the_json_schema_rejects_what_check_rejects() -> None:
    """One source of truth: an unknown key fails both the schema and `billsync check`."""
    schema = jsonschema.spec_schemas()["rule_pack.schema.json"]
    errors = list(Draft202012Validator(schema).iter_errors({"pack": "x", "rulez": []}))
    assert errors
