"""Records in and out: JSONL reading (numbers straight to Decimal) and deterministic
serialisation (money as strings, never floats). Validation is generated per entity
(engine.compile.validators).

Input records are untrusted: the reader bounds what one line may cost. A line that breaks a
bound (too long, nested too deep, a number too long to read, NaN, a duplicate key, an
unpaired surrogate, a stray byte-order mark) is a problem of that line, never the end of
the file, a traceback or a stall. A number it can read but that is out of range
(runtime.in_range) comes as an OutOfRange, which the check of its field refuses by name.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from itertools import accumulate
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, NoReturn

from engine.compile import runtime
from engine.plan.model import FieldIR

# One record's line: records are a few KB. A longer line is read past in pieces, never held
# whole. At the bound, the costliest line (8 MiB of `[[],[],...]`) takes about 2 s and
# 0.5 GB while it is decoded.
MAX_LINE_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64  # arrays and objects inside each other; vendor records nest 3 or 4 deep
BOM = b"\xef\xbb\xbf"  # U+FEFF in UTF-8: a byte-order mark
JSON_SPACE = b" \t\r\n"  # the only white space JSON knows
_SKIP_PIECE = 1024 * 1024  # how much of an over-long line is read at a time to skip it
_SHORT_FLOAT = 21  # a literal this short without an exponent has at most 20 digits
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # \ud800 to \udfff, as JSON writes it
_SURROGATE = re.compile("[\ud800-\udfff]")  # decoded: a pair would have made one character
_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"?', re.DOTALL)  # linear: no backtracking
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_quote = json.encoder.encode_basestring  # JSON string quoting, C-accelerated


class LineProblem(ValueError):
    """Why one input line holds no record, in words."""


class OutOfRange(Decimal):
    """A JSON number beyond runtime.in_range (1e1000000, 1e-30, 21 digits or more). It is a
    Decimal, but not of type Decimal, so no fast path of a generated check (`type(v) is
    Decimal`, `type(v) is int`) takes it, and as_int and as_decimal refuse it naming the
    field. In a field no check reads, it does no harm."""


class JsonLine(NamedTuple):
    """One non-blank line of a JSONL file: its JSON value, or None and the problem."""

    number: int
    value: Any
    problem: str | None


def _number(text: str) -> int | Decimal:
    """A number literal beyond the fast path: too long or beyond what a Decimal can hold is
    a problem of the line; out of range, an OutOfRange; otherwise its exact value."""
    if len(text) > runtime.MAX_NUMBER_TEXT:
        raise LineProblem(f"a number of {len(text):,} characters (at most "
                          f"{runtime.MAX_NUMBER_TEXT})")
    try:
        value = Decimal(text, runtime.DECIMAL_CONTEXT)
    except ArithmeticError:
        raise LineProblem(f"number {text} is out of range") from None
    if not runtime.in_range(value):
        return OutOfRange(value)
    return value if "." in text or "e" in text or "E" in text else int(text)


def _json_int(text: str) -> int | Decimal:
    return int(text) if len(text) <= runtime.MAX_WHOLE_DIGITS else _number(text)


def _json_float(text: str) -> int | Decimal:
    if len(text) <= _SHORT_FLOAT and "e" not in text and "E" not in text:
        return Decimal(text)
    return _number(text)


def _json_constant(text: str) -> NoReturn:
    raise LineProblem(f"{text} is not a number JSON allows")


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    record = dict(pairs)
    if len(record) < len(pairs):
        raise LineProblem(f"duplicate key {_first_duplicate(pairs)!r}")
    return record


def _first_duplicate(pairs: list[tuple[str, Any]]) -> str:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return key[:40] + ("..." if len(key) > 40 else "")
        seen.add(key)
    raise AssertionError("no key repeats")


DECODER = json.JSONDecoder(parse_float=_json_float, parse_int=_json_int,
                           parse_constant=_json_constant, object_pairs_hook=_json_object)


def raw_lines(handle: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
    """Each line's number and bytes; None for a line longer than MAX_LINE_BYTES, which is
    read past in pieces and never held whole."""
    number = 0
    while line := handle.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(line) <= MAX_LINE_BYTES or line.endswith(b"\n"):
            yield number, line
            continue
        while line and not line.endswith(b"\n"):
            line = handle.readline(_SKIP_PIECE)
        yield number, None


def _depth(text: str) -> int:
    """How deep arrays and objects nest in a line of JSON (strings left out), computed
    without recursion or a Python loop over the characters."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)


def _lone_surrogate(value: Any) -> str | None:
    """The first unpaired UTF-16 surrogate in a decoded JSON value's text, keys included
    (the decoder joins a valid pair into one character), or None; walked without
    recursion."""
    pending = [value]
    while pending:
        item = pending.pop()
        if type(item) is str:
            found = _SURROGATE.search(item)
            if found:
                return found.group()
        elif type(item) is dict:
            pending += item
            pending += item.values()
        elif type(item) is list:
            pending += item
    return None


def parse_line(raw: bytes) -> Any:
    """The JSON value of one line (a BOM of the file already removed), or LineProblem.
    The costly checks run only on the lines that could need them: depth when the line holds
    more than MAX_DEPTH brackets, surrogates when it holds a surrogate escape."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise LineProblem(f"not UTF-8 (byte {error.start + 1})") from None
    if "\ufeff" in text:
        raise LineProblem("a byte-order mark (U+FEFF) inside the file; only the file's "
                          "first line may start with one")
    if text.count("[") + text.count("{") > MAX_DEPTH and _depth(text) > MAX_DEPTH:
        raise LineProblem(f"arrays or objects nested more than {MAX_DEPTH} deep")
    try:
        value = DECODER.decode(text)
    except json.JSONDecodeError as error:
        raise LineProblem(f"not valid JSON ({error.msg} at column {error.colno})") from None
    if _SURROGATE_ESCAPE.search(text):
        surrogate = _lone_surrogate(value)
        if surrogate is not None:
            raise LineProblem(f"text holds \\u{ord(surrogate):04x}, half of a UTF-16 "
                              "surrogate pair without its other half")
    return value


def read_jsonl(path: Path) -> Iterator[JsonLine]:
    """Each non-blank line of a JSONL file with its JSON value, or with the problem that
    keeps it from having one (see parse_line): one line's problem is never the end of the
    file. A UTF-8 byte-order mark at the start of the file is an encoding signature (many
    Windows exports write one) and is dropped; anywhere else it is a problem of its line."""
    with path.open("rb") as handle:
        for number, raw in raw_lines(handle):
            if raw is None:
                yield JsonLine(number, None, f"a line longer than {MAX_LINE_BYTES:,} bytes")
                continue
            if number == 1 and raw.startswith(BOM):
                raw = raw[len(BOM):]
            if raw[:1] in JSON_SPACE and not raw.strip(JSON_SPACE):
                continue  # blank
            try:
                value = parse_line(raw)
            except LineProblem as problem:
                yield JsonLine(number, None, str(problem))
                continue
            yield JsonLine(number, value, None)


# -- output ------------------------------------------------------------------------------

def _encode(value: Any, numbers_as_text: bool) -> str:
    encode = _ENCODERS.get(type(value))
    if encode is None:
        raise TypeError(f"cannot serialise {type(value).__name__}")
    return encode(value, numbers_as_text)


def _decimal(value: Decimal, numbers_as_text: bool) -> str:
    text = runtime.plain(value)
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
