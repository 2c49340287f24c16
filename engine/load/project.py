"""Load a project: its manifest, the packs it uses, every spec file with its spans."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from engine.errors import Collector, Span, did_you_mean
from engine.load import ast
from engine.load.expr_parser import Origin, parse_expression, parse_template
from engine.load.names import (
    DEFINITION_PATTERN,
    NameProblem,
    definition_problem,
    identifier_problem,
    vendor_key_problem,
)
from engine.load.yaml_loader import NodePath, SourceDoc, load_yaml_file
from engine.spec.models import (
    EntitySpec,
    FieldSpec,
    GroupRuleSpec,
    ManifestSpec,
    MappingSpec,
    RulePackSpec,
    SpecTestFile,
    StepSpec,
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


def _steps_into(data: Any, part: int | str) -> bool:
    in_mapping = isinstance(data, dict) and part in data
    return in_mapping or (isinstance(data, list) and isinstance(part, int) and part < len(data))


def _is_tag(data: Any, part: int | str, rest: tuple[int | str, ...]) -> bool:
    """A union tag that is also a key (a group rule's `group`): the next step is beside it."""
    return bool(rest) and _steps_into(data, rest[0]) and not _steps_into(data[part], rest[0])


def _pydantic_path(data: Any, loc: tuple[int | str, ...]) -> NodePath:
    """Drop union tags from a pydantic error location, keeping only real data steps."""
    path: list[str | int] = []
    for index, part in enumerate(loc):
        if _steps_into(data, part) and not _is_tag(data, part, loc[index + 1 :]):
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


def _name_error(error: dict[str, Any]) -> NameProblem | None:
    """The problem of a definition's name that failed its pattern or keyword check."""
    if error["type"] == "identifier":
        return NameProblem(str(error["ctx"]["problem"]))
    pattern = (error.get("ctx") or {}).get("pattern")
    if error["type"] == "string_pattern_mismatch" and pattern == DEFINITION_PATTERN:
        return definition_problem(str(error["input"]))
    return None


def validate_doc(doc: SourceDoc, model: type[SpecT], collector: Collector) -> SpecT | None:
    """Validate plain YAML data against a spec model, reporting each problem at its span:
    E107 for a definition's name that breaks the identifier rule, E104 for the rest."""
    try:
        return model.model_validate(doc.data)
    except ValidationError as errors:
        for error in errors.errors():
            path = _pydantic_path(doc.data, error["loc"])
            named = _name_error(dict(error))
            if named is not None:
                collector.error("E107", named.message, doc.span(path), named.hint)
                continue
            message, hint = _friendly(dict(error), model, path)
            span = doc.key_span(path) if error["type"] == "extra_forbidden" else doc.span(path)
            collector.error("E104", message, span, hint)
        return None


def pack_places(reference: str, project_root: Path) -> list[Path]:
    """Where a pack is looked for, in order: ./local (to the project) is only there; a
    shipped pack under each folder of BILLSYNC_PACK_PATH, then beside the engine."""
    if reference.startswith((".", "/")):
        return [(project_root / reference).resolve()]
    search = [Path(p) for p in os.environ.get("BILLSYNC_PACK_PATH", "").split(os.pathsep) if p]
    return [(base / reference).resolve() for base in [*search, REPO_ROOT]]


def resolve_pack(reference: str, project_root: Path) -> Path | None:
    """The first place a pack is found, or None."""
    return next((p for p in pack_places(reference, project_root) if p.is_dir()), None)


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


NameRule = Callable[[str], NameProblem | None]


def _check_keys(doc: SourceDoc, path: NodePath, keys: Mapping[str, Any] | None,
                rule: NameRule, collector: Collector) -> None:
    """E107 at each key of the mapping at path that breaks rule."""
    for key in keys or {}:
        problem = rule(key)
        if problem is not None:
            collector.error("E107", problem.message, doc.key_span((*path, key)), problem.hint)


def _check_fields(doc: SourceDoc, path: NodePath, fields: Mapping[str, FieldSpec | str] | None,
                  rule: NameRule, collector: Collector) -> None:
    """The field names of an entity, and of its records and lists of records, under rule."""
    _check_keys(doc, path, fields, rule, collector)
    for name, spec in (fields or {}).items():
        _check_nested(doc, (*path, name), spec, rule, collector)


def _check_nested(doc: SourceDoc, path: NodePath, spec: FieldSpec | str | None,
                  rule: NameRule, collector: Collector) -> None:
    """The fields of a record field, and of the items of a list field."""
    if isinstance(spec, FieldSpec):
        _check_fields(doc, (*path, "fields"), spec.fields, rule, collector)
        _check_nested(doc, (*path, "of"), spec.of, rule, collector)


def _check_emits(doc: SourceDoc, path: NodePath, emits: Mapping[str, Any] | None,
                 collector: Collector) -> None:
    """Emit targets name entities or streams; the fields a rule emits are identifiers."""
    _check_keys(doc, path, emits, definition_problem, collector)
    for target, body in (emits or {}).items():
        if isinstance(body, dict):
            _check_keys(doc, (*path, target), body, identifier_problem, collector)


def _check_step(doc: SourceDoc, path: NodePath, step: StepSpec, collector: Collector) -> None:
    """A step's `let` and `require` keys and what it emits, `else` included."""
    _check_keys(doc, (*path, "let"), step.let, identifier_problem, collector)
    _check_keys(doc, (*path, "require"), step.require, identifier_problem, collector)
    _check_emits(doc, (*path, "emit"), step.emit, collector)
    if step.else_ is not None:
        _check_emits(doc, (*path, "else", "emit"), step.else_.emit, collector)


def _check_group(doc: SourceDoc, path: NodePath, rule: GroupRuleSpec,
                 collector: Collector) -> None:
    """A group rule's `by`, `aggregate` and `let` keys and what it emits."""
    for part, keys in (("by", rule.by), ("aggregate", rule.aggregate), ("let", rule.let)):
        _check_keys(doc, (*path, part), keys, identifier_problem, collector)
    _check_emits(doc, (*path, "emit"), rule.emit, collector)
    if rule.emit_each is not None:
        _check_emits(doc, (*path, "emit_each", "emit"), rule.emit_each.emit, collector)


def _check_pack(loaded: Loaded[RulePackSpec], collector: Collector) -> None:
    """`let`, `require`, `by` and `aggregate` keys and emitted fields of every rule."""
    for index, rule in enumerate(loaded.spec.rules):
        if isinstance(rule, GroupRuleSpec):
            _check_group(loaded.doc, ("rules", index), rule, collector)
            continue
        for number, step in enumerate(rule.steps):
            _check_step(loaded.doc, ("rules", index, "steps", number), step, collector)


def _check_mapping(loaded: Loaded[MappingSpec], kinds: Mapping[str, str],
                   collector: Collector) -> None:
    """`let` keys are identifiers; target fields are a vendor's keys when the target is a
    vendor record (or unknown, for an outbound mapping), identifiers otherwise."""
    spec = loaded.spec
    _check_keys(loaded.doc, ("let",), spec.let, identifier_problem, collector)
    kind = kinds.get(spec.target, "vendor" if spec.direction == "outbound" else None)
    rule = vendor_key_problem if kind == "vendor" else identifier_problem
    _check_keys(loaded.doc, ("fields",), spec.fields, rule, collector)


def check_names(project: Project, collector: Collector) -> None:
    """Reports E107 at every key that names something and breaks the identifier rule
    (engine/load/names.py): fields of canonical entities and of emitted records, `let`,
    `require`, `by` and `aggregate` keys, policies; a vendor's field names only need to be
    text without control characters. Names given as values (`as`, rule ids, entities) are
    checked by the spec models."""
    manifest = project.manifest
    _check_keys(manifest.doc, ("policies",), manifest.spec.policies, identifier_problem,
                collector)
    for entity in project.entities:
        rule = vendor_key_problem if entity.spec.kind == "vendor" else identifier_problem
        _check_fields(entity.doc, ("fields",), entity.spec.fields, rule, collector)
    kinds = {entity.spec.entity: entity.spec.kind for entity in project.entities}
    for mapping in project.mappings:
        _check_mapping(mapping, kinds, collector)
    for pack in project.rule_packs:
        _check_pack(pack, collector)


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
        if folder is None:
            places = ", ".join(display_path(p) for p in pack_places(reference, project_dir))
            collector.error("E501", f"pack '{reference}' not found", doc.span(("packs", index)),
                            hint=f"looked in {places}" + ("" if reference.startswith((".", "/"))
                            else "; BILLSYNC_PACK_PATH lists more folders to look in"))
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
    check_names(project, collector)
    return project
