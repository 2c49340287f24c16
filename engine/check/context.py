"""What the checks share: the project, the catalogue, the type checker, and the IR built."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.check.catalog import Catalog
from engine.check.typecheck import Checker, Scope, Usage
from engine.check.types import Type
from engine.errors import Collector, Span
from engine.load.project import Loaded, Project
from engine.load.yaml_loader import NodePath
from engine.plan.model import (
    EntityIR,
    ExceptionCodeIR,
    Expr,
    GroupRuleIR,
    MappingIR,
    RecordRuleIR,
)

# Exception codes the engine itself raises, whatever the packs declare.
ENGINE_CODES = {
    "INVALID_RECORD": ("integration_support", "error"),
    "UNKNOWN_REFERENCE": ("integration_support", "error"),
    "RULE_ERROR": ("integration_support", "error"),
    "UNROUTED": ("integration_support", "error"),
    "DUPLICATE_CONFLICT": ("integration_support", "warning"),
    # A rule emitted a document into an issued period; the issued one stands.
    "ISSUED_PERIOD": ("integration_support", "error"),
}


@dataclass
class Definition:
    """A named thing that should be used somewhere (for the unused-definition warning)."""

    kind: str
    name: str
    span: Span
    used: bool = False


@dataclass
class CheckContext:
    project: Project
    collector: Collector
    catalog: Catalog = field(default_factory=Catalog)
    entities: dict[str, EntityIR] = field(default_factory=dict)
    streams: dict[str, Type] = field(default_factory=dict)
    stream_spans: dict[str, Span] = field(default_factory=dict)
    mappings: dict[str, MappingIR] = field(default_factory=dict)
    rules: list[RecordRuleIR | GroupRuleIR] = field(default_factory=list)
    exception_codes: dict[str, ExceptionCodeIR] = field(default_factory=dict)
    definitions: list[Definition] = field(default_factory=list)
    # (from node, to node, via, where) edges for the plan's graph
    edges: list[tuple[str, str, str, Span | None]] = field(default_factory=list)
    checker: Checker | None = None

    def __post_init__(self) -> None:
        self.checker = Checker(self.catalog, self.collector)

    @property
    def types(self) -> Checker:
        assert self.checker is not None
        return self.checker

    def expr(self, loaded: Loaded[Any], path: NodePath, scope: Scope,
             expected: Type | None = None, template: bool = False) -> tuple[Expr | None, Type]:
        """Parse and type one expression of a spec file; returns its IR and type."""
        node = self.project.expr(loaded.doc, path, self.collector, template)
        if node is None:
            from engine.check.types import ANY

            return None, ANY
        found = self.types.check(node, scope, expected)
        text = loaded.doc.data
        for part in path:
            text = text[part]
        return Expr(node, str(text)), found

    def take_usage(self) -> Usage:
        return self.types.take_usage()

    def define(self, kind: str, name: str, span: Span) -> Definition:
        definition = Definition(kind, name, span)
        self.definitions.append(definition)
        return definition

    def use(self, kind: str, name: str) -> None:
        for definition in self.definitions:
            if definition.kind == kind and definition.name == name:
                definition.used = True
