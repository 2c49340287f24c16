"""Validate payloads against vendors' published OpenAPI documents (kept in ../shared)."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator
from ruamel.yaml import YAML


@cache
def load_document(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    return document


def nullable_to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 `nullable: true` becomes a JSON Schema type list with null."""
    if isinstance(node, list):
        return [nullable_to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    result = {k: nullable_to_json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") and isinstance(node.get("type"), str):
        result["type"] = [node["type"], "null"]
    return result


def validator(path: Path, schema_name: str,
              required: dict[str, list[str]] | None = None) -> Draft4Validator:
    """A validator for components/schemas/NAME; `required` overlays business rules the
    published document leaves out (fields the vendor requires on create)."""
    components = copy.deepcopy(load_document(path)["components"])
    for name, fields in (required or {}).items():
        components["schemas"][name]["required"] = fields
    root = {"$ref": f"#/components/schemas/{schema_name}",
            "components": nullable_to_json_schema(components)}
    return Draft4Validator(root)
