"""The static types of the expression language and of records (entities and streams)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Type:
    """Base of all types; `name` is what diagnostics show."""

    @property
    def name(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Prim(Type):
    kind: str  # string, int, decimal, bool, date, datetime, money, null, any

    @property
    def name(self) -> str:
        return self.kind


@dataclass(frozen=True)
class EnumT(Type):
    values: tuple[str, ...]

    @property
    def name(self) -> str:
        return "enum(" + ", ".join(self.values) + ")"


@dataclass(frozen=True)
class ListT(Type):
    item: Type

    @property
    def name(self) -> str:
        return f"list<{self.item.name}>"


@dataclass(frozen=True)
class RecordT(Type):
    label: str  # entity or stream name, or "" for an anonymous record
    fields: tuple[tuple[str, Type], ...]

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        return "{" + ", ".join(f"{k}: {t.name}" for k, t in self.fields) + "}"

    def field(self, name: str) -> Type | None:
        for key, value in self.fields:
            if key == name:
                return value
        return None

    @property
    def field_names(self) -> list[str]:
        return [key for key, _ in self.fields]


@dataclass(frozen=True)
class OptionalT(Type):
    inner: Type

    @property
    def name(self) -> str:
        return f"{self.inner.name}?"


@dataclass(frozen=True)
class FuncT(Type):
    """The type of a lambda argument: one parameter, one result."""

    param: Type
    result: Type

    @property
    def name(self) -> str:
        return f"({self.param.name}) => {self.result.name}"


STRING = Prim("string")
INT = Prim("int")
DECIMAL = Prim("decimal")
BOOL = Prim("bool")
DATE = Prim("date")
DATETIME = Prim("datetime")
MONEY = Prim("money")
NULL = Prim("null")
ANY = Prim("any")  # only for already-reported errors, to stop cascades

PRIMITIVES = {t.kind: t for t in (STRING, INT, DECIMAL, BOOL, DATE, DATETIME, MONEY)}
NUMERIC = (INT, DECIMAL)


def optional(t: Type) -> Type:
    return t if isinstance(t, OptionalT) or t in (NULL, ANY) else OptionalT(t)


def unwrap(t: Type) -> Type:
    return t.inner if isinstance(t, OptionalT) else t


def is_optional(t: Type) -> bool:
    return isinstance(t, OptionalT) or t == NULL


def base_kind(t: Type) -> Type:
    """Enums compare and print as strings at run time; this is their value type."""
    return STRING if isinstance(t, EnumT) else t


def assignable(source: Type, target: Type) -> bool:
    """Whether a value of type source may stand where target is expected."""
    if ANY in (source, target) or source == target:
        return True
    if isinstance(target, OptionalT):
        return source == NULL or assignable(unwrap(source), target.inner)
    if isinstance(source, OptionalT) or source == NULL:
        return False
    if source == INT and target == DECIMAL:
        return True
    if isinstance(source, EnumT) and isinstance(target, EnumT):
        return set(source.values) <= set(target.values)
    if isinstance(source, EnumT) and target == STRING:
        return True
    if isinstance(source, ListT) and isinstance(target, ListT):
        return source.item == NULL or assignable(source.item, target.item)
    if isinstance(source, RecordT) and isinstance(target, RecordT):
        return _record_assignable(source, target)
    return False


def _record_assignable(source: RecordT, target: RecordT) -> bool:
    for key, field_type in target.fields:
        found = source.field(key)
        if found is None:
            if not is_optional(field_type):
                return False
        elif not assignable(found, field_type):
            return False
    return all(target.field(key) is not None for key in source.field_names)


def join(a: Type, b: Type) -> Type | None:
    """The least type both a and b fit in (for if/else, ??, list items), or None."""
    if assignable(a, b):
        return b
    if assignable(b, a):
        return a
    if a == NULL:
        return optional(b)
    if b == NULL:
        return optional(a)
    if isinstance(a, OptionalT) or isinstance(b, OptionalT):
        inner = join(unwrap(a), unwrap(b))
        return optional(inner) if inner else None
    if isinstance(a, EnumT) and isinstance(b, EnumT):
        return EnumT(tuple(dict.fromkeys(a.values + b.values)))
    if (isinstance(a, EnumT) and b == STRING) or (isinstance(b, EnumT) and a == STRING):
        return STRING
    if isinstance(a, RecordT) and isinstance(b, RecordT) and a.field_names == b.field_names:
        fields = [(name, join(kind, b.field(name) or ANY)) for name, kind in a.fields]
        if all(kind is not None for _, kind in fields):
            label = a.label if a.label == b.label else ""
            return RecordT(label, tuple((n, k) for n, k in fields if k is not None))
    return None
