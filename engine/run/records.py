"""Records in and out: JSONL reading (numbers straight to Decimal), validation of a record
against its entity, and deterministic serialisation (money as strings, never floats)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from engine.compile import runtime
from engine.plan.model import EntityIR, FieldIR

Converter = Callable[[Any], Any]


class InvalidRecord(Exception):
    """A record that does not fit its entity; names the field and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason



DECODER = json.JSONDecoder(parse_float=Decimal)


def read_jsonl(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, parsed value or None, parse error) for each non-blank line."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, DECODER.decode(line), None
            except json.JSONDecodeError as error:
                yield number, None, f"not valid JSON ({error.msg} at column {error.colno})"


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, found {_json_kind(value)}")
    return value


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, Decimal) and value == value.to_integral_value():
            return int(value)
        raise ValueError(f"expected an integer, found {_json_kind(value)}")
    return value


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("expected a decimal, found true/false")
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"expected a decimal, found {value!r}") from None
        if parsed.is_finite():
            return parsed
    raise ValueError(f"expected a decimal, found {_json_kind(value)}")


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, found {_json_kind(value)}")
    return value


def _date(value: Any) -> dt.date:
    if isinstance(value, str):
        try:
            return runtime.date(value)
        except runtime.RuleError:
            pass
    raise ValueError(f"expected a date YYYY-MM-DD, found {value!r}")


def _datetime(value: Any) -> dt.datetime:
    if isinstance(value, str):
        try:
            return runtime.datetime(value)
        except runtime.RuleError as error:
            raise ValueError(str(error)) from None
    raise ValueError(f"expected an ISO 8601 date-time, found {value!r}")


def _money(value: Any) -> runtime.Money:
    if isinstance(value, dict) and set(value) == {"amount", "currency"}:
        return runtime.Money(_decimal(value["amount"]), _string(value["currency"]))
    raise ValueError("expected {amount, currency}")


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "true/false", int: "a number", Decimal: "a number", str: "text",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


SCALARS: dict[str, Converter] = {
    "string": _string, "int": _int, "decimal": _decimal, "bool": _bool, "date": _date,
    "datetime": _datetime, "money": _money,
}


def converter(field: FieldIR) -> Converter:
    """A function that checks and converts one JSON value to the field's type."""
    if field.type == "enum":
        members = frozenset(field.values)

        def enum(value: Any) -> str:
            if value not in members:
                raise ValueError(f"{value!r} is not one of {', '.join(field.values)}")
            return str(value)
        return enum
    if field.type == "list":
        assert field.item is not None
        item = converter(field.item)

        def items(value: Any) -> list[Any]:
            if not isinstance(value, list):
                raise ValueError(f"expected a list, found {_json_kind(value)}")
            return [_optional(item, field.item.optional if field.item else False)(v)
                    for v in value]
        return items
    if field.type == "record":
        validate = RecordValidator(field.fields)
        return validate.nested
    base = SCALARS[field.type]
    if field.minimum is not None:
        minimum = field.minimum

        def bounded(value: Any) -> Any:
            result = base(value)
            if result < minimum:
                raise ValueError(f"must be at least {minimum}, found {result}")
            return result
        return bounded
    return base


def _optional(convert: Converter, optional: bool) -> Converter:
    if not optional:
        return convert
    return lambda value: None if value is None else convert(value)


class RecordValidator:
    """Checks a JSON object against declared fields; returns a typed record with every
    declared field present (absent optional fields are None). Unknown fields are ignored."""

    def __init__(self, fields: tuple[FieldIR, ...]) -> None:
        self.fields = [(f.name, converter(f), f.optional) for f in fields]

    def __call__(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise InvalidRecord("(record)", f"expected a JSON object, found {_json_kind(raw)}")
        record: dict[str, Any] = {}
        for name, convert, optional in self.fields:
            value = raw.get(name)
            if value is None:
                if not optional:
                    raise InvalidRecord(name, "missing" if name not in raw else "is null")
                record[name] = None
                continue
            try:
                record[name] = convert(value)
            except InvalidRecord as error:
                raise InvalidRecord(f"{name}.{error.field}", error.reason) from None
            except ValueError as error:
                raise InvalidRecord(name, str(error)) from None
        return record

    def nested(self, raw: Any) -> dict[str, Any]:
        return self(raw)


def validator(entity: EntityIR) -> RecordValidator:
    return RecordValidator(entity.fields)


# -- output ------------------------------------------------------------------------------

def _encode(value: Any, numbers_as_text: bool) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        text = format(value, "f")
        return f'"{text}"' if numbers_as_text else text
    if isinstance(value, (dt.date, dt.datetime)):
        return f'"{runtime.text(value)}"'
    if isinstance(value, runtime.Money):
        return _encode({"amount": value.amount, "currency": value.currency}, numbers_as_text)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_encode(v, numbers_as_text) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:"
                              f"{_encode(v, numbers_as_text)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(record: dict[str, Any], numbers_as_text: bool = True) -> str:
    """One JSON line. Decimals keep every digit: as strings (canonical) or bare numbers
    (vendor payloads whose schema wants numbers). Key order is the record's own."""
    return _encode(record, numbers_as_text)
