"""check: every expression is statically typed against the entities before anything runs."""

from functools import cache

import pytest

from engine.check import check_project
from engine.check.catalog import Catalog
from engine.check.typecheck import Checker, Scope
from engine.check.types import (
    ANY,
    BOOL,
    DATE,
    DECIMAL,
    INT,
    MONEY,
    STRING,
    EnumT,
    ListT,
    OptionalT,
    RecordT,
    Type,
)
from engine.errors import Collector
from engine.load.expr_parser import Origin, parse_expression
from engine.load.project import load_project
from tests.conftest import ROOT


@cache
def catalog() -> Catalog:
    collector = Collector()
    project = load_project(ROOT / "examples" / "standard", collector)
    assert project is not None
    return check_project(project, collector).catalog


def typed(text: str) -> tuple[Type, list[str]]:
    collector = Collector()
    node = parse_expression(text, Origin("t.yaml", 1, 1), collector)
    if node is None:  # refused by the parser already (a dunder name, say)
        return ANY, [d.code for d in collector.diagnostics]
    entry = catalog().get("time_entry")
    assert entry is not None
    found = Checker(catalog(), collector).check(node, Scope({"entry": entry.record}))
    return found, [d.code for d in collector.diagnostics]


@pytest.mark.parametrize(("text", "expected"), [
    ("entry.minutes * 2", INT),
    ("entry.minutes / 60", DECIMAL),
    ("entry.minutes * 1.5", DECIMAL),
    ("entry.role + '!'", STRING),
    ("entry.status == 'approved'", BOOL),
    ("entry.cost_amount ?? 0", DECIMAL),
    ("entry.cost_amount", OptionalT(DECIMAL)),
    ("entry.time_type ?? 'regular'", EnumT(("regular", "overtime", "holiday"))),
    ("round(entry.minutes / 60, 2, 'half_up')", DECIMAL),
    ("[entry.minutes, 2]", ListT(INT)),
    ("if entry.billable then entry.minutes else 0", INT),
    ("count(lookup_all(rate_card_row, role: entry.role, at: entry.work_date)) > 1", BOOL),
    ("period(entry.work_date)", STRING),
    ("map([1, 2], x => x * 2.5)", ListT(DECIMAL)),
    ("money(entry.minutes * 2.5, 'USD') + money(1, 'USD')", MONEY),
    ("(money(10, 'EUR') * 3).amount", DECIMAL),
    ("datetime('2025-01-02T10:00:00Z') > datetime('2025-01-01T10:00:00Z')", BOOL),
    ("add_days(period_end('2025-02'), 30)", DATE),
    ("{lines: [{amount: 1.5}], total: 1.5}.lines", ListT(RecordT("", (("amount", DECIMAL),)))),
    ("({a: 1, b: 'x'} with {a: 2, c: true}).c", BOOL),
    ("({a: 1, b: 'x'} with {a: 2}).a", INT),
    ("(entry with {minutes: 30}).minutes", INT),
    ("minor_unit('JPY')", DECIMAL),
    ("let m = entry.minutes * 2 in m + 1", INT),
    ("let r = {a: 1.5} in let b = r.a in b * 2", DECIMAL),
])
def test_well_typed_expressions(text: str, expected: Type) -> None:
    """Types follow the rules: int/int division is decimal, ?? removes absence, enums stay enums."""
    found, codes = typed(text)
    assert codes == []
    assert found == expected


def test_lookups_return_an_optional_entity_record() -> None:
    """lookup() may find nothing, so its result is optional and must be handled."""
    found, codes = typed("lookup(project, id: entry.project_id)")
    assert codes == []
    assert isinstance(found, OptionalT) and isinstance(found.inner, RecordT)
    assert found.inner.label == "project"
    assert typed("lookup(project, id: entry.project_id).name")[1] == ["E206"]
    assert typed("lookup(project, id: entry.project_id)!.name")[1] == []


@pytest.mark.parametrize(("text", "code"), [
    ("entry.custmer", "E204"),
    ("entry.minutes + entry.role", "E205"),
    ("entry.cost_amount * 2", "E206"),
    ("entry.status == 'aproved'", "E207"),
    ("unknown_name", "E201"),
    ("frobnicate(1)", "E202"),
    ("round(1.5, 2)", "E203"),
    ("round(1.5, 2, 'bankers')", "E207"),
    ("lookup(nothing, id: '1')", "E210"),
    ("lookup(contract_line, id: 'x')", "E203"),
    ("entry.minutes!", "E205"),
    ("money(1, 'USD') + 1", "E205"),
    ("money(1, 'USD') * money(2, 'USD')", "E205"),
    ("entry.minutes with {a: 1}", "E205"),
    ("lookup(project, id: 'p') with {name: 'x'}", "E205"),
    ("let m = 1 in n", "E201"),
    ("let __m = 1 in 2", "E209"),
    ("fill([1], units: x => x, unit_value: x => 1, bound: 1, mode: 'whole_items', "
     "retry: x => 1)", "E205"),
])
def test_type_errors_have_stable_codes(text: str, code: str) -> None:
    """Each kind of mistake has its own stable diagnostic code."""
    assert code in typed(text)[1]


@pytest.mark.parametrize("text", [
    "entry.__class__", "entry.role.__dict__", "__import__('os')", "eval('1')", "open('x')",
    "getattr(entry, 'role')", "__builtins__", 'entry."__class__"', 'entry.role."__dict__"',
])
def test_the_sandbox_rejects_python_at_check_time(text: str) -> None:
    """Dunder access and Python builtins are E209 before anything is compiled or run."""
    assert "E209" in typed(text)[1]


def test_unknown_fields_suggest_the_closest_name() -> None:
    """A misspelt field gets a 'did you mean' hint."""
    collector = Collector()
    node = parse_expression("entry.work_dat", Origin("t.yaml", 1, 1), collector)
    assert node is not None
    entry = catalog().get("time_entry")
    assert entry is not None
    Checker(catalog(), collector).check(node, Scope({"entry": entry.record}))
    [diagnostic] = collector.diagnostics
    assert diagnostic.hint == "did you mean 'work_date'?"


def test_with_copies_a_record_replacing_and_adding_fields() -> None:
    """`r with {...}` keeps every field of r; replaced and added ones are typed like a record
    literal's (text that can only be literals is an enum of them)."""
    found, codes = typed("entry with {minutes: 30, note: 'split', status: 'held'}")
    assert codes == []
    assert isinstance(found, RecordT)
    entry = catalog().get("time_entry")
    assert entry is not None
    assert tuple(found.field_names) == (*entry.record.field_names, "note")
    assert found.field("minutes") == INT
    assert found.field("status") == EnumT(("held",))
