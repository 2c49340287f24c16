"""Specs are untrusted input to the compiler: every hostile spec file or expression ends in a
located diagnostic within a time bound, through the whole of `engine.build`, and nothing in
it ever runs."""

from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path

import pytest

import engine
from engine.errors import Diagnostic
from engine.load.yaml_loader import MAX_FILE_BYTES
from tests.security.project import record_rule

TIME_BOUND = 10.0  # seconds, for any one build below
MANIFEST = ("name: probe\nversion: 0.0.1\nspec_format: 1\n"
            "packs: [schemas/entities, ./spec]\ntests: []\n")


def project(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    """A project of the shipped entities plus files (name -> text or bytes) under spec/."""
    root = tmp_path / "project"
    (root / "spec").mkdir(parents=True, exist_ok=True)
    (root / "billsync.yaml").write_text(MANIFEST, encoding="utf-8")
    for name, content in files.items():
        data = content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
        (root / "spec" / name).write_bytes(data)
    return root


def timed_build(root: Path) -> engine.Build:
    """engine.build(root), failing when it takes longer than TIME_BOUND."""
    started = time.perf_counter()
    result = engine.build(root)
    assert time.perf_counter() - started < TIME_BOUND
    return result


def build(tmp_path: Path, name: str, content: str | bytes) -> list[Diagnostic]:
    """The errors of building a project with one hostile file, spec/<name>, within
    TIME_BOUND; the build must stop before a Plan."""
    result = timed_build(project(tmp_path, {name: content}))
    assert result.plan is None
    return [d for d in result.diagnostics if d.is_error]


def located(errors: list[Diagnostic], code: str) -> tuple[int, int]:
    """The line and column of the one error with code, in the probe file."""
    [found] = [d for d in errors if d.code == code]
    assert found.span.file.endswith("rule.yaml")
    return found.span.line, found.span.col


def laughs(levels: int) -> str:
    lines = ["pack: laughs", "l0: &l0 [ha, ha, ha, ha, ha, ha, ha, ha, ha, ha]"]
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_e106_quickly_and_in_little_memory(tmp_path: Path) -> None:
    """A ~400-byte file of nested aliases (10^9 nodes expanded) is E106 at the alias where
    the node budget ran out, using under 100 MB."""
    text = laughs(10)
    assert len(text) < 800
    tracemalloc.start()
    try:
        errors = build(tmp_path, "rule.yaml", text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert located(errors, "E106") == (6, 45)
    assert peak < 100 * 2**20


@pytest.mark.parametrize(("text", "where"), [
    ("pack: p\nrules: []\nnote: a\x00b\n", (3, 8)),
    ("pack: p\nnote: \x1b[2J\n", (2, 7)),
    ("pack: p\r\nnote: 'a\x7f'\r\n", (2, 9)),
    ("pack: p\nnote: a\x9bb\n", (2, 8)),
    ("pack: p\nnote: a\u202eb\n", (2, 8)),
])
def test_control_characters_are_e101_at_their_place(tmp_path: Path, text: str,
                                                    where: tuple[int, int]) -> None:
    """NUL, escape sequences, DEL, C1 controls and bidirectional overrides: E101 at the
    exact line and column."""
    assert located(build(tmp_path, "rule.yaml", text), "E101") == where


@pytest.mark.parametrize(("data", "where"), [
    (b"pack: p\nnote: caf\xe9\n", (2, 10)),
    ("pack: p\n".encode("utf-16"), (1, 1)),
])
def test_a_file_that_is_not_utf8_is_e101_at_the_first_bad_byte(
        tmp_path: Path, data: bytes, where: tuple[int, int]) -> None:
    """Latin-1 or UTF-16 text: E101 'not UTF-8' at the first bad byte, not a traceback."""
    errors = build(tmp_path, "rule.yaml", data)
    assert located(errors, "E101") == where
    assert "UTF-8" in errors[0].message


@pytest.mark.parametrize("tag", [
    "!!python/object/apply:os.system", "!!python/object/new:os.system",
    "!!python/object/apply:subprocess.check_call", "!custom",
])
def test_explicit_tags_are_e101_and_never_run(tmp_path: Path, tag: str) -> None:
    """`!!python/...` and any other explicit tag is E101 at the tag; the command it names
    never runs (the canary file is not created)."""
    canary = tmp_path / "CANARY"
    text = f"pack: p\nrules: []\nnote: {tag} [[touch, {json.dumps(str(canary))}]]\n"
    assert located(build(tmp_path, "rule.yaml", text), "E101") == (3, 7)
    assert not canary.exists()


def test_a_python_name_tag_is_e101(tmp_path: Path) -> None:
    """`!!python/name:os.system` is E101: no Python object is ever looked up."""
    text = "pack: p\nnote: !!python/name:os.system ''\n"
    assert located(build(tmp_path, "rule.yaml", text), "E101") == (2, 7)


@pytest.mark.parametrize("nesting", ["[" * 5000 + "]" * 5000, "{a: " * 5000 + "1" + "}" * 5000])
def test_flow_nesting_5000_deep_is_e106(tmp_path: Path, nesting: str) -> None:
    """`[[[[...]]]]` or `{a: {a: ...}}` 5,000 deep: E106, never a RecursionError."""
    line, col = located(build(tmp_path, "rule.yaml", f"pack: p\nnote: {nesting}\n"), "E106")
    assert line == 2 and col > 64


def test_a_spec_file_over_the_size_limit_is_e106(tmp_path: Path) -> None:
    """A file larger than MAX_FILE_BYTES is E106 without being parsed."""
    text = "pack: p\n" + "# padding\n" * (MAX_FILE_BYTES // 10 + 1)
    assert located(build(tmp_path, "rule.yaml", text), "E106") == (1, 1)


def test_a_huge_integer_in_yaml_is_e106(tmp_path: Path) -> None:
    """An integer of 5,000 digits in YAML is E106, not Python's int() ValueError."""
    text = "pack: p\nnote: " + "9" * 5000 + "\n"
    assert located(build(tmp_path, "rule.yaml", text), "E106") == (2, 7)


def rule(let: dict[str, str]) -> str:
    """A record rule over time entries binding let (name -> expression text), then
    excluding every entry."""
    lines = "\n".join(f"          {json.dumps(k)}: {json.dumps(v)}" for k, v in let.items())
    return record_rule(f"""      - let:
{lines}
      - exclude: probed
""")


EXPRESSIONS = {
    "200 nested if": "if entry.billable then " * 200 + "1" + " else 2" * 200,
    "400 + terms": " + ".join(["entry.minutes"] * 400),
    "500 unary -": "-" * 500 + "entry.minutes",
    "a 5,000-digit integer": "entry.minutes + " + "7" * 5000,
    "20,001 characters": "entry.minutes + " + "1 + " * 5000,
}


@pytest.mark.parametrize("expression", EXPRESSIONS.values(), ids=EXPRESSIONS.keys())
def test_expressions_beyond_the_limits_are_e106(tmp_path: Path, expression: str) -> None:
    """Nesting, size and number limits of expressions: E106 on the expression's line."""
    errors = build(tmp_path, "rule.yaml", rule({"value": expression}))
    assert located(errors, "E106")[0] == 8


def test_expressions_at_the_limits_check_and_compile(tmp_path: Path) -> None:
    """Expressions just inside the depth and number limits go through check, plan and
    compile without exhausting a later stage's recursion."""
    deep = {"neg": "-" * 60 + "entry.minutes", "sum": " + ".join(["entry.minutes"] * 63),
            "ifs": "if entry.billable then " * 60 + "1" + " else 2" * 60,
            "big": "entry.minutes + " + "9" * 40, "all": "neg + sum + ifs + big > 0"}
    text = rule(deep).replace("      - exclude: probed", "      - when: all\n"
                              "        exclude: probed\n      - exclude: not_positive")
    result = timed_build(project(tmp_path, {"rule.yaml": text}))
    assert [d for d in result.diagnostics if d.is_error] == []
    assert result.plan is not None
    assert engine.compile(result.plan) is not None


@pytest.mark.parametrize("key", [
    'x"; import os; os.system("touch {canary}") #', "__class__", "in", "ｘ", "a\u200bb",
])
def test_a_let_key_that_is_not_an_identifier_is_e107_and_never_runs(tmp_path: Path,
                                                                     key: str) -> None:
    """A `let` key holding Python, a dunder, a keyword, a homoglyph or a zero-width
    character is E107 at the key; nothing it says ever runs."""
    canary = tmp_path / "CANARY"
    errors = build(tmp_path, "rule.yaml", rule({key.format(canary=canary): "1"}))
    assert located(errors, "E107") == (8, 11)
    assert not canary.exists()


VENDOR = """entity: probe_vendor
kind: vendor
key: [id]
fields:
  id: string
  'o:errorDetails': string?
  'transactioncurrencyid@odata.bind': string?
  pse__Proj__c: string?
"""
INBOUND = """mapping: probe_in
vendor: probe
direction: inbound
source: probe_vendor
target: crosswalk
fields:
  system: "'probe'"
  entity: "'project'"
  external_id: src.id
  canonical_id: >-
    src."o:errorDetails" ?? src.'transactioncurrencyid@odata.bind' ?? src.pse__Proj__c ?? ''
"""


def test_vendor_keys_are_data_read_quoted(tmp_path: Path) -> None:
    """A vendor record keeps its JSON keys (`o:errorDetails`, `...@odata.bind`) and a
    mapping reads them quoted: the project checks and plans without an error."""
    result = timed_build(project(tmp_path, {"vendor.yaml": VENDOR, "map.yaml": INBOUND}))
    assert [d for d in result.diagnostics if d.is_error] == []
    assert result.plan is not None
