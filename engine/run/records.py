"""Records in and out: JSONL reading (numbers straight to Decimal) and deterministic
serialisation (money as strings, never floats). Validation is generated per entity
(engine.compile.validators)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.compile import runtime

DECODER = json.JSONDecoder(parse_float=Decimal)
_quote = json.encoder.encode_basestring  # JSON string quoting, C-accelerated


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


# -- output ------------------------------------------------------------------------------

def _encode(value: Any, numbers_as_text: bool) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _quote(value)
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
