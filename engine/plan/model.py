"""The Plan: one immutable, serialisable, content-hashed artefact holding the whole checked
spec. compile, run, lineage, graph, diff and docs read the Plan, never the YAML files."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields, is_dataclass
from decimal import Decimal
from typing import Any

from engine.errors import Span
from engine.load import ast


@dataclass(frozen=True)
class Expr:
    """A checked expression: its AST (with spans) and its source text."""

    node: ast.Node
    text: str

    @property
    def span(self) -> Span:
        return self.node.span


@dataclass(frozen=True)
class FieldIR:
    name: str
    type: str  # string int decimal bool date datetime money enum list record
    optional: bool
    values: tuple[str, ...] = ()  # enum members
    minimum: int | None = None
    item: FieldIR | None = None  # list item
    fields: tuple[FieldIR, ...] = ()  # record fields


@dataclass(frozen=True)
class EntityIR:
    name: str
    kind: str
    fields: tuple[FieldIR, ...]
    key: tuple[str, ...]
    revision: str | None
    effective_from: str | None
    effective_to: str | None
    effective_version: str | None
    order_by: tuple[str, ...]
    span: Span
    dated_by: tuple[str, ...] = ()  # an event's date: the latest present of these fields
    issued_period: str | None = None  # an output of issued documents: its period field
    issued_of: str | None = None  # kind issued: the output entity whose issued records these are
    effective_of: tuple[str, ...] = ()  # what a row dates (empty: the key but dating fields)
    effective_latest: bool = False  # with effective_to: latest row on or before, up to its to

    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


@dataclass(frozen=True)
class ExceptionIR:
    code: str
    message: Expr
    contract_line_id: Expr | None
    field: str | None
    span: Span
    old_amount: Expr | None = None
    new_amount: Expr | None = None
    source_entity: Expr | None = None  # with source_id: the record it is about
    source_id: Expr | None = None


@dataclass(frozen=True)
class EmitIR:
    """Records into one target. With `whole`, that expression gives the record once and each
    field reads it (as `__emitted.<field>`)."""

    target: str
    fields: tuple[tuple[str, Expr], ...]
    span: Span
    whole: Expr | None = None


@dataclass(frozen=True)
class StepIR:
    """One step: `when` guards it; it binds, emits, raises an exception or excludes."""

    span: Span
    when: Expr | None = None
    lets: tuple[tuple[str, Expr], ...] = ()
    requires: tuple[tuple[str, Expr], ...] = ()
    otherwise: StepIR | None = None  # the outcome of a failed require
    emits: tuple[EmitIR, ...] = ()
    stop: bool = False
    exception: ExceptionIR | None = None
    exclude: str | None = None

    keep_going: bool = False  # an exception step that does not end the record (a notice)

    @property
    def terminal(self) -> bool:
        return self.stop or self.exclude is not None or (
            self.exception is not None and not self.keep_going)


@dataclass(frozen=True)
class RecordRuleIR:
    id: str
    description: str
    input: str
    var: str
    steps: tuple[StepIR, ...]
    span: Span
    emits_to: tuple[str, ...]


@dataclass(frozen=True)
class AggregateIR:
    name: str
    function: str  # sum count min max collect first any all
    argument: Expr | None
    span: Span


@dataclass(frozen=True)
class GroupRuleIR:
    id: str
    description: str
    input: str
    var: str
    by: tuple[tuple[str, Expr], ...]
    aggregates: tuple[AggregateIR, ...]
    lets: tuple[tuple[str, Expr], ...]
    emits: tuple[EmitIR, ...]
    span: Span
    emits_to: tuple[str, ...]
    each: tuple[str, Expr] | None = None  # emits run once per element: (name, list)


@dataclass(frozen=True)
class MappingIR:
    id: str
    vendor: str
    direction: str
    source: str
    target: str
    lets: tuple[tuple[str, Expr], ...]
    fields: tuple[tuple[str, Expr], ...]
    span: Span
    when: Expr | None = None  # outbound: the source records it maps (the others: no payload)


@dataclass(frozen=True)
class ExceptionCodeIR:
    code: str
    owner: str
    severity: str


@dataclass(frozen=True, order=True)
class LookupIR:
    entity: str
    keys: tuple[str, ...]
    dated: bool


@dataclass(frozen=True)
class InputIR:
    file: str  # relative to the data folder
    mapping: str
    optional: bool = False  # absent is fine; else a missing file stops the run (E502)
    span: Span | None = None  # the manifest's `file:`


@dataclass(frozen=True)
class Plan:
    name: str
    version: str
    spec_format: int
    policies: tuple[tuple[str, str | int | bool], ...]
    entities: tuple[EntityIR, ...]
    streams: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # name -> (field, type)
    mappings: tuple[MappingIR, ...]
    rules: tuple[RecordRuleIR | GroupRuleIR, ...]  # in dependency order
    exception_codes: tuple[ExceptionCodeIR, ...]
    lookups: tuple[LookupIR, ...]
    inputs: tuple[InputIR, ...]
    outputs: tuple[str, ...]
    graph_nodes: tuple[tuple[str, str, Span | None], ...]  # id, kind, span
    graph_edges: tuple[tuple[str, str, str, Span | None], ...]  # from, to, via, where
    spec_version: str = field(default="")

    def entity(self, name: str) -> EntityIR | None:
        return next((e for e in self.entities if e.name == name), None)

    def mapping(self, name: str) -> MappingIR | None:
        return next((m for m in self.mappings if m.id == name), None)

    def to_json(self) -> dict[str, Any]:
        data = to_jsonable(self)
        assert isinstance(data, dict)
        return data


def to_jsonable(value: Any) -> Any:
    """Plan objects and AST nodes as plain JSON data (node kind in '_')."""
    if is_dataclass(value) and not isinstance(value, type):
        data: dict[str, Any] = {"_": type(value).__name__} if isinstance(value, ast.Node) else {}
        for item in fields(value):
            data[item.name] = to_jsonable(getattr(value, item.name))
        return data
    if isinstance(value, (tuple, list)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    return value


def content_hash(plan: Plan) -> str:
    """The spec version: a hash of everything that decides outputs (spans excluded)."""
    data = plan.to_json()
    data.pop("spec_version", None)
    data.pop("graph_nodes", None)
    data.pop("graph_edges", None)
    text = json.dumps(_strip_spans(data), sort_keys=True, separators=(",", ":"))
    return "sv1-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def _strip_spans(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _strip_spans(v) for k, v in data.items() if k != "span"}
    if isinstance(data, list):
        return [_strip_spans(v) for v in data]
    return data
