"""Records in and out: JSONL reading (numbers straight to Decimal) and deterministic
serialisation (money as strings, never floats). Validation is generated per entity
(engine.compile.validators)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.compile import runtime
from engine.plan.model import FieldIR

DECODER = json.JSONDecoder(parse_float=Decimal)
_quote = json.encoder.encode_basestring  # JSON string quoting, C-accelerated


def read_jsonl(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, parsed value or None, problem) for each non-blank line. A line that is
    not UTF-8 or not JSON is a problem of that line, never the end of the file."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                yield number, None, f"not UTF-8 (byte {error.start + 1})"
                continue
            if not line.strip():
                continue
            try:
                yield number, DECODER.decode(line), None
            except json.JSONDecodeError as error:
                yield number, None, f"not valid JSON ({error.msg} at column {error.colno})"


# -- output ------------------------------------------------------------------------------

def read_records(path: Path) -> list[dict[str, Any]]:
    """The records of a JSONL file as they are (numbers exact, no checks), such as a run's
    outputs; none when there is no such file."""
    if not path.exists():
        return []
    return [json.loads(line, parse_float=Decimal) for line in
            path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _encode(value: Any, numbers_as_text: bool) -> str:
    encode = _ENCODERS.get(type(value))
    if encode is None:
        raise TypeError(f"cannot serialise {type(value).__name__}")
    return encode(value, numbers_as_text)


def _decimal(value: Decimal, numbers_as_text: bool) -> str:
    text = format(value, "f")
    return f'"{text}"' if numbers_as_text else text


def _list(value: list[Any] | tuple[Any, ...], numbers_as_text: bool) -> str:
    return "[" + ",".join(_encode(v, numbers_as_text) for v in value) + "]"


def _dict(value: dict[str, Any], numbers_as_text: bool) -> str:
    return "{" + ",".join(f"{_quote(str(k))}:{_encode(v, numbers_as_text)}"
                          for k, v in value.items()) + "}"


def _money(value: runtime.Money, numbers_as_text: bool) -> str:
    return _dict({"amount": value.amount, "currency": value.currency}, numbers_as_text)


_ENCODERS: dict[type, Callable[[Any, bool], str]] = {
    type(None): lambda v, n: "null",
    bool: lambda v, n: "true" if v else "false",
    str: lambda v, n: _quote(v),
    int: lambda v, n: str(v),
    Decimal: _decimal,
    dt.date: lambda v, n: f'"{v.isoformat()}"',
    dt.datetime: lambda v, n: f'"{runtime.format_datetime(v)}"',
    runtime.Money: _money,
    list: _list,
    tuple: _list,
    dict: _dict,
}


def decimals_of(fields: tuple[FieldIR, ...]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A function making every value of a decimal field a Decimal (an int literal in a rule
    can fill a decimal field; it is written as a decimal, like every other amount)."""
    plan: list[tuple[str, Callable[[Any], Any]]] = []
    for field in fields:
        convert = _decimal_converter(field)
        if convert is not None:
            plan.append((field.name, convert))
    if not plan:
        return lambda record: record

    def apply(record: dict[str, Any]) -> dict[str, Any]:
        for name, convert in plan:
            value = record.get(name)
            if value is not None:
                record[name] = convert(value)
        return record
    return apply


def _decimal_converter(field: FieldIR) -> Callable[[Any], Any] | None:
    if field.type == "decimal":
        return lambda value: Decimal(value) if type(value) is int else value
    if field.type == "record" and field.fields:
        nested = decimals_of(field.fields)
        return lambda value: nested(dict(value))
    if field.type == "list" and field.item is not None:
        item = _decimal_converter(field.item)
        if item is not None:
            convert = item
            return lambda value: [convert(v) if v is not None else v for v in value]
    return None


def dumps(record: dict[str, Any], numbers_as_text: bool = True) -> str:
    """One JSON line. Decimals keep every digit: as strings (canonical) or bare numbers
    (vendor payloads whose schema wants numbers). Key order is the record's own."""
    return _encode(record, numbers_as_text)
