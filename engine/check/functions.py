"""The typed function library: the signature and result type of every function.

Each entry names the runtime function that implements it (engine.compile.runtime), so the
generated code can reach nothing else. Lookups, lambdas and aggregates are typed by the
checker itself (they need the entity catalogue or a scope); the rest is declared here.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass

from engine.check.types import (
    ANY,
    BOOL,
    DATE,
    DATETIME,
    DECIMAL,
    INT,
    MONEY,
    STRING,
    EnumT,
    ListT,
    Prim,
    Type,
    assignable,
    join,
)
from engine.compile.runtime import FILL_MODES as FILL_MODES  # the modes fill() knows

ROUNDING_MODES = ("half_up", "half_even", "half_down", "up", "down", "ceiling", "floor")
# round_to (integers, e.g. minutes to an increment) also accepts the names contracts use.
INCREMENT_MODES = (*ROUNDING_MODES, "none", "nearest")

# The parameter kinds a signature can ask for.
NUMBER = "number"  # int or decimal
TEXT = "text"  # string or enum
SCALAR = "scalar"  # any primitive or enum


def _accepts(kind: str | Type, actual: Type) -> bool:
    if actual == ANY:
        return True
    if kind == NUMBER:
        return actual in (INT, DECIMAL)
    if kind == TEXT:
        return actual == STRING or isinstance(actual, EnumT)
    if kind == SCALAR:
        return isinstance(actual, (Prim, EnumT))
    assert isinstance(kind, Type)
    return assignable(actual, kind)


def kind_name(kind: str | Type) -> str:
    if isinstance(kind, Type):
        return kind.name
    return {NUMBER: "int or decimal", TEXT: "string", SCALAR: "a scalar"}[kind]


@dataclass(frozen=True)
class Signature:
    """A plain function: fixed parameters (or a variadic tail) and a result rule."""

    params: tuple[tuple[str, str | Type], ...]
    result: Callable[[list[Type]], Type]
    variadic: bool = False
    mode_param: str | None = None  # a parameter that must name a rounding mode
    modes: tuple[str, ...] = ROUNDING_MODES
    doc: str = ""


def _fixed(t: Type) -> Callable[[list[Type]], Type]:
    return lambda _: t


def _widest(args: list[Type]) -> Type:
    return DECIMAL if DECIMAL in args else (args[0] if args else ANY)


def _coalesce(args: list[Type]) -> Type:
    result: Type | None = args[0] if args else ANY
    for arg in args[1:]:
        result = join(result, arg) if result is not None else None
    return result if result is not None else ANY


FUNCTIONS: dict[str, Signature] = {
    "round": Signature((("value", NUMBER), ("places", INT), ("mode", TEXT)), _fixed(DECIMAL),
                       mode_param="mode", doc="round to places decimals with the declared mode"),
    "round_minor": Signature((("value", NUMBER), ("currency", TEXT), ("mode", TEXT)),
                             _fixed(DECIMAL), mode_param="mode",
                             doc="round to the currency's minor unit (ISO 4217)"),
    "round_to": Signature((("value", INT), ("increment", INT), ("mode", TEXT)), _fixed(INT),
                          mode_param="mode", modes=INCREMENT_MODES,
                          doc="round an integer to a multiple of increment"),
    "minor_units": Signature((("currency", TEXT),), _fixed(INT)),
    "minor_unit": Signature((("currency", TEXT),), _fixed(DECIMAL),
                            doc="the value of one minor unit: 0.01 for USD, 1 for JPY"),
    "money": Signature((("amount", NUMBER), ("currency", TEXT)), _fixed(MONEY)),
    "abs": Signature((("value", NUMBER),), _widest),
    "min": Signature((("a", NUMBER), ("b", NUMBER)), _widest),
    "max": Signature((("a", NUMBER), ("b", NUMBER)), _widest),
    "to_decimal": Signature((("value", SCALAR),), _fixed(DECIMAL), doc="exact: text or int"),
    "to_int": Signature((("value", SCALAR),), _fixed(INT), doc="exact: fails on a fraction"),
    "str": Signature((("value", SCALAR),), _fixed(STRING), doc="canonical text of a value"),
    "date": Signature((("text", TEXT),), _fixed(DATE), doc="parse YYYY-MM-DD"),
    "datetime": Signature((("text", TEXT),), _fixed(DATETIME), doc="parse ISO 8601"),
    "date_of": Signature((("value", DATETIME),), _fixed(DATE)),
    "epoch_seconds": Signature((("value", DATETIME),), _fixed(INT)),
    "period": Signature((("day", DATE),), _fixed(STRING), doc="the month YYYY-MM of a date"),
    "period_start": Signature((("period", TEXT),), _fixed(DATE)),
    "period_end": Signature((("period", TEXT),), _fixed(DATE)),
    "add_days": Signature((("day", DATE), ("days", INT)), _fixed(DATE)),
    "periods": Signature((("first", TEXT), ("last", TEXT)), _fixed(ListT(STRING)),
                         doc="the months from first to last, YYYY-MM, in order"),
    "days_between": Signature((("start", DATE), ("end", DATE)), _fixed(INT)),
    "concat": Signature((("parts", SCALAR),), _fixed(STRING), variadic=True),
    "key": Signature((("parts", SCALAR),), _fixed(STRING), variadic=True,
                     doc="a deterministic id: the parts joined by ':'"),
    "join": Signature((("items", ListT(STRING)), ("separator", TEXT)), _fixed(STRING),
                      doc="the items' text, separated"),
    "upper": Signature((("text", TEXT),), _fixed(STRING)),
    "lower": Signature((("text", TEXT),), _fixed(STRING)),
    "trim": Signature((("text", TEXT),), _fixed(STRING)),
    "length": Signature((("text", TEXT),), _fixed(INT)),
    "replace": Signature((("text", TEXT), ("old", TEXT), ("new", TEXT)), _fixed(STRING)),
    "starts_with": Signature((("text", TEXT), ("prefix", TEXT)), _fixed(BOOL)),
    "coalesce": Signature((("values", ANY),), _coalesce, variadic=True),
}

# Functions over lists that the checker types itself.
LIST_FUNCTIONS = ("count", "first", "last", "sum", "map", "filter", "any", "all", "sort",
                  "sort_by", "allocate", "fill", "scan", "compact", "zip")
# How fill() takes items against its bound: whole items until one does not fit, which is
# taken in part (then nothing); every item that fits whole; or whole batches only.
LOOKUP_FUNCTIONS = ("lookup", "lookup_all")
# Aggregates, valid only at the top of a group rule's `aggregate:` entries.
AGGREGATES = ("sum", "count", "min", "max", "collect", "first", "any", "all")

PYTHON_BUILTINS = frozenset(name for name in dir(builtins) if not name.startswith("_"))


def list_item(t: Type) -> Type | None:
    return t.item if isinstance(t, ListT) else None

