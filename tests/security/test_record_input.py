"""Vendor records are untrusted input to a run: a hostile line ends in one INVALID_RECORD
exception with a plain reason naming the file, line and field, within a time bound; the
valid records around it are processed and the counts reconcile. A hypothesis fuzzer throws
hostile lines at a real run (BILLSYNC_FUZZ_EXAMPLES sets how many: a nightly run sets it
high)."""

from __future__ import annotations

import json
import os
import re
import time
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine.compile import inputs
from engine.compile.program import Program
from engine.run.records import MAX_LINE_BYTES, LineProblem, parse_line
from engine.run.runner import RunResult
from tests.run.helpers import read_jsonl, spec_case, write_given

G07 = "examples/standard/tests/G07-eligibility.yaml"  # four valid time entries, A to D
VALID_IDS = {"A", "B", "C", "D"}
FIRST_HOSTILE_LINE = 5
SECONDS_PER_RECORD = 2.0  # generous: a hostile line costs milliseconds
FUZZ_EXAMPLES = int(os.environ.get("BILLSYNC_FUZZ_EXAMPLES", "40"))
# What a user must never read in an exception: Python's own words for its objects.
PYTHON_WORDS = re.compile(r"<class|Traceback|Error\b|Decimal\(|object at 0x|\bNone\b")
ENTRY = {"id": "H", "project_id": "P1", "contract_line_id": "L1", "role": "Senior Consultant",
         "work_date": "2025-03-14", "minutes": 60, "billable": True, "status": "approved"}


@cache
def program() -> Program:
    return engine.compile(engine.plan("examples/standard"))


def entry_line(**fields: str) -> bytes:
    """A valid time entry as one JSON line, with some fields given as raw JSON text."""
    values = {name: json.dumps(value) for name, value in ENTRY.items()} | fields
    return ("{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in values.items()) + "}").encode()


def run_with(folder: Path, lines: list[bytes], file: str = "time_entry.jsonl",
             first: bytes = b"") -> tuple[RunResult, float]:
    """G07's records with `lines` appended to `file` (and `first` written before them),
    run through examples/standard; the result and the seconds the run took."""
    write_given(folder, spec_case(G07))
    path = folder / file
    path.write_bytes(first + path.read_bytes() + b"".join(line + b"\n" for line in lines))
    start = time.monotonic()
    result = engine.run(program(), folder, through="2025-03")
    return result, time.monotonic() - start


def invalid_records(result: RunResult) -> list[dict[str, Any]]:
    return [e for e in result.outputs["exception"] if e["code"] == "INVALID_RECORD"]


def assert_one_invalid_line(result: RunResult, seconds: float, field: str, words: str,
                            file: str = "time_entry.jsonl", line: int = FIRST_HOSTILE_LINE
                            ) -> None:
    """The hostile line is one INVALID_RECORD naming the file, line and field in plain
    words; the valid time entries are billed as without it; the counts reconcile."""
    [invalid] = invalid_records(result)
    assert (invalid["file"], invalid["line"], invalid["field"]) == (file, line, field)
    assert f"{file}:{line}: field '{field}'" in invalid["message"]
    assert words in invalid["message"], invalid["message"]
    assert not PYTHON_WORDS.search(invalid["message"]), invalid["message"]
    assert len(invalid["message"]) < 300
    assert {u["source_id"] for u in result.outputs["unbilled_item"]} == VALID_IDS
    assert len(result.outputs["invoice_line"]) == 1
    tally = result.tallies[file.removesuffix(".jsonl")]
    assert tally.invalid == 1 and result.reconciles
    assert seconds < 5


HOSTILE_LINES = {
    # 1. numbers out of range: refused by the field's check before any conversion
    "huge exponent in an integer field": (entry_line(minutes="1e1000000"), "minutes",
                                          "1E+1000000 is out of range"),
    "huge exponent in a decimal field": (entry_line(cost_amount="1e1000000"), "cost_amount",
                                         "1E+1000000 is out of range"),
    "tiny exponent in a decimal field": (entry_line(cost_amount="-1e-1000000"), "cost_amount",
                                         "is out of range"),
    "21 digits in an integer field": (entry_line(billable_minutes="1" + "0" * 20),
                                      "billable_minutes", "is out of range"),
    "21 decimals in a decimal field": (entry_line(cost_amount="0." + "1" * 21), "cost_amount",
                                       "is out of range"),
    "huge decimal as text": (entry_line(cost_amount='"1e1000000"'), "cost_amount",
                             "'1e1000000' is out of range"),
    "digit separators in decimal text": (entry_line(cost_amount='"1_000"'), "cost_amount",
                                         "expected a decimal, found '1_000'"),
    "fraction in an integer field": (entry_line(minutes="60.5"), "minutes",
                                     "expected an integer, found 60.5"),
    # 2. number literals the reader will not hold
    "5,000-digit integer": (entry_line(minutes="9" * 5000), "(line)",
                            "a number of 5,000 characters"),
    "exponent beyond any decimal": (entry_line(minutes="1e99999999999999999999999"), "(line)",
                                    "is out of range"),
    "NaN": (entry_line(cost_amount="NaN"), "(line)", "NaN is not a number JSON allows"),
    "-Infinity": (entry_line(cost_amount="-Infinity"), "(line)", "-Infinity is not a number"),
    # 3. an unpaired surrogate, in a value or in a key
    "lone high surrogate": (entry_line(role='"Senior \\ud800"'), "(line)", "\\ud800, half of"),
    "lone low surrogate in a key": (b'{"\\uDC00": 1, ' + entry_line()[1:], "(line)",
                                    "\\udc00"),
    "reversed surrogate pair": (entry_line(notes='"\\ude00\\ud83d"'), "(line)", "\\ud"),
    # 4. a byte-order mark after the start of the file
    "byte-order mark starting a later line": (b"\xef\xbb\xbf" + entry_line(), "(line)",
                                              "byte-order mark"),
    "byte-order mark inside text": (entry_line(notes='"x\ufeffy"'), "(line)",
                                    "byte-order mark"),
    # 5. deep nesting and over-long lines
    "arrays 5,000 deep": (b"[" * 5000 + b"]" * 5000, "(line)", "nested more than 64 deep"),
    "objects 5,000 deep in a field": (entry_line(notes='{"a": ' * 5000 + "1" + "}" * 5000),
                                      "(line)", "nested more than 64 deep"),
    "a line over the length bound": (entry_line(notes=json.dumps("x" * MAX_LINE_BYTES)),
                                     "(line)", "a line longer than 8,388,608 bytes"),
    # 6. a duplicate key, which would otherwise silently take the last value
    "duplicate key": (entry_line()[:-1] + b', "minutes": 6000}', "(line)",
                      "duplicate key 'minutes'"),
    "duplicate key in a nested object": (entry_line(notes='{"x": 1, "x": 2}'), "(line)",
                                         "duplicate key 'x'"),
}


@pytest.mark.parametrize("name", list(HOSTILE_LINES))
def test_a_hostile_time_entry_is_one_invalid_record(tmp_path: Path, name: str) -> None:
    """Each hostile line is one INVALID_RECORD with a plain reason; the run goes on."""
    line, field, words = HOSTILE_LINES[name]
    result, seconds = run_with(tmp_path, [line])
    assert_one_invalid_line(result, seconds, field, words)


def test_an_out_of_range_rate_is_an_invalid_reference_record(tmp_path: Path) -> None:
    """A decimal given as text ("1e1000000") in a reference record is refused by the same
    bound, naming rate_card_row's field; the valid rate still prices the time."""
    row = b'{"rate_card_id": "RC1", "role": "Partner", "rate": "1e1000000", "currency": ' \
          b'"USD", "unit": "hour", "effective_from": "2024-01-01"}'
    result, seconds = run_with(tmp_path, [row], file="rate_card_row.jsonl")
    assert_one_invalid_line(result, seconds, "rate", "'1e1000000' is out of range",
                            file="rate_card_row.jsonl", line=2)


def test_a_byte_order_mark_at_the_start_of_the_file_is_an_encoding_signature(
        tmp_path: Path) -> None:
    """A UTF-8 BOM before the first line (as Windows exports write) is dropped, not refused."""
    result, _ = run_with(tmp_path, [], first=b"\xef\xbb\xbf")
    assert invalid_records(result) == [] and result.reconciles
    assert {u["source_id"] for u in result.outputs["unbilled_item"]} == VALID_IDS


def test_a_valid_surrogate_pair_and_escaped_text_are_accepted(tmp_path: Path) -> None:
    """An emoji written as a surrogate pair, and the text `\\ud800` (an escaped backslash),
    are ordinary text."""
    lines = [entry_line(id='"E1"', notes='"\\ud83d\\ude00"'),
             entry_line(id='"E2"', notes='"\\\\ud800"')]
    result, _ = run_with(tmp_path, lines)
    assert invalid_records(result) == [] and result.reconciles
    assert result.tallies["time_entry"].received == 6


def test_the_outputs_of_a_run_with_hostile_lines_are_valid_utf8(tmp_path: Path) -> None:
    """Nothing a hostile line carries breaks the writing of the outputs."""
    lines = [line for line, _, _ in HOSTILE_LINES.values() if len(line) < 100_000]
    write_given(tmp_path / "data", spec_case(G07))
    with (tmp_path / "data" / "time_entry.jsonl").open("ab") as handle:
        handle.write(b"".join(line + b"\n" for line in lines))
    result = engine.run(program(), tmp_path / "data", tmp_path / "out", "2025-03")
    assert result.reconciles and len(invalid_records(result)) == len(lines)
    for path in (tmp_path / "out").rglob("*.jsonl"):
        read_jsonl(path)  # strict UTF-8 and JSON


def test_as_int_refuses_a_huge_decimal_without_converting_it() -> None:
    """int(Decimal('1e1000000')) would run for minutes; the bound is checked first."""
    start = time.monotonic()
    with pytest.raises(inputs.InvalidRecord, match="out of range"):
        inputs.as_int(Decimal("1e1000000"), "minutes")
    with pytest.raises(inputs.InvalidRecord, match="out of range"):
        inputs.as_int(10 ** 5000, "minutes")
    assert time.monotonic() - start < 1


def test_numbers_in_range_keep_every_digit() -> None:
    """20 digits before the point and 20 after are in range, exactly; one more is not."""
    largest = "9" * 20 + "." + "9" * 20
    assert inputs.as_decimal(largest, "x") == Decimal(largest)
    assert inputs.as_int(Decimal("6E+1"), "x") == 60
    assert inputs.as_int(-(10 ** 20) + 1, "x") == -(10 ** 20) + 1
    for beyond in ("1" + "0" * 20, "0." + "0" * 20 + "1", "1E+20", "1E-21"):
        with pytest.raises(inputs.InvalidRecord, match="out of range"):
            inputs.as_decimal(beyond, "x")


# -- the record fuzzer -------------------------------------------------------------------

NUMBER_TEXT = st.one_of(
    st.sampled_from(["1e1000000", "-1E+999999", "1e-1000000", "0e99999", "-0", "1.0", "6E+1",
                     "1e99999999999999999999999", "NaN", "Infinity", "-Infinity", "0.1e-20"]),
    st.integers(1, 6000).map(lambda digits: "9" * digits),
    st.builds("{}e{}".format, st.integers(-(10 ** 9), 10 ** 9), st.integers(-(10 ** 9), 10 ** 9)),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
)
TEXT_TEXT = st.one_of(
    st.text(max_size=30).map(json.dumps),
    st.text(max_size=30).map(lambda text: json.dumps(text, ensure_ascii=False)),
    st.lists(st.integers(0xD700, 0xE000), min_size=1, max_size=4).map(
        lambda units: '"' + "".join(f"\\u{u:04x}" for u in units) + '"'),
    st.sampled_from(['"\ufeff"', '"2025-13-01"', '"2025-W01-1"', '"approved "', '""']),
)
NESTED_TEXT = st.integers(0, 3000).flatmap(lambda depth: st.sampled_from(
    ["[" * depth + "]" * depth, '{"a": ' * depth + "1" + "}" * depth]))
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=20).map(json.dumps)
VALUE_TEXT = st.one_of(NUMBER_TEXT, TEXT_TEXT, NESTED_TEXT, JSON_VALUES,
                       st.sampled_from(["true", "null", "[]", "{}"]))


@st.composite
def hostile_lines(draw: st.DrawFn) -> bytes:
    """One line: a time entry with a hostile value in a field (or a key given twice), a
    random JSON value, or random bytes."""
    kind = draw(st.sampled_from(["field", "field", "duplicate", "new key", "value", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200)).replace(b"\n", b" ")
    if kind == "value":
        return draw(JSON_VALUES).encode()
    value = draw(VALUE_TEXT)
    if kind == "duplicate":
        field = draw(st.sampled_from(sorted(ENTRY)))
        return entry_line()[:-1] + f", {json.dumps(field)}: {value}}}".encode()
    field = draw(st.sampled_from([*ENTRY, "billable_minutes", "cost_amount", "notes"])) \
        if kind == "field" else draw(st.text(max_size=10))
    return entry_line(**{field: value}).replace(b"\n", b" ")


def _is_blank(line: bytes) -> bool:
    return not line.strip(b" \t\r\n")


def _refused_by_reader(line: bytes) -> bool:
    try:
        parse_line(line)
    except LineProblem:
        return True
    return False


@settings(max_examples=FUZZ_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(lines=st.lists(hostile_lines(), min_size=1, max_size=4))
def test_fuzzed_hostile_lines_never_stop_a_run(tmp_path: Path, lines: list[bytes]) -> None:
    """Whatever the lines, the run finishes within a time bound per record without raising,
    every non-blank line is received and ends in exactly one place, the reader's refusals
    are INVALID_RECORD exceptions of their lines, and no message shows Python's words."""
    result, seconds = run_with(tmp_path / f"run{time.monotonic_ns()}", lines)
    received = 4 + sum(not _is_blank(line) for line in lines)
    assert seconds < SECONDS_PER_RECORD * received
    tally = result.tallies["time_entry"]
    assert tally.received == received and result.reconciles
    invalid = invalid_records(result)
    invalid_lines = [e["line"] for e in invalid]
    assert len(invalid_lines) == len(set(invalid_lines)) == tally.invalid
    refused = {FIRST_HOSTILE_LINE + index for index, line in enumerate(lines)
               if not _is_blank(line) and _refused_by_reader(line)}
    assert refused <= set(invalid_lines) <= set(range(FIRST_HOSTILE_LINE,
                                                      FIRST_HOSTILE_LINE + len(lines)))
    for exception in invalid:
        assert not PYTHON_WORDS.search(exception["message"]), exception["message"]
