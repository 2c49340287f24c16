"""Generated record validators: one straight-line function per entity that checks a JSON
object against the entity's fields and returns the typed record (absent optionals None).

Generated rather than interpreted because validation runs on every input record; in the
common case (the JSON value already has the right type) a field costs one type test.
"""

from __future__ import annotations

from engine.compile.source import Source
from engine.plan.model import EntityIR, FieldIR, Plan

# Where the JSON value already has the right Python type, no conversion is needed.
FAST_TYPES = {"string": "str", "int": "int", "bool": "bool", "decimal": "Decimal"}


def validator_name(entity: str) -> str:
    return f"check_{entity}"


class ValidatorGen:
    def __init__(self, source: Source, entity: EntityIR) -> None:
        self.source, self.entity = source, entity
        self.pending: list[tuple[str, tuple[FieldIR, ...]]] = []

    def _function(self, label: str) -> str:
        path = label.replace(".", "__").replace("[]", "_item")
        return f"{validator_name(self.entity.name)}__{path}"

    def _convert(self, field: FieldIR, value: str, label: str) -> str:
        """An expression converting `value` (not None) to the field's type, or raising."""
        if field.type == "enum":
            return f"rt.as_enum({value}, {field.values!r}, {label!r})"
        if field.type == "list":
            assert field.item is not None
            item = self._convert(field.item, "_i", f"{label}[]")
            wrap = f"(None if _i is None else {item})" if field.item.optional else item
            return f"[{wrap} for _i in rt.as_list({value}, {label!r})]"
        if field.type == "record":
            self.pending.append((label, field.fields))
            return f"{self._function(label)}({value})"
        converted = f"rt.as_{field.type}({value}, {label!r})"
        fast = FAST_TYPES.get(field.type)
        if fast is not None:
            converted = f"({value} if type({value}) is {fast} else {converted})"
        if field.minimum is not None:
            converted = f"rt.at_least({converted}, {field.minimum}, {label!r})"
        return converted

    def _body(self, fields: tuple[FieldIR, ...], prefix: str, returns: bool = True) -> None:
        """Check each field into a local f_<name>; return them as a record unless told not
        to (a fused mapping goes on to read the locals)."""
        add, span = self.source.add, self.entity.span
        add("if type(raw) is not dict:", span, 1)
        add(f"rt.invalid({prefix or '(record)'!r}, 'expected a JSON object')", span, 2)
        add("get = raw.get", span, 1)
        for field in fields:
            label = f"{prefix}.{field.name}" if prefix else field.name
            add(f"v = get({field.name!r})", span, 1)
            add("if v is None:", span, 1)
            if field.optional:
                add(f"f_{field.name} = None", span, 2)
            else:
                add(f"rt.invalid({label!r}, 'missing' if {field.name!r} not in raw "
                    "else 'is null')", span, 2)
            add("else:", span, 1)
            add(f"f_{field.name} = {self._convert(field, 'v', label)}", span, 2)
        if returns:
            add("return {" + ", ".join(f"{f.name!r}: f_{f.name}" for f in fields) + "}", span,
                1)

    def nested(self) -> None:
        """The functions checking nested records, asked for by the bodies made so far."""
        span = self.entity.span
        while self.pending:
            label, fields = self.pending.pop(0)
            self.source.add("")
            self.source.add(f"def {self._function(label)}(raw):", span)
            self._body(fields, label)

    def generate(self) -> None:
        span = self.entity.span
        self.source.add("")
        self.source.add(f"def {validator_name(self.entity.name)}(raw):", span)
        self.source.add(f'"""Check a JSON object against entity {self.entity.name}."""', span, 1)
        self._body(self.entity.fields, "")
        self.nested()


def generate_validators(source: Source, plan: Plan) -> None:
    for entity in plan.entities:
        ValidatorGen(source, entity).generate()
