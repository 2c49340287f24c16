"""The input conversions the generated record checks call: each turns a JSON value into its
field's type within the bounds of runtime.py, or raises InvalidRecord naming the field and
saying, in words, what was found."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, NoReturn

from engine.compile.runtime import (
    DECIMAL_CONTEXT,
    LARGEST_WHOLE,
    MAX_FRACTION_DIGITS,
    MAX_NUMBER_TEXT,
    MAX_WHOLE_DIGITS,
    Money,
    RuleError,
    datetime,
    in_range,
    json_kind,
    shown,
)

MAX_DATETIME_TEXT = 64  # an ISO 8601 date-time has at most 32


class InvalidRecord(Exception):
    """A record that does not fit its entity; names the field and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


def invalid(field: str, reason: str) -> NoReturn:
    raise InvalidRecord(field, reason)


def _out_of_range(value: Any, field: str) -> None:
    invalid(field, f"{shown(value)} is out of range (at most {MAX_WHOLE_DIGITS} digits "
                   f"before the decimal point and {MAX_FRACTION_DIGITS} after)")


def _decimal_text(text: str) -> Decimal | None:
    """A decimal written as plain ASCII text of bounded length ("12.50", "-3", "1e3"), or
    None. Digit separators ("1_000") and other scripts' digits are not decimals here."""
    if len(text) > MAX_NUMBER_TEXT or not text.isascii() or "_" in text:
        return None
    try:
        return Decimal(text, DECIMAL_CONTEXT)
    except ArithmeticError:
        return None


def as_string(value: Any, field: str) -> str:
    if not isinstance(value, str):
        invalid(field, f"expected text, found {json_kind(value)}")
    return str(value)


def as_int(value: Any, field: str) -> int:
    """An integer within the bounds; a decimal that is a whole number (60.0, 6E+1) is one.
    The bounds are checked before any conversion, so 1E+1000000 costs nothing."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        invalid(field, f"expected an integer, found {json_kind(value)}")
    if isinstance(value, int):
        if not -LARGEST_WHOLE < value < LARGEST_WHOLE:
            _out_of_range(value, field)
        return int(value)
    if not in_range(value):
        _out_of_range(value, field)
    if value != value.to_integral_value():
        invalid(field, f"expected an integer, found {shown(value)}")
    return int(value)


def as_decimal(value: Any, field: str) -> Decimal:
    """A decimal within the bounds, from a JSON number or from text ("12.50")."""
    if isinstance(value, str):
        number = _decimal_text(value.strip())
        if number is None or not number.is_finite():
            invalid(field, f"expected a decimal, found {shown(value)}")
    elif isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        invalid(field, f"expected a decimal, found {json_kind(value)}")
    else:
        number = Decimal(as_int(value, field)) if isinstance(value, int) else value
    if not in_range(number):
        _out_of_range(value, field)
    return Decimal(number)


def as_bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        invalid(field, f"expected true or false, found {json_kind(value)}")
    return bool(value)


def as_date(value: Any, field: str) -> dt.date:
    if isinstance(value, str) and len(value) == 10 and value.isascii() and \
            value[4] == value[7] == "-":
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    invalid(field, f"expected a date YYYY-MM-DD, found {shown(value)}")


def as_datetime(value: Any, field: str) -> dt.datetime:
    if isinstance(value, str) and len(value) <= MAX_DATETIME_TEXT and value.isascii():
        try:
            return datetime(value)
        except RuleError as error:
            invalid(field, str(error))
    invalid(field, f"expected an ISO 8601 date-time, found {shown(value)}")


def as_money(value: Any, field: str) -> Money:
    if isinstance(value, dict) and set(value) == {"amount", "currency"}:
        return Money(as_decimal(value["amount"], field), as_string(value["currency"], field))
    invalid(field, f"expected {{amount, currency}}, found {json_kind(value)}")


def as_enum(value: Any, members: tuple[str, ...], field: str) -> str:
    if value not in members:
        invalid(field, f"{shown(value)} is not one of {', '.join(members)}")
    return str(value)


def as_list(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        invalid(field, f"expected a list, found {json_kind(value)}")
    return list(value)


def at_least(value: Any, minimum: int, field: str) -> Any:
    if value < minimum:
        invalid(field, f"must be at least {minimum}, found {value}")
    return value
