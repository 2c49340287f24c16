"""load: one identifier rule for every name the language uses, checked at load with E107."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from engine.errors import Collector, Diagnostic
from engine.load.names import (
    KEYWORDS,
    definition_problem,
    identifier_problem,
    non_ascii_hint,
    vendor_key_problem,
)
from engine.load.project import load_project
from engine.spec.models import RecordRuleSpec
from tests.conftest import ROOT

MANIFEST = ("name: names\nversion: 0.0.1\nspec_format: 1\n"
            "packs: [schemas/entities, ./spec]\ntests: []\n")


@pytest.mark.parametrize("name", ["a", "minutes", "A1", "billable_minutes", "x_", "a" * 64,
                                  "ContactNumber", "True", "None", "class"])
def test_identifiers_are_an_ascii_letter_then_letters_digits_and_underscores(name: str) -> None:
    """A letter first, then letters, digits or '_', at most 64 characters: accepted."""
    assert identifier_problem(name) is None


@pytest.mark.parametrize("name", ["", "_x", "__class__", "1a", "a-b", "a b", "a.b", "a:b",
                                  "a" * 65, "ｘ", "раз", "naïve", "x\n", "x\x00", 'x"; import os'])
def test_anything_else_is_not_an_identifier(name: str) -> None:
    """Empty, '_' or a digit first, punctuation, non-ASCII, over-long or control characters:
    rejected."""
    assert identifier_problem(name) is not None


@pytest.mark.parametrize("word", sorted(KEYWORDS))
def test_words_of_the_language_are_not_names(word: str) -> None:
    """`in`, `with`, `null` ... could never be read back in an expression: rejected."""
    problem = identifier_problem(word)
    assert problem is not None and "word of the expression language" in problem.message


def test_keywords_are_the_words_of_the_grammar() -> None:
    """KEYWORDS holds exactly the words expr.lark reserves."""
    grammar = (ROOT / "engine" / "load" / "expr.lark").read_text()
    assert set(re.findall(r'"([a-z]+)"', grammar)) == KEYWORDS


def test_definitions_are_lower_case_identifiers() -> None:
    """Entities, streams, rules, mappings and packs are named in lower case."""
    assert definition_problem("rate_card_row") is None
    assert definition_problem("RateCard") is not None
    assert definition_problem("with") is not None


def test_a_homoglyph_is_named_with_its_ascii_look_alike() -> None:
    """Fullwidth 'ｘ' gets a hint naming the character and the ASCII 'x' it imitates."""
    problem = identifier_problem("ｘ")
    assert problem is not None and problem.hint is not None
    assert "U+FF58" in problem.hint and "'x'" in problem.hint
    assert non_ascii_hint("plain") is None


@pytest.mark.parametrize("key", ["pse__Proj__c", "transactioncurrencyid@odata.bind",
                                 "o:errorDetails", "Line Items", "naïve", "_id"])
def test_vendor_keys_are_any_text(key: str) -> None:
    """A vendor's JSON keys are data: any non-empty text without control characters."""
    assert vendor_key_problem(key) is None


@pytest.mark.parametrize("key", ["", "a\x00b", "a\nb", "a\u202eb", "k" * 257])
def test_vendor_keys_have_no_control_characters(key: str) -> None:
    """Empty, over-long, or holding a control character: rejected."""
    assert vendor_key_problem(key) is not None


@pytest.mark.parametrize("rule_id", ["probe\n", "probe\r\n", "Probe", "in", "p" * 65])
def test_the_ident_pattern_cannot_be_bypassed(rule_id: str) -> None:
    """pydantic reads `$` as the end of the text: a trailing newline does not slip through."""
    with pytest.raises(ValidationError):
        RecordRuleSpec.model_validate({"id": rule_id, "for": "time_entry", "as": "entry",
                                       "steps": []})


def load(tmp_path: Path, files: dict[str, str]) -> list[Diagnostic]:
    """Load a project of the shipped entities plus files under spec/; its diagnostics."""
    (tmp_path / "billsync.yaml").write_text(MANIFEST)
    for name, text in files.items():
        (tmp_path / "spec").mkdir(exist_ok=True)
        (tmp_path / "spec" / name).write_text(text, encoding="utf-8")
    collector = Collector()
    load_project(tmp_path, collector)
    return collector.diagnostics


def e107(diagnostics: list[Diagnostic]) -> list[tuple[int, int]]:
    return [(d.span.line, d.span.col) for d in diagnostics if d.code == "E107"]


RULE = """pack: probe
rules:
  - id: probe
    for: time_entry
    as: {as_}
    steps:
      - let:
          {let}: "1"
      - require:
          {require}: "entry.notes"
        else: {{exclude: no_notes}}
      - emit:
          {target}:
            {field}: "1"
"""


def rule(**names: str) -> str:
    defaults = {"as_": "entry", "let": "one", "require": "notes", "target": "probe_stream",
                "field": "value"}
    return RULE.format(**{**defaults, **names})


def test_a_valid_rule_has_no_e107(tmp_path: Path) -> None:
    """A rule whose names all follow the rule loads without E107."""
    assert e107(load(tmp_path, {"rule.yaml": rule()})) == []


@pytest.mark.parametrize(("part", "name", "where"), [
    ("let", "x y", (8, 11)), ("let", "ｘ", (8, 11)), ("let", "_tmp", (8, 11)),
    ("require", "in", (10, 11)), ("target", "Probe", (13, 11)), ("field", "a-b", (14, 13)),
    ("field", "'x\"; import os #'", (14, 13)),
])
def test_rule_names_that_break_the_rule_are_e107_at_the_key(tmp_path: Path, part: str,
                                                           name: str,
                                                           where: tuple[int, int]) -> None:
    """`let` and `require` keys, emit targets and emitted fields: E107 at the key's place."""
    assert e107(load(tmp_path, {"rule.yaml": rule(**{part: name})})) == [where]


def test_a_keyword_as_the_record_name_is_e107(tmp_path: Path) -> None:
    """`as: with` could never be read in an expression: E107 at its value."""
    assert e107(load(tmp_path, {"rule.yaml": rule(as_="with")})) == [(5, 9)]


GROUP = """pack: probe
rules:
  - id: probe
    group: time_entry
    as: entry
    by: {"by key": entry.project_id}
    aggregate: {"total$": "sum(entry.minutes)"}
    let: {"1st": "1"}
    emit_each:
      for: in
      in: "[1]"
      emit: {probe_stream: {"ok": "1"}}
"""


def test_group_rule_keys_follow_the_rule(tmp_path: Path) -> None:
    """`by`, `aggregate` and `let` keys and `emit_each.for` of a group rule: E107 each."""
    assert e107(load(tmp_path, {"rule.yaml": GROUP})) == [(10, 12)]  # the model rejects `for`
    fixed = GROUP.replace("for: in", "for: item")
    assert e107(load(tmp_path, {"rule.yaml": fixed})) == [(6, 10), (7, 17), (8, 11)]


CANONICAL = """entity: probe_record
kind: reference
key: [id]
fields:
  id: string
  {top}: string
  nested: {{type: record, fields: {{{inner}: string}}}}
  rows: {{type: list, of: {{type: record, fields: {{{item}: int}}}}}}
"""


def test_canonical_field_names_are_identifiers_nested_ones_too(tmp_path: Path) -> None:
    """Fields of canonical entities, of their records and of their lists' records: E107."""
    text = CANONICAL.format(top="'o:x'", inner="'a b'", item="ｙ")
    assert e107(load(tmp_path, {"probe.yaml": text})) == [(6, 3), (7, 35), (8, 50)]


def test_vendor_field_names_are_kept_as_data(tmp_path: Path) -> None:
    """A vendor record's fields may be any JSON key; a control character is still E107."""
    vendor = CANONICAL.replace("kind: reference", "kind: vendor")
    keys = {"top": "'o:errorDetails'", "inner": "'transactioncurrencyid@odata.bind'",
            "item": "pse__Proj__c"}
    assert e107(load(tmp_path, {"probe.yaml": vendor.format(**keys)})) == []
    bad = vendor.format(**{**keys, "top": '"o:\\x1b[2J"'})
    assert e107(load(tmp_path, {"probe.yaml": bad})) == [(6, 3)]


OUTBOUND = """mapping: probe_out
vendor: probe
direction: {direction}
source: {source}
target: {target}
let: {{"a.b": "1"}}
fields:
  'o:errorDetails': "'x'"
"""


def test_mapping_fields_follow_the_rule_of_their_target(tmp_path: Path) -> None:
    """Into a vendor record, target fields are vendor keys; into a canonical entity, they
    are identifiers. `let` keys are identifiers either way."""
    vendor = CANONICAL.format(top="b", inner="c", item="d").replace(
        "kind: reference", "kind: vendor").replace("probe_record", "probe_vendor")
    outbound = OUTBOUND.format(direction="outbound", source="time_entry", target="probe_vendor")
    found = e107(load(tmp_path, {"vendor.yaml": vendor, "map.yaml": outbound}))
    assert found == [(6, 7)]
    inbound = OUTBOUND.format(direction="inbound", source="probe_vendor", target="time_entry")
    found = e107(load(tmp_path, {"vendor.yaml": vendor, "map.yaml": inbound}))
    assert found == [(6, 7), (8, 3)]


def test_policy_names_are_identifiers(tmp_path: Path) -> None:
    """`policy.<name>` is read in expressions, so a policy's name is an identifier."""
    (tmp_path / "billsync.yaml").write_text(MANIFEST + "policies: {'terms days': 30, ok: 1}\n")
    collector = Collector()
    load_project(tmp_path, collector)
    assert e107(collector.diagnostics) == [(6, 12)]
