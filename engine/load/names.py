"""The identifier rule: what a name the language uses may be, checked at load.

One rule for every name an expression can say (`let`, `require`, `by` and `aggregate` keys,
`as`, `emit_each.for`, the fields of canonical entities and of emitted records): an ASCII
letter, then ASCII letters, digits and underscores, at most 64 characters, and not a word of
the expression language. Definitions (entities, streams, rules, mappings, packs) follow the
same rule in lower case. Vendor field names are data, not names: any non-empty text without
control characters. ARCHITECTURE.md ("Identifiers and limits") documents the rule; a test
keeps :data:`KEYWORDS` in step with expr.lark.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from engine.escape import printable

IDENTIFIER_MAX_LENGTH = 64
VENDOR_KEY_MAX_LENGTH = 256

# JSON Schema (ECMA-262) and pydantic (Rust regex) both read `$` as the end of the text, not
# "before a final newline" as Python's re does; the Python checks below use fullmatch.
IDENTIFIER_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
DEFINITION_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"

# The words of the expression language (expr.lark): never a name.
KEYWORDS = frozenset({"if", "then", "else", "let", "in", "and", "or", "not", "true", "false",
                      "null", "with"})

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_DEFINITION = re.compile(r"[a-z][a-z0-9_]*")

# Text that is never part of a spec: C0 controls but tab, LF and CR; DEL; C1 controls;
# surrogates; the non-characters U+FFFE and U+FFFF; and the bidirectional controls that make
# text read differently from how it runs ("Trojan Source").
UNSAFE_CHARACTERS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff"
    "\u202a-\u202e\u2066-\u2069]")


class NameProblem(NamedTuple):
    """Why a name breaks its rule, and a hint (the homoglyph it holds, if any)."""

    message: str
    hint: str | None = None


def identifier_problem(name: str) -> NameProblem | None:
    """Why name is not an identifier, or None when it is one. Rejects empty, non-ASCII
    (homoglyphs such as fullwidth 'ｘ' included), over-long and keyword names."""
    return _problem(name, _IDENTIFIER, "a letter")


def definition_problem(name: str) -> NameProblem | None:
    """Why name cannot name a definition (entity, stream, rule, mapping, pack): the
    identifier rule in lower case."""
    return _problem(name, _DEFINITION, "a lower-case letter")


def _problem(name: str, shape: re.Pattern[str], first: str) -> NameProblem | None:
    if not name:
        return NameProblem("a name cannot be empty")
    if len(name) > IDENTIFIER_MAX_LENGTH:
        return NameProblem(f"a name has at most {IDENTIFIER_MAX_LENGTH} characters "
                           f"({len(name):,} given)")
    if shape.fullmatch(name) is None:
        return NameProblem(f"'{printable(name)}' is not a valid name: it must start with {first}, "
                           "then letters, digits or '_' (ASCII)", non_ascii_hint(name))
    if name in KEYWORDS:
        return NameProblem(f"'{name}' is a word of the expression language, not a name")
    return None


def vendor_key_problem(key: str) -> NameProblem | None:
    """Why key cannot be a vendor field name, or None. A vendor's field names are its JSON
    keys (`pse__Proj__c`, `o:errorDetails`): any non-empty text of at most 256 characters
    without control characters (tab and line breaks included)."""
    if not key:
        return NameProblem("a vendor field name cannot be empty")
    if len(key) > VENDOR_KEY_MAX_LENGTH:
        return NameProblem(f"a vendor field name has at most {VENDOR_KEY_MAX_LENGTH} characters")
    bad = next((c for c in key if c < " " or c in "\u2028\u2029" or UNSAFE_CHARACTERS.match(c)),
               None)
    if bad is not None:
        return NameProblem("a vendor field name cannot hold the control character "
                           f"{_codepoint(bad)}")
    return None


def non_ascii_hint(text: str, rule: str = "names are ASCII") -> str | None:
    """A hint for the first non-ASCII character of text (a homoglyph such as 'ｘ'), naming
    it and, when it has one, its ASCII look-alike; None when text is ASCII."""
    char = next((c for c in text if not c.isascii()), None)
    if char is None:
        return None
    plain = unicodedata.normalize("NFKC", char)
    shown = f"'{char}'" if char.isprintable() else "the character"
    described = f"{shown} is {_codepoint(char)} {unicodedata.name(char, 'unnamed')}"
    if plain.isascii() and plain.isprintable():
        return f"{described}, not the ASCII '{plain}'; {rule}"
    return f"{described}; {rule}"


def _codepoint(char: str) -> str:
    return f"U+{ord(char):04X}"
