"""Generated record checks: one straight-line function per entity that checks a JSON object
against the entity's fields and returns the typed record (absent optionals None).

Generated rather than interpreted because validation runs on every input record; in the
common case (the JSON value already has the right type) a field costs one type test.
Field names are arbitrary text (a vendor's JSON keys): they appear only as string constants,
and the checked values live in numbered locals f0, f1, ...
"""

from __future__ import annotations

from engine.compile import pyast as py
from engine.compile.names import Names
from engine.plan.model import EntityIR, FieldIR

# Where the JSON value already has the right Python type, no conversion is needed.
FAST_TYPES = {"string": "str", "int": "int", "bool": "bool", "decimal": "Decimal"}
VALUE, RAW, ITEM = "value", "raw", "item"


def validator_name(entity: str) -> str:
    return f"check_{entity}"


def field_local(position: int) -> str:
    """The local holding the checked value of an entity's field at position."""
    return f"f{position}"


class ValidatorGen:
    def __init__(self, names: Names, entity: EntityIR) -> None:
        self.names, self.entity = names, entity
        self.pending: list[tuple[str, str, tuple[FieldIR, ...]]] = []  # function, label, fields

    def _convert(self, field: FieldIR, value: py.Expr, label: str) -> py.Expr:
        """An expression converting `value` (not None) to the field's type, or raising."""
        if field.type == "enum":
            members = py.tuple_([py.const(v) for v in field.values])
            return py.call("rt_as_enum", value, members, py.const(label))
        if field.type == "list":
            assert field.item is not None
            item = self._convert(field.item, py.name(ITEM), f"{label}[]")
            if field.item.optional:
                item = py.if_else(py.compare("is", py.name(ITEM), py.const(None)),
                                  py.const(None), item)
            return py.list_comp(item, ITEM, py.call("rt_as_list", value, py.const(label)))
        if field.type == "record":
            function = self.names.nested_validator(self.entity.name)
            self.pending.append((function, label, field.fields))
            return py.call(function, value)
        converted: py.Expr = py.call(f"rt_as_{field.type}", value, py.const(label))
        fast = FAST_TYPES.get(field.type)
        if fast is not None:
            converted = py.if_else(py.compare("is", py.call("type", value), py.name(fast)),
                                   value, converted)
        if field.minimum is not None:
            converted = py.call("rt_at_least", converted, py.const(field.minimum),
                                py.const(label))
        return converted

    def body(self, fields: tuple[FieldIR, ...], prefix: str, returns: bool = True
             ) -> list[py.Stmt]:
        """Check each field into its local f<position>; return them as a record unless told
        not to (a fused mapping goes on to read the locals)."""
        statements: list[py.Stmt] = [py.if_(
            py.compare("is not", py.call("type", py.name(RAW)), py.name("dict")),
            [py.do(py.call("rt_invalid", py.const(prefix or "(record)"),
                           py.const("expected a JSON object")))])]
        for position, field in enumerate(fields):
            statements += self._field(position, field, prefix)
        if returns:
            statements.append(py.return_(py.record(
                [(f.name, py.name(field_local(i))) for i, f in enumerate(fields)])))
        return statements

    def _field(self, position: int, field: FieldIR, prefix: str) -> list[py.Stmt]:
        label = f"{prefix}.{field.name}" if prefix else field.name
        local, key = field_local(position), py.const(field.name)
        if field.optional:
            when_absent: py.Stmt = py.assign(local, py.const(None))
        else:
            why = py.if_else(py.compare("in", key, py.name(RAW)), py.const("is null"),
                             py.const("missing"))
            when_absent = py.do(py.call("rt_invalid", py.const(label), why))
        return [
            py.assign(VALUE, py.call("dict_get", py.name(RAW), key)),
            py.if_(py.compare("is", py.name(VALUE), py.const(None)), [when_absent],
                   [py.assign(local, self._convert(field, py.name(VALUE), label))]),
        ]

    def nested(self) -> list[py.Stmt]:
        """The functions checking nested records, asked for by the bodies made so far."""
        functions: list[py.Stmt] = []
        while self.pending:
            function, label, fields = self.pending.pop(0)
            functions.append(py.function(function, [RAW], self.body(fields, label)))
        return functions

    def generate(self) -> list[py.Stmt]:
        name = self.names.define(validator_name(self.entity.name), "entity", self.entity.name)
        main = py.function(name, [RAW], self.body(self.entity.fields, ""),
                           doc=f"Check a JSON object against entity {self.entity.name}.")
        return [main, *self.nested()]
