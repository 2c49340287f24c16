"""run/records: the JSONL reader bounds what one line may cost, and says in words why a
line holds no record."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest

from engine.run import records
from engine.run.records import JsonLine, OutOfRange, read_jsonl


def lines_of(tmp_path: Path, content: bytes) -> list[JsonLine]:
    path = tmp_path / "input.jsonl"
    path.write_bytes(content)
    return list(read_jsonl(path))


def problem_of(tmp_path: Path, line: bytes) -> str | None:
    [read] = lines_of(tmp_path, line + b"\n")
    return read.problem


def test_each_non_blank_line_is_numbered_with_its_value_or_problem(tmp_path: Path) -> None:
    """Blank lines (JSON white space only) are skipped but counted in the numbering."""
    read = lines_of(tmp_path, b'{"a": 1}\n\n \t\r\n[2]\n{oops\n')
    assert [(r.number, r.value) for r in read] == [(1, {"a": 1}), (4, [2]), (5, None)]
    assert read[2].problem is not None and read[2].problem.startswith("not valid JSON")


def test_white_space_json_does_not_know_is_a_problem_not_a_blank_line(tmp_path: Path) -> None:
    """A line of a form feed or a no-break space is not silently dropped."""
    assert problem_of(tmp_path, b"\x0c") is not None
    assert problem_of(tmp_path, "\u00a0".encode()) is not None


def test_numbers_are_exact_and_in_range_numbers_keep_their_type(tmp_path: Path) -> None:
    """Integers are ints, other numbers Decimals; 20 digits before the point and 20 after
    are in range."""
    [read] = lines_of(tmp_path, b'[60, -12345678901234567890, 0.90, 1.5e3, '
                                b'99999999999999999999.99999999999999999999]')
    assert read.value == [60, -12345678901234567890, Decimal("0.90"), Decimal("1500"),
                          Decimal("99999999999999999999.99999999999999999999")]
    assert [type(v) for v in read.value] == [int, int, Decimal, Decimal, Decimal]


@pytest.mark.parametrize("literal", ["1e1000000", "123456789012345678901", "1e-21",
                                     "0.000000000000000000001", "-1E+20", "0e30"])
def test_a_number_out_of_range_is_read_as_out_of_range(tmp_path: Path, literal: str) -> None:
    """Not of type Decimal or int: no fast path of a generated check takes it, and its
    field's check refuses it by name."""
    [read] = lines_of(tmp_path, f"[{literal}]".encode())
    [value] = read.value
    assert type(value) is OutOfRange and value == Decimal(literal)


@pytest.mark.parametrize(("literal", "problem"), [
    ("9" * 5000, "a number of 5,000 characters (at most 64)"),
    ("1e99999999999999999999999", "number 1e99999999999999999999999 is out of range"),
    ("NaN", "NaN is not a number JSON allows"),
    ("Infinity", "Infinity is not a number JSON allows"),
    ("-Infinity", "-Infinity is not a number JSON allows"),
])
def test_a_number_the_reader_will_not_hold_is_a_problem_of_its_line(
        tmp_path: Path, literal: str, problem: str) -> None:
    """Over-long literals (the decoder would raise ValueError past 4,300 digits), exponents
    no decimal holds, and JSON's forbidden NaN and Infinity."""
    assert problem_of(tmp_path, f'{{"a": {literal}}}'.encode()) == problem


def test_a_duplicate_key_is_a_problem_at_any_depth(tmp_path: Path) -> None:
    """A second value for a key would silently replace the first."""
    assert problem_of(tmp_path, b'{"x": 1, "x": 2}') == "duplicate key 'x'"
    assert problem_of(tmp_path, b'[{"a": {"y": 1, "z": 2, "y": 3}}]') == "duplicate key 'y'"
    assert problem_of(tmp_path, b'{"x": 1, "X": 2}') is None


def test_an_unpaired_surrogate_is_a_problem_and_a_pair_is_a_character(tmp_path: Path) -> None:
    """Text holding half a UTF-16 pair cannot be written as UTF-8; a whole pair is one
    character, and an escaped backslash before `ud800` is plain text."""
    assert "\\ud800" in str(problem_of(tmp_path, b'{"a": "\\ud800"}'))
    assert "\\udfff" in str(problem_of(tmp_path, b'{"\\uDFFF": 1}'))
    [pair, escaped] = lines_of(tmp_path, b'"\\ud83d\\ude00"\n"\\\\ud800"\n')
    assert (pair.value, escaped.value) == ("\U0001F600", "\\ud800")


def test_a_byte_order_mark_is_dropped_at_the_start_of_the_file_only(tmp_path: Path) -> None:
    """The file's encoding signature is accepted; a mark anywhere else is a problem."""
    bom = b"\xef\xbb\xbf"
    read = lines_of(tmp_path, bom + b'{"a": 1}\n' + bom + b'{"b": 2}\n{"c": "' + bom + b'"}\n')
    assert read[0] == JsonLine(1, {"a": 1}, None)
    assert [r.number for r in read if r.problem and "byte-order mark" in r.problem] == [2, 3]


def test_nesting_is_bounded_and_brackets_inside_text_do_not_count(tmp_path: Path) -> None:
    """64 levels are read; 65 are a problem, found without recursion."""
    deepest = b"[" * 64 + b"]" * 64
    assert problem_of(tmp_path, deepest) is None
    assert problem_of(tmp_path, b"[" + deepest + b"]") == "arrays or objects nested more " \
                                                          "than 64 deep"
    assert problem_of(tmp_path, b'{"t": "' + b"[{" * 100 + b'\\"' + b"]" * 50 + b'"}') is None
    assert problem_of(tmp_path, b"[" * 100_000) is not None


def test_finding_the_depth_takes_linear_time_on_any_line(tmp_path: Path) -> None:
    """Unterminated strings and runs of escaped quotes make no regular expression
    backtrack."""
    line = b"[" * 65 + b'"\\"' * 300_000 + b"]"
    start = time.monotonic()
    assert problem_of(tmp_path, line) is not None
    assert time.monotonic() - start < 2


def test_a_line_longer_than_the_bound_is_skipped_in_pieces(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The over-long line is a problem of its own line; the lines after it are read."""
    monkeypatch.setattr(records, "MAX_LINE_BYTES", 100)
    monkeypatch.setattr(records, "_SKIP_PIECE", 7)
    exact = b'"' + b"x" * 98 + b'"'
    read = lines_of(tmp_path, b'{"a": 1}\n"' + b"y" * 1000 + b'"\n' + exact + b"\n[3]")
    assert [(r.number, r.value) for r in read] == [(1, {"a": 1}), (2, None), (3, "x" * 98),
                                                    (4, [3])]
    assert read[1].problem == "a line longer than 100 bytes"


def test_a_line_that_is_not_utf8_is_a_problem(tmp_path: Path) -> None:
    """The byte that breaks the encoding is named."""
    assert problem_of(tmp_path, b'{"a": "\xff"}') == "not UTF-8 (byte 8)"


