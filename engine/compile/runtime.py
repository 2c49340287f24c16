"""The narrow runtime that generated code may call: null handling, Decimal arithmetic,
dates and periods, rounding with a declared mode, text, lists, and indexed lookups.

Nothing here knows about billing, vendors or contracts. Money is Decimal throughout; a
float never enters (JSON numbers are parsed straight to Decimal by the reader).
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from typing import Any

DECIMAL_CONTEXT = Context(prec=40, rounding=ROUND_HALF_EVEN,
                          traps=[InvalidOperation, DivisionByZero, Overflow])
_LARGEST_PRODUCT = 10 ** DECIMAL_CONTEXT.prec
MODES = {
    "half_up": ROUND_HALF_UP, "nearest": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN,
    "half_down": ROUND_HALF_DOWN, "up": ROUND_UP, "down": ROUND_DOWN,
    "ceiling": ROUND_CEILING, "floor": ROUND_FLOOR,
}
# ISO 4217 minor units of common currencies; a project's policy may add more.
MINOR_UNITS: dict[str, int] = {
    "USD": 2, "EUR": 2, "GBP": 2, "CAD": 2, "AUD": 2, "NZD": 2, "CHF": 2, "SEK": 2, "NOK": 2,
    "DKK": 2, "PLN": 2, "CZK": 2, "HUF": 2, "SGD": 2, "HKD": 2, "CNY": 2, "INR": 2, "MXN": 2,
    "BRL": 2, "ZAR": 2, "AED": 2, "SAR": 2, "ILS": 2, "TRY": 2, "JPY": 0, "KRW": 0, "CLP": 0,
    "ISK": 0, "VND": 0, "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3, "TND": 3,
}


class RuleError(Exception):
    """A failure inside a rule on one record: the record becomes a RULE_ERROR exception."""


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    def __getitem__(self, name: str) -> Any:
        """A money's two fields, read like a record's (nothing else of the object)."""
        if name == "amount":
            return self.amount
        if name == "currency":
            return self.currency
        raise RuleError(f"money has no field '{name}'")

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise RuleError(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __radd__(self, other: object) -> Money:
        if other == 0:
            return self
        return NotImplemented

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __truediv__(self, divisor: Decimal | int) -> Money:
        return Money(self.amount / divisor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount


def shown(value: Any, limit: int = 60) -> str:
    """A value as a message shows it, cut to `limit` characters (a record can hold anything):
    text quoted with control characters escaped, a number as written (1E+999999 stays
    short), a list or an object by its kind."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return "a number of more than 77 digits"
    if value is None or isinstance(value, (list, dict)):
        return json_kind(value)
    form = repr(value) if isinstance(value, str) else \
        str(value) if isinstance(value, Decimal) else text(value)
    return form if len(form) <= limit else form[:limit - 1] + "…"


# -- null handling -----------------------------------------------------------------------

def unwrap(value: Any, what: str) -> Any:
    if value is None:
        absent(what)
    return value


def absent(what: str) -> Any:
    raise RuleError(f"{what} is absent")


def coalesce(*values: Any) -> Any:
    for value in values:
        if value is not None:
            return value
    return None


# -- numbers -----------------------------------------------------------------------------

def mul(a: Any, b: Any) -> Any:
    """a * b. Decimals stay within the context's 40 digits; a whole number may not pass
    10^40 either, so repeated multiplication cannot grow one without bound."""
    product = a * b
    if type(product) is int and not -_LARGEST_PRODUCT < product < _LARGEST_PRODUCT:
        raise RuleError(f"a product of whole numbers is out of range (at most "
                        f"{DECIMAL_CONTEXT.prec} digits)")
    return product


def div(a: Decimal | int | Money, b: Decimal | int) -> Any:
    if b == 0:
        raise RuleError("division by zero")
    if isinstance(a, int):
        return Decimal(a) / b
    return a / b


_EXPONENTS = {places: Decimal(1).scaleb(-places) for places in range(0, 13)}


def round(value: Decimal | int, places: int, mode: str) -> Decimal:
    exponent = _EXPONENTS.get(places) or Decimal(1).scaleb(-places)
    return Decimal(value).quantize(exponent, rounding=MODES[mode])


def minor_units(currency: str) -> int:
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise RuleError(f"unknown currency '{currency}' (no ISO 4217 minor unit)") from None


def round_minor(value: Decimal | int, currency: str, mode: str) -> Decimal:
    return round(value, minor_units(currency), mode)


def round_to(value: int, increment: int, mode: str) -> int:
    """An integer rounded to a multiple of increment (none: unchanged)."""
    if mode == "none" or increment <= 1:
        return value
    if value >= 0 and mode in ("up", "ceiling"):
        return -(-value // increment) * increment
    if value >= 0 and mode in ("down", "floor"):
        return value // increment * increment
    if value >= 0 and mode in ("nearest", "half_up"):
        return (2 * value + increment) // (2 * increment) * increment
    steps = (Decimal(value) / increment).quantize(Decimal(1), rounding=MODES[mode])
    return int(steps) * increment


def money(amount: Decimal | int, currency: str) -> Money:
    return Money(Decimal(amount), currency)


def abs(value: Any) -> Any:
    return -value if value < 0 else value


def min(a: Any, b: Any) -> Any:
    return a if a <= b else b


def max(a: Any, b: Any) -> Any:
    return a if a >= b else b


def to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise RuleError("cannot turn a bool into a decimal")
    try:
        result = Decimal(value) if isinstance(value, (int, str, Decimal)) else None
    except InvalidOperation:
        result = None
    if result is None or not result.is_finite():
        raise RuleError(f"not a decimal: {shown(value)}")
    return result


def minor_unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def to_int(value: Any) -> int:
    number = to_decimal(value)
    if number != number.to_integral_value():
        raise RuleError(f"not a whole number: {shown(value)}")
    if not in_range(number):
        # int() of a number with a huge exponent takes minutes: refuse before converting
        raise RuleError(f"{shown(value)} is out of range (at most {MAX_WHOLE_DIGITS} digits)")
    return int(number)


# -- text --------------------------------------------------------------------------------

def text(value: Any) -> str:
    """The canonical text of a value: decimals without exponent, ISO dates, true/false."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is int:
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Money):
        return f"{plain(value.amount)} {value.currency}"
    return str(value)



def plain(value: Decimal) -> str:
    """A decimal in plain notation with every digit, and never negative zero: -0.00 (from
    negating or rounding a tiny negative) is written 0.00."""
    return format(value.copy_abs() if value.is_zero() else value, "f")


def concat(*parts: Any) -> str:
    return "".join(text(p) for p in parts)


def key(*parts: Any) -> str:
    return ":".join(text(p) for p in parts)


def join(items: Sequence[str], separator: str) -> str:
    return separator.join(items)


def upper(value: str) -> str:
    return value.upper()


def lower(value: str) -> str:
    return value.lower()


def trim(value: str) -> str:
    return value.strip()


def length(value: str) -> int:
    return len(value)


def replace(value: str, old: str, new: str) -> str:
    return value.replace(old, new)


def starts_with(value: str, prefix: str) -> bool:
    return value.startswith(prefix)


# -- dates and periods -------------------------------------------------------------------

def date(value: str) -> dt.date:
    try:
        if len(value) != 10:
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise RuleError(f"not a date (YYYY-MM-DD): {shown(value)}") from None


def datetime(value: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise RuleError(f"not a date-time (ISO 8601): {shown(value)}") from None
    if parsed.tzinfo is None:
        raise RuleError(f"date-time without a time zone: {shown(value)}")
    return parsed if parsed.tzinfo is dt.UTC else parsed.astimezone(dt.UTC)


def format_datetime(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def date_of(value: dt.datetime) -> dt.date:
    return value.date()


def epoch_seconds(value: dt.datetime) -> int:
    return int(value.timestamp())


def period(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _period_parts(value: str) -> tuple[int, int]:
    try:
        year, month = int(value[:4]), int(value[5:7])
        if len(value) != 7 or value[4] != "-" or not 1 <= month <= 12:
            raise ValueError
    except ValueError:
        raise RuleError(f"not a period (YYYY-MM): {shown(value)}") from None
    return year, month


@functools.lru_cache(maxsize=4096)
def period_start(value: str) -> dt.date:
    year, month = _period_parts(value)
    return dt.date(year, month, 1)


@functools.lru_cache(maxsize=4096)
def period_end(value: str) -> dt.date:
    year, month = _period_parts(value)
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def periods(first: str, last: str) -> list[str]:
    year, month = _period_parts(first)
    end = _period_parts(last)
    found = []
    while (year, month) <= end:
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def next_period(value: str) -> str:
    year, month = _period_parts(value)
    return f"{year + 1:04d}-01" if month == 12 else f"{year:04d}-{month + 1:02d}"


def add_days(day: dt.date, days: int) -> dt.date:
    return day + dt.timedelta(days=days)


def days_between(start: dt.date, end: dt.date) -> int:
    return (end - start).days


# -- lists -------------------------------------------------------------------------------

def count(items: Sequence[Any]) -> int:
    return len(items)


def first(items: Sequence[Any]) -> Any:
    return items[0] if items else None


def compact(items: Iterable[Any]) -> list[Any]:
    """The present values of a list, in order."""
    return [item for item in items if item is not None]


def zip_(left: Sequence[Any], right: Sequence[Any]) -> list[dict[str, Any]]:
    """Pairs of the items of two lists of the same length, in order."""
    if len(left) != len(right):
        raise RuleError(f"zip() of lists of different lengths ({len(left)} and {len(right)})")
    return [{"left": a, "right": b} for a, b in zip(left, right, strict=True)]


def last(items: Sequence[Any]) -> Any:
    return items[-1] if items else None


def allocate(items: Sequence[Any], weights: Sequence[Decimal | int], total: Decimal | int,
             places: int) -> list[dict[str, Any]]:
    """Split total over items in proportion to weights, to `places` decimals, by largest
    remainder (semantics.md, Conventions): exact shares are truncated toward zero; the
    difference D between the total and their sum is made up one unit at a time, with the
    sign of D, on the shares whose remainder has that sign, largest absolute remainder
    first, ties to the earlier item. With weights of one sign this is the usual method (a
    negative total split as its absolute value, then negated); with mixed signs (a document
    holding a credit line) the shares still sum to the total exactly. Weights summing to
    zero: an even split."""
    unit = Decimal(1).scaleb(-places)
    total = Decimal(total)
    if not items:
        if total:
            raise RuleError(f"cannot allocate {plain(total)} over no items")
        return []
    weight_sum = sum((Decimal(w) for w in weights), Decimal(0))
    if weight_sum == 0:
        weights, weight_sum = [1] * len(items), Decimal(len(items))
    exact = [total * Decimal(w) / weight_sum for w in weights]
    shares = [e.quantize(unit, rounding=ROUND_DOWN) for e in exact]
    missing = int((total - sum(shares, Decimal(0))) / unit)
    step = unit if missing > 0 else -unit
    eligible = [i for i in range(len(items)) if (exact[i] - shares[i]) * step > 0]
    eligible.sort(key=lambda i: (-abs(exact[i] - shares[i]), i))
    for position in eligible[:abs(missing)]:
        shares[position] += step
    return [{"item": item, "share": share if share else share.copy_abs()}  # never -0.00
            for item, share in zip(items, shares, strict=True)]


@dataclass(frozen=True)
class _Terms:
    """What taking an item costs on one set of terms: units at a unit value, within a bound,
    rounded with the group it counts in."""

    units: int
    price: Decimal
    bound: Decimal
    group: Any


class _Taking:
    """What fill() has taken so far: the total cost, and per rounding group the exact sum."""

    def __init__(self, places: int | None) -> None:
        self.places = places
        self.used = Decimal(0)
        self.sums: dict[Any, Decimal] = {}

    def cost(self, terms: _Terms, units: int, sums: dict[Any, Decimal] | None = None
             ) -> Decimal:
        """What taking `units` on `terms` adds to the rounded total of their group."""
        value = units * terms.price
        if self.places is None or terms.group is None:
            return value
        before = (sums if sums is not None else self.sums).get(terms.group, Decimal(0))
        return round(before + value, self.places, "half_up") - round(before, self.places,
                                                                       "half_up")

    def take(self, terms: _Terms, units: int, sums: dict[Any, Decimal] | None = None) -> None:
        target = sums if sums is not None else self.sums
        if terms.group is not None:
            target[terms.group] = target.get(terms.group, Decimal(0)) + units * terms.price

    def most_units(self, terms: _Terms, count: int) -> int:
        """The most whole units (up to count) whose cost still fits the bound."""
        left = terms.bound - self.used
        if terms.price <= 0:
            return count
        part: int = max(min(int(left // terms.price), count), 0)
        while part > 0 and self.cost(terms, part) > left:
            part -= 1
        while part < count and self.cost(terms, part + 1) <= left:
            part += 1
        return part


# How fill() takes items against its bound: whole items until one does not fit, which is
# taken in part (then nothing); every item that fits whole; or whole batches only.
FILL_MODES = ("partial_then_stop", "whole_items", "whole_batches")


@dataclass
class _Share:
    units: int = 0
    cost: Decimal = Decimal(0)  # of the bound, own and retry terms together
    retried: int = 0  # units taken on the retry terms
    first_over: bool = False


def fill(items: Sequence[Any], units: Sequence[int], unit_values: Sequence[Decimal | int],
         bound: Decimal | int | Sequence[Decimal | int], mode: str,
         batches: Sequence[Any] | None = None, groups: Sequence[Any] | None = None,
         places: int | None = None, retries: Sequence[dict[str, Any] | None] | None = None,
         divisible: Sequence[bool] | None = None) -> list[dict[str, Any]]:
    """Take items, in the order given, against a bound on their value (units x unit value).

    partial_then_stop: whole items while they fit; the first that does not is taken in
    whole units up to the bound, every later item not at all. whole_items: each item whole
    if it fits in what is left, else not at all. whole_batches: consecutive items with the
    same batch are taken all together if their total fits, else none of them. `first_over`
    marks the first item not taken whole (per batch, for whole_batches).

    The bound is one number, or one per item (the total taken, that item included, stays
    within the item's own bound; after a partial take, only a later item with a higher bound
    is taken again). With groups and places, an item costs what it adds to its group's total
    rounded to places (half up), so the rounded totals, not only the exact values, stay in
    the bound. An item's retry ({units, unit_value, bound, group}: other terms for it) is
    tried, right away and by the same mode, for what its own terms did not take. A divisible
    item (an amount rather than a piece of work, such as a write-up) is taken in part, up to
    the bound, whatever the mode; alone in its batch under whole_batches. A retry whose
    bound is None has none."""
    if mode not in FILL_MODES:
        raise RuleError(f"'{mode}' is not a fill mode ({', '.join(FILL_MODES)})")
    bounds = [Decimal(bound)] * len(items) if isinstance(bound, (Decimal, int)) \
        else [Decimal(b) for b in bound]
    own = [_Terms(units[k], Decimal(unit_values[k]), bounds[k],
                  groups[k] if groups is not None else None) for k in range(len(items))]
    alt = [None if r is None else _Terms(r["units"], Decimal(r["unit_value"]),
                                         _bound(r["bound"]), r["group"])
           for r in (retries if retries is not None else [None] * len(items))]
    state = _Taking(places)
    parts = list(divisible) if divisible is not None else [False] * len(items)
    if mode == "whole_batches":
        shares = _fill_batches(state, own, alt, batches, parts)
    else:
        shares = _fill_items(state, own, alt, mode, parts)
    return [{"item": item, "units": s.units, "value": s.units * own[k].price, "cost": s.cost,
             "retried": s.retried, "first_over": s.first_over}
            for k, (item, s) in enumerate(zip(items, shares, strict=True))]


def _bound(value: Decimal | int | None) -> Decimal:
    """A retry's bound; none: its terms have no bound (an uncapped later version)."""
    return Decimal("Infinity") if value is None else Decimal(value)


def _fill_items(state: _Taking, own: list[_Terms], alt: list[_Terms | None], mode: str,
                divisible: list[bool]) -> list[_Share]:
    shares = [_Share() for _ in own]
    marked = False
    stopped_at: Decimal | None = None  # partial_then_stop: the bound that stopped the taking
    for k, terms in enumerate(own):
        share = shares[k]
        for attempt, wanted in ((terms, terms.units), (alt[k], None)):
            if attempt is None or (stopped_at is not None and attempt.bound <= stopped_at):
                continue
            count = wanted if wanted is not None else max(attempt.units - share.units, 0)
            if count == 0:
                break
            taken = count if state.cost(attempt, count) <= attempt.bound - state.used else (
                state.most_units(attempt, count)
                if mode == "partial_then_stop" or divisible[k] else 0)
            cost = state.cost(attempt, taken)
            state.used += cost
            state.take(attempt, taken)
            share.cost += cost
            if attempt is terms:
                share.units = taken
            else:
                share.retried = taken
            if taken == count:
                break
            if mode == "partial_then_stop":
                stopped_at = attempt.bound
        retry = alt[k]
        whole = share.units == terms.units or (
            retry is not None and share.units + share.retried >= retry.units)
        if not whole and not marked:
            share.first_over = marked = True
    return shares


def _fill_batches(state: _Taking, own: list[_Terms], alt: list[_Terms | None],
                  batches: Sequence[Any] | None, divisible: list[bool]) -> list[_Share]:
    shares = [_Share() for _ in own]
    keys = batches if batches is not None else [None] * len(own)
    start = 0
    while start < len(own):
        end = start
        while end < len(own) and keys[end] == keys[start]:
            end += 1
        span = range(start, end)
        if not _take_batch(state, [(own[k], False) for k in span], [shares[k] for k in span]):
            retry = [(alt[k] or own[k], alt[k] is not None) for k in span]
            if not any(alt[k] is not None for k in span) or not _take_batch(
                    state, retry, [shares[k] for k in span]):
                shares[start].first_over = True
                if len(span) == 1 and divisible[start]:
                    _take_part(state, own[start], shares[start])
        start = end
    return shares


def _take_part(state: _Taking, terms: _Terms, share: _Share) -> None:
    """As many units of one item as fit the bound."""
    taken = state.most_units(terms, terms.units)
    share.cost = state.cost(terms, taken)
    state.used += share.cost
    state.take(terms, taken)
    share.units = taken


def _take_batch(state: _Taking, terms: list[tuple[_Terms, bool]], shares: list[_Share]
                ) -> bool:
    """Take a batch whole if it fits, else nothing. Each item's terms come with whether
    they are its retry terms."""
    trial, total, costs = dict(state.sums), Decimal(0), []
    for item, _ in terms:
        costs.append(state.cost(item, item.units, trial))
        total += costs[-1]
        state.take(item, item.units, trial)
        if total > item.bound - state.used:
            return False
    state.used += total
    state.sums = trial
    for (item, retried), share, cost in zip(terms, shares, costs, strict=True):
        share.cost += cost
        if retried:
            share.retried = item.units
        else:
            share.units = item.units
    return True


def scan(items: Sequence[Any], init: Any, step: Any) -> list[Any]:
    """A fold: the accumulator after each item, step({acc, item}) giving the next one."""
    results, acc = [], init
    for item in items:
        acc = step({"acc": acc, "item": item})
        results.append(acc)
    return results


def sum_list(items: Iterable[Any]) -> Any:
    total: Any = 0
    for item in items:
        total = total + item
    return total


def sort(items: Iterable[Any]) -> list[Any]:
    return sorted(items, key=sort_key)


def sort_by(items: Sequence[Any], keys: Sequence[Any]) -> list[Any]:
    """items ordered by their keys (absent keys first); equal keys keep their order."""
    order = sorted(range(len(items)), key=lambda i: sort_key(keys[i]))
    return [items[i] for i in order]


def index(items: Sequence[Any], position: int) -> Any:
    return items[position] if 0 <= position < len(items) else None


def sort_key(value: Any) -> tuple[Any, ...]:
    """A total order over values that may be absent (absent first)."""
    if isinstance(value, tuple):
        return tuple(sort_key(v) for v in value)
    if value is None:
        return (0, "")
    if isinstance(value, dict):
        return (1, tuple(sorted((k, sort_key(v)) for k, v in value.items())))
    if isinstance(value, Money):
        return (1, value.currency, value.amount)
    return (1, value)


# -- bounds of input numbers ---------------------------------------------------------------

# The bounds of an input number: at most 20 digits before the decimal point and 20 after.
# Money, rates and quantities never need more, every number in range is exact in the
# decimal context (40 digits), and no conversion of one costs more than a few digits.
MAX_WHOLE_DIGITS = 20
MAX_FRACTION_DIGITS = 20
MAX_NUMBER_TEXT = 64  # characters of a number written as text (a JSON literal or "12.50")
LARGEST_WHOLE = 10 ** MAX_WHOLE_DIGITS


def in_range(value: Decimal) -> bool:
    """Whether a decimal is finite, below 10^20 in size and has at most 20 digits after
    the point (checked on its exponents alone: no digit is converted)."""
    return value.is_finite() and value.adjusted() < MAX_WHOLE_DIGITS and \
        int(value.as_tuple().exponent) >= -MAX_FRACTION_DIGITS


def json_kind(value: Any) -> str:
    """What a JSON value is, in words (never a Python class name)."""
    if value is None:
        return "null"
    for types, kind in ((bool, "true/false"), ((int, Decimal), "a number"), (str, "text"),
                        (list, "a list"), (dict, "an object")):
        if isinstance(value, types):
            return kind
    return "a value of another kind"


# -- lookups -----------------------------------------------------------------------------

NO_ROWS: list[dict[str, Any]] = []


class Index:
    """Rows of one entity by key fields; dated lookups pick the rows in force on a day.

    With an `effective_to` field (inclusive), every row whose span holds the day is in
    force. Without one (or with `latest`), a row is in force from its `effective_from` until
    a later row of the same thing (`of`: by default its entity key but the dating and version
    fields) starts, and up to its own `effective_to`: the latest row on or before the day.
    Rows of one thing starting the same day are all in force: an overlap for the rules to
    report. With a version field, only the latest version in force is returned.
    """

    def __init__(self, rows: Iterable[dict[str, Any]], keys: Sequence[str],
                 effective_from: str | None = None, effective_to: str | None = None,
                 version: str | None = None, entity_key: Sequence[str] = (),
                 of: Sequence[str] = (), latest: bool = False) -> None:
        self.effective_from, self.effective_to, self.version = effective_from, effective_to, version
        self.latest = latest or effective_to is None
        self.entity_key = tuple(k for k in entity_key if k != version)
        self.identity = tuple(of) or tuple(
            k for k in self.entity_key if k not in (effective_from, effective_to))
        self.rows: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        # Rows in force per (key, day): days repeat across records, so this is a memo.
        self._in_force: dict[tuple[tuple[Any, ...], dt.date], list[dict[str, Any]]] = {}
        for row in rows:
            for key in _row_keys(row, keys):
                self.rows.setdefault(key, []).append(row)
        order = (effective_from,) if effective_from else ()
        for bucket in self.rows.values():
            bucket.sort(key=lambda r: sort_key(tuple(r[k] for k in (*order, *self.entity_key))))

    def all(self, key: tuple[Any, ...], at: dt.date | None = None) -> list[dict[str, Any]]:
        if at is None or self.effective_from is None:
            return self.rows.get(key, NO_ROWS)
        cached = self._in_force.get((key, at))
        if cached is None:
            rows = self.rows.get(key, NO_ROWS)
            cached = self._in_force[(key, at)] = self._rows_in_force(rows, at)
        return cached

    def _rows_in_force(self, rows: list[dict[str, Any]], at: dt.date) -> list[dict[str, Any]]:
        start, end, version = self.effective_from, self.effective_to, self.version
        assert start is not None

        def holds(row: dict[str, Any]) -> bool:
            return end is None or row[end] is None or at <= row[end]
        if not self.latest:  # spans: every row whose span holds the day
            found = [r for r in rows if r[start] <= at and holds(r)]
            return found if version is None else self._newest(found, start, version)
        return [r for r in self._newest([r for r in rows if r[start] <= at], start, version)
                if holds(r)]

    def _newest(self, rows: list[dict[str, Any]], start: str, version: str | None
                ) -> list[dict[str, Any]]:
        """Per thing, its rows of the latest (effective_from, version): one, or an overlap."""
        newest: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for row in rows:
            ident = tuple(row[k] for k in self.identity)
            current = newest.get(ident)
            dated = _dated(row, start, version)
            if current is None or dated > _dated(current[0], start, version):
                newest[ident] = [row]
            elif dated == _dated(current[0], start, version):
                current.append(row)
        return [row for group in newest.values() for row in group]

    def one(self, key: tuple[Any, ...], at: dt.date | None = None) -> dict[str, Any] | None:
        rows = self.all(key, at)
        if len(rows) == 1:
            return rows[0]
        if len(rows) > 1:
            raise RuleError(f"lookup is ambiguous: {len(rows)} rows match "
                            f"{', '.join(shown(part) for part in key)}")
        return rows[0] if rows else None


def _row_keys(row: dict[str, Any], keys: Sequence[str]) -> Iterable[tuple[Any, ...]]:
    """The keys a row is found by: a list field is found by each of its (distinct) items."""
    values = [row[k] for k in keys]
    if not any(isinstance(v, list) for v in values):
        return (tuple(values),)
    return itertools.product(*(dict.fromkeys(v) if isinstance(v, list) else (v,)
                               for v in values))


def _dated(row: dict[str, Any], start: str, version: str | None) -> tuple[Any, ...]:
    return (row[start], row[version]) if version is not None else (row[start],)


def lookup_one(indexes: dict[str, Index], name: str, key: tuple[Any, ...],
               at: dt.date | None) -> dict[str, Any] | None:
    """The one row of an indexed entity with this key (in force on `at`), or None."""
    return indexes[name].one(key, at)


def lookup_all(indexes: dict[str, Index], name: str, key: tuple[Any, ...],
               at: dt.date | None) -> list[dict[str, Any]]:
    """Every row of an indexed entity with this key (in force on `at`)."""
    return indexes[name].all(key, at)
