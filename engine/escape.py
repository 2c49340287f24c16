"""Text from records, made safe for where a report writes it. Ids and names come from vendor
feeds and reference data: whatever they hold, a terminal shows them as text and a
spreadsheet reads them as text. (The Beancount ledger quotes its own: engine/ledger.py.)

- `printable`: every character that a terminal or an editor would act on rather than show
  (C0 and C1 controls, DEL, line and paragraph separators, bidi and other format
  characters, lone surrogates) becomes a visible escape such as `\\n`, `\\x1b` or
  `\\u202e`.
- `csv_cell`: printable, and a cell that a spreadsheet would run as a formula (starting
  with `=`, `+`, `-`, `@`, a tab or a carriage return: the OWASP rule) starts with `'`.
  A numeric column keeps a plain number such as `-12.50` as it is: the caller says which
  columns are numeric, and only a value that is wholly a decimal number is kept.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


@lru_cache(maxsize=512)
def _is_unsafe(char: str) -> bool:
    return unicodedata.category(char) in UNSAFE_CATEGORIES


def _escaped(char: str) -> str:
    named = NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """The text with every character a terminal would act on shown as an escape."""
    if text.isprintable() and text.isascii():
        return text
    return "".join(_escaped(c) if _is_unsafe(c) else c for c in text)


def csv_cell(text: str, numeric: bool = False) -> str:
    """A CSV cell a spreadsheet reads as text: printable, a formula's first character
    defused with a leading quote. In a numeric column a plain decimal number is kept."""
    if numeric and PLAIN_NUMBER.fullmatch(text):
        return text
    if text.startswith(FORMULA_START):
        text = "'" + text
    return printable(text)
