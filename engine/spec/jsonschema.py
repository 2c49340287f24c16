"""JSON Schemas, generated: one per spec file kind (from the pydantic models) and one per
canonical entity (from its YAML declaration). Editors validate and complete spec files with
the first; other systems validate the records they send with the second."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.plan.model import EntityIR, FieldIR
from engine.spec.models import SPEC_KINDS

DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


def spec_schemas() -> dict[str, dict[str, Any]]:
    """The schema of each spec file kind, keyed by file name."""
    schemas = {}
    for kind, model in SPEC_KINDS.items():
        schema = model.model_json_schema(by_alias=True, mode="validation")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://billsync.dev/schemas/spec/{kind}.schema.json"
        schemas[f"{kind}.schema.json"] = schema
    return schemas


def _field_schema(field: FieldIR) -> dict[str, Any]:
    schema: dict[str, Any]
    if field.type == "enum":
        schema = {"enum": list(field.values)}
    elif field.type == "list":
        assert field.item is not None
        schema = {"type": "array", "items": _field_schema(field.item)}
    elif field.type == "record":
        schema = _object(field.fields)
    elif field.type == "decimal":
        schema = {"type": ["string", "number"], "pattern": DECIMAL_PATTERN}
    elif field.type == "money":
        schema = {"type": "object", "required": ["amount", "currency"], "properties": {
            "amount": {"type": "string", "pattern": DECIMAL_PATTERN},
            "currency": {"type": "string"}}}
    else:
        plain: dict[str, dict[str, Any]] = {
            "string": {"type": "string"}, "int": {"type": "integer"},
            "bool": {"type": "boolean"}, "date": {"type": "string", "format": "date"},
            "datetime": {"type": "string", "format": "date-time"},
        }
        schema = dict(plain[field.type])
    if field.minimum is not None:
        schema["minimum"] = field.minimum
    if field.optional:
        return {"anyOf": [schema, {"type": "null"}]}
    return schema


def _object(fields: tuple[FieldIR, ...]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [f.name for f in fields if not f.optional],
        "properties": {f.name: _field_schema(f) for f in fields},
    }


def record_schema(entity: EntityIR) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://billsync.dev/schemas/records/{entity.name}.schema.json",
        "title": entity.name,
        **_object(entity.fields),
    }


def render_all(entities: tuple[EntityIR, ...]) -> dict[str, str]:
    """Every generated schema file, relative to schemas/, as text."""
    files = {f"spec/{name}": schema for name, schema in spec_schemas().items()}
    for entity in entities:
        if entity.kind not in ("vendor", "stream"):
            files[f"records/{entity.name}.schema.json"] = record_schema(entity)
    return {path: json.dumps(schema, indent=2, sort_keys=True) + "\n"
            for path, schema in files.items()}


def write_all(entities: tuple[EntityIR, ...], folder: Path) -> list[Path]:
    written = []
    for relative, text in render_all(entities).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale(entities: tuple[EntityIR, ...], folder: Path) -> list[str]:
    """Generated files that are missing or differ from what the code generates now."""
    return [relative for relative, text in render_all(entities).items()
            if not (folder / relative).exists()
            or (folder / relative).read_text(encoding="utf-8") != text]
