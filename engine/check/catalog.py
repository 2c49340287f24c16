"""The catalogue of entities: record types built from entity specs, keys and dating."""

from __future__ import annotations

from dataclasses import dataclass

from engine.check.types import PRIMITIVES, EnumT, ListT, RecordT, Type, optional
from engine.errors import Span
from engine.spec.models import EffectiveSpec, EntitySpec, FieldSpec


@dataclass(frozen=True)
class EntityInfo:
    name: str
    kind: str  # reference, event, output, vendor
    record: RecordT
    key: tuple[str, ...]
    revision: str | None
    effective: EffectiveSpec | None
    order_by: tuple[str, ...]
    span: Span
    minimums: tuple[tuple[str, int], ...] = ()


def field_type(spec: FieldSpec | str, label: str = "") -> Type:
    """The type a field declaration denotes ('decimal?' is shorthand for optional)."""
    if isinstance(spec, str):
        text = spec.strip()
        is_optional = text.endswith("?")
        base = PRIMITIVES.get(text.rstrip("?"))
        if base is None:
            raise ValueError(f"unknown type '{text}'")
        return optional(base) if is_optional else base
    result: Type
    if spec.type == "enum":
        result = EnumT(tuple(spec.values or ()))
    elif spec.type == "list":
        result = ListT(field_type(spec.of or "string"))
    elif spec.type == "record":
        result = record_type(label, spec.fields or {})
    else:
        result = PRIMITIVES[spec.type]
    return optional(result) if spec.optional else result


def record_type(label: str, fields: dict[str, FieldSpec | str]) -> RecordT:
    return RecordT(label, tuple((name, field_type(f)) for name, f in fields.items()))


class Catalog:
    """Every entity of the project by name."""

    def __init__(self) -> None:
        self.entities: dict[str, EntityInfo] = {}

    def add(self, spec: EntitySpec, span: Span) -> EntityInfo:
        minimums = tuple(
            (name, f.minimum) for name, f in spec.fields.items()
            if isinstance(f, FieldSpec) and f.minimum is not None
        )
        info = EntityInfo(
            name=spec.entity, kind=spec.kind, record=record_type(spec.entity, spec.fields),
            key=tuple(spec.key), revision=spec.revision, effective=spec.effective,
            order_by=tuple(spec.order_by), span=span, minimums=minimums,
        )
        self.entities[spec.entity] = info
        return info

    def get(self, name: str) -> EntityInfo | None:
        return self.entities.get(name)
