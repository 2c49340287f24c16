"""The checker and the generated code agree: what type-checks runs as it was typed."""

from __future__ import annotations

from pathlib import Path

import engine
from tests.security.project import run_one, time_entry_mapping, unbilled_rule, write_project


def _codes(project: Path) -> list[str]:
    return [d.code for d in engine.build(project).diagnostics if d.is_error]


def test_a_record_literal_may_not_give_a_field_twice(tmp_path: Path) -> None:
    """`{v: x, v: 'text'}` is E208: the checker would type one value and the code keep the
    other (text in a decimal field)."""
    project = write_project(tmp_path / "p", {"rule.yaml": unbilled_rule(
        {"amount": "{v: 1.5, v: 'text'}.v"})})
    assert "E208" in _codes(project)


def test_with_may_not_give_a_field_twice(tmp_path: Path) -> None:
    """`entry with {minutes: 1, minutes: 'x'}` is E208 for the same reason."""
    project = write_project(tmp_path / "p", {"rule.yaml": unbilled_rule(
        {"minutes": "(entry with {minutes: 1, minutes: 'x'}).minutes"})})
    assert "E208" in _codes(project)


def test_let_policy_and_let_run_read_the_local(tmp_path: Path) -> None:
    """`let policy = ...` and `let run = ...` read the binding, not the global tables."""
    project = write_project(tmp_path / "p", {"rule.yaml": unbilled_rule(
        {"amount": "let policy = 7.25 in policy", "reason": "let run = 'mine' in run"})})
    [item] = run_one(project, tmp_path / "data").outputs["unbilled_item"]
    assert item["amount"] == 7.25
    assert item["reason"] == "mine"


def test_a_lambda_parameter_may_not_shadow_the_run_parameters(tmp_path: Path) -> None:
    """`run => ...` would hide the run parameters inside the lambda: E208, said at check."""
    project = write_project(tmp_path / "p", {"rule.yaml": unbilled_rule(
        {"minutes": "sum(map([1, 2, 3], run => run * 10))"})})
    assert "E208" in _codes(project)


def test_money_orders_with_every_comparison(tmp_path: Path) -> None:
    """Money `<`, `<=`, `>`, `>=` run as they type-check (same currency)."""
    guard = ("not (money(1, 'USD') <= money(2, 'USD') and money(2, 'USD') >= money(2, 'USD') "
             "and money(3, 'USD') > money(2, 'USD') and money(1, 'USD') < money(2, 'USD'))")
    project = write_project(tmp_path / "p", {"rule.yaml": unbilled_rule({}, when=guard)})
    result = run_one(project, tmp_path / "data")
    assert len(result.outputs["unbilled_item"]) == 1
    assert result.outputs["exception"] == []


def test_money_of_two_currencies_does_not_order(tmp_path: Path) -> None:
    """Ordering USD against EUR is a RULE_ERROR in words, not a wrong answer."""
    guard = "money(1, 'USD') <= money(2, 'EUR')"
    project = write_project(tmp_path / "p", {"rule.yaml": unbilled_rule({}, when=guard)})
    [error] = run_one(project, tmp_path / "data").outputs["exception"]
    assert error["code"] == "RULE_ERROR"
    assert "cannot combine USD and EUR" in error["message"]
    assert "spec/rule.yaml:7" in error["message"]


ENTITY_A = """entity: a
kind: reference
key: [id]
fields:
  id: string
  b: {type: record, fields: {x: int}}
"""
ENTITY_A__B = """entity: a__b
kind: reference
key: [id]
fields:
  id: string
  y: string
"""


def test_an_entity_named_like_a_nested_record_has_its_own_check(tmp_path: Path) -> None:
    """Entity `a` with record field `b` and entity `a__b` compile to different checks."""
    project = write_project(tmp_path / "p", {"a.yaml": ENTITY_A, "a__b.yaml": ENTITY_A__B})
    program = engine.compile(engine.plan(project))
    assert program.validator("a")({"id": "1", "b": {"x": 2}}) == {"id": "1", "b": {"x": 2}}
    assert program.validator("a__b")({"id": "1", "y": "z"}) == {"id": "1", "y": "z"}


VENDOR = """entity: probe_vendor_row
kind: vendor
key: [id]
fields:
  id: string
  "o:minutes": int
  "transactioncurrencyid@odata.bind": string?
"""
MAPPING = time_entry_mapping("probe_vendor_row", minutes="minutes",
                             let={"minutes": 'src."o:minutes" * 2'})


def test_vendor_field_names_are_data(tmp_path: Path) -> None:
    """Arbitrary JSON keys of a vendor record (`o:minutes`, `x@odata.bind`) are checked and
    read as data: they never become Python names."""
    project = write_project(tmp_path / "p", {"vendor.yaml": VENDOR, "mapping.yaml": MAPPING})
    program = engine.compile(engine.plan(project))
    ingest = program.ingest("probe_in")
    assert ingest is not None
    assert ingest({"id": "V1", "o:minutes": 30})["minutes"] == 60
    assert "o:minutes" in program.source.text


SHADOW_ROW = """entity: probe_row
kind: vendor
key: [id]
fields:
  id: string
"""
def test_a_mapping_may_not_bind_src_again(tmp_path: Path) -> None:
    """`let: {src: ...}` in a mapping is E208: src is the vendor record."""
    mapping = time_entry_mapping("probe_row", let={"src": "\"{id: 'shadow'}\""})
    project = write_project(tmp_path / "p", {"row.yaml": SHADOW_ROW, "map.yaml": mapping})
    assert "E208" in _codes(project)


def test_an_expression_let_src_reads_the_binding_in_a_fused_mapping(tmp_path: Path) -> None:
    """Inside `let src = ... in src.id` the checked vendor field is not what is read."""
    mapping = time_entry_mapping("probe_row", id_from="\"let src = {id: 'shadow'} in src.id\"")
    project = write_project(tmp_path / "p", {"row.yaml": SHADOW_ROW, "map.yaml": mapping})
    program = engine.compile(engine.plan(project))
    ingest = program.ingest("probe_in")
    assert ingest is not None
    assert ingest({"id": "V1"})["id"] == "shadow"
    assert program.mapping("probe_in")({"id": "V1"})["id"] == "shadow"
