"""Load a project: its manifest, the packs it uses, every spec file with its spans."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from engine.errors import Collector, Span, did_you_mean
from engine.load import ast
from engine.load.expr_parser import Origin, parse_expression, parse_template
from engine.load.yaml_loader import NodePath, SourceDoc, load_yaml_file
from engine.spec.models import (
    EntitySpec,
    ManifestSpec,
    MappingSpec,
    RulePackSpec,
    SpecTestFile,
)

MANIFEST = "billsync.yaml"
REPO_ROOT = Path(__file__).resolve().parents[2]
SpecT = TypeVar("SpecT", bound=BaseModel)

# The top-level key that tells a spec file's kind.
KIND_KEYS: dict[str, type[BaseModel]] = {
    "entity": EntitySpec,
    "mapping": MappingSpec,
    "pack": RulePackSpec,
    "tests": SpecTestFile,
}


@dataclass(frozen=True)
class Loaded(Generic[SpecT]):
    """A validated spec model together with the YAML document it came from."""

    spec: SpecT
    doc: SourceDoc

    def span(self, *path: str | int) -> Span:
        return self.doc.span(tuple(path))

    def key_span(self, *path: str | int) -> Span:
        return self.doc.key_span(tuple(path))


@dataclass
class Project:
    root: Path
    manifest: Loaded[ManifestSpec]
    entities: list[Loaded[EntitySpec]] = field(default_factory=list)
    mappings: list[Loaded[MappingSpec]] = field(default_factory=list)
    rule_packs: list[Loaded[RulePackSpec]] = field(default_factory=list)
    test_files: list[Loaded[SpecTestFile]] = field(default_factory=list)
    _exprs: dict[tuple[str, NodePath], ast.Node | None] = field(default_factory=dict)

    def expr(self, doc: SourceDoc, path: NodePath, collector: Collector,
             template: bool = False) -> ast.Node | None:
        """The parsed expression at path in doc (parsed once, errors reported once)."""
        key = (doc.file, path)
        if key not in self._exprs:
            text = _get(doc.data, path)
            line, col = doc.scalar_text_start(path)
            indent = col - 1 if line != doc.span(path).line else 0
            origin = Origin(doc.file, line, col, indent)
            parse = parse_template if template else parse_expression
            self._exprs[key] = parse(str(text), origin, collector)
        return self._exprs[key]


def _get(data: Any, path: NodePath) -> Any:
    for part in path:
        data = data[part]
    return data


def display_path(path: Path) -> str:
    """Paths in diagnostics are relative to the working directory when possible."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _pydantic_path(data: Any, loc: tuple[int | str, ...]) -> NodePath:
    """Drop union tags from a pydantic error location, keeping only real data steps."""
    path: list[str | int] = []
    for part in loc:
        in_mapping = isinstance(data, dict) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and part < len(data)
        if in_mapping or in_list:
            data = data[part]
            path.append(part)
    return tuple(path)


def _friendly(error: dict[str, Any], model: type[BaseModel],
              path: NodePath) -> tuple[str, str | None]:
    kind = error["type"]
    name = str(error["loc"][-1]) if error["loc"] else "document"
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return f"missing required field '{name}'", None
    if kind == "extra_forbidden":
        known = list(model.model_fields) + [f.alias for f in model.model_fields.values() if f.alias]
        return f"unknown field '{name}'", did_you_mean(name, known) if not path[:-1] else None
    if kind == "literal_error":
        return f"'{name}' must be one of {ctx.get('expected', '')}", None
    if kind == "string_pattern_mismatch":
        return f"'{name}' must match {ctx.get('pattern', '')}", None
    expected = {"string_type": "text", "int_type": "an integer", "int_parsing": "an integer",
                "bool_type": "true or false", "bool_parsing": "true or false",
                "dict_type": "a mapping", "model_type": "a mapping", "list_type": "a list"}
    if kind in expected:
        return f"'{name}' must be {expected[kind]}", None
    return f"invalid value for '{name}'", None


def validate_doc(doc: SourceDoc, model: type[SpecT], collector: Collector) -> SpecT | None:
    """Validate plain YAML data against a spec model, reporting each problem at its span."""
    try:
        return model.model_validate(doc.data)
    except ValidationError as errors:
        for error in errors.errors():
            path = _pydantic_path(doc.data, error["loc"])
            message, hint = _friendly(dict(error), model, path)
            span = doc.key_span(path) if error["type"] == "extra_forbidden" else doc.span(path)
            collector.error("E104", message, span, hint)
        return None


def resolve_pack(reference: str, project_root: Path) -> Path:
    """A pack is ./local (to the project) or a shipped pack folder under the pack path."""
    if reference.startswith((".", "/")):
        return (project_root / reference).resolve()
    search = [Path(p) for p in os.environ.get("BILLSYNC_PACK_PATH", "").split(os.pathsep) if p]
    for base in [*search, REPO_ROOT]:
        candidate = base / reference
        if candidate.is_dir():
            return candidate.resolve()
    return (REPO_ROOT / reference).resolve()


def _spec_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.yaml") if p.name != MANIFEST)


def _add(project: Project, doc: SourceDoc, collector: Collector) -> None:
    data = doc.data
    kind = next((k for k in KIND_KEYS if isinstance(data, dict) and k in data), None)
    if kind is None:
        collector.error("E104", "not a billsync spec file (expected a top-level "
                        "'entity', 'mapping', 'pack' or 'tests' key)", doc.span(()))
        return
    spec = validate_doc(doc, KIND_KEYS[kind], collector)
    if spec is None:
        return
    if isinstance(spec, EntitySpec):
        project.entities.append(Loaded(spec, doc))
    elif isinstance(spec, MappingSpec):
        project.mappings.append(Loaded(spec, doc))
    elif isinstance(spec, RulePackSpec):
        project.rule_packs.append(Loaded(spec, doc))
    elif isinstance(spec, SpecTestFile):
        project.test_files.append(Loaded(spec, doc))


def load_project(project_dir: Path, collector: Collector) -> Project | None:
    """Load everything a project uses. Problems go to the collector; None if unusable."""
    manifest_path = project_dir / MANIFEST
    doc = load_yaml_file(manifest_path, display_path(manifest_path), collector)
    if doc is None:
        return None
    manifest = validate_doc(doc, ManifestSpec, collector)
    if manifest is None:
        return None
    project = Project(root=project_dir, manifest=Loaded(manifest, doc))
    folders: list[Path] = []
    for index, reference in enumerate(manifest.packs):
        folder = resolve_pack(reference, project_dir)
        if not folder.is_dir():
            collector.error("E501", f"pack '{reference}' not found", doc.span(("packs", index)),
                            hint=f"looked for {display_path(folder)}")
            continue
        folders.append(folder)
    folders += [(project_dir / t).resolve() for t in manifest.tests]
    seen: set[Path] = set()
    for folder in folders:
        for path in _spec_files(folder) if folder.is_dir() else []:
            if path in seen:
                continue
            seen.add(path)
            file_doc = load_yaml_file(path, display_path(path), collector)
            if file_doc is not None:
                _add(project, file_doc, collector)
    return project
