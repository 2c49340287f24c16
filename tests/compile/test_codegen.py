"""compile: readable Python, one function per mapping and rule, traceable to YAML lines."""

import ast
import types
from collections.abc import Callable
from pathlib import Path

import pytest

import engine
from engine.compile import runtime
from engine.compile.pyast import CompileBug
from engine.compile.surface import TABLE, verify
from tests.security.allowlist import assert_closed

PROJECTS = ("examples/northwind", "examples/standard", "tests/fixtures/failing")


def test_emitted_python_is_readable_and_golden(golden: Callable[[str, str], None]) -> None:
    """--emit-python prints one named function per rule, each line tagged with its YAML line."""
    program = engine.compile(engine.plan("examples/northwind"))
    source = program.annotated_source()
    for name in ("def map_harvest_time_entry(v_src):", "def rule_price_time(v_entry):",
                 "def group_time_invoice_lines_add(v_t):", "def map_xero_invoice(v_src):",
                 "def ingest_harvest_time_entry(raw):"):
        assert name in source
    assert "# rules/billing/time_and_materials.yaml:" in source
    golden("compile/northwind.py.txt", source)


@pytest.mark.parametrize("project", PROJECTS)
def test_generated_code_reaches_only_the_closed_table(project: str) -> None:
    """Every name the generated module reads is in the runtime table, bound per run, defined
    by the module, or a generated local; no attribute access, import or dunder name at all,
    and the module's builtins are empty."""
    assert_closed(engine.compile(engine.plan(project)))
    for name, value in TABLE.items():
        assert not isinstance(value, types.ModuleType), name


def test_the_surface_check_refuses_what_generated_code_must_never_hold() -> None:
    """An attribute, an unknown name, a call of a non-name or a reserved binding fails."""
    for text in ("def f(v_x):\n    return v_x.__class__\n",
                 "def f(v_x):\n    return open(v_x)\n",
                 "def f(v_x):\n    return v_x['a'](1)\n",
                 "def f(v_x):\n    rt_div = v_x\n",
                 "def f(v_x):\n    __builtins__ = v_x\n",
                 "import os\n"):
        with pytest.raises(CompileBug):
            verify(ast.parse(text))


def test_a_runtime_error_names_the_yaml_line(tmp_path: Path) -> None:
    """A failure inside a compiled rule lands as RULE_ERROR naming the rule's YAML line."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "time_entry.jsonl").write_text(
        '{"id": "T1", "project_id": "P1", "role": "r", "work_date": "2025-01-02",'
        ' "minutes": 60, "billable": true, "status": "approved"}\n')
    program = engine.compile(engine.plan("tests/fixtures/failing"))
    result = engine.run(program, data)
    [error] = result.outputs["exception"]
    assert error["code"] == "RULE_ERROR"
    assert "tests/fixtures/failing/rules/divide.yaml:8:18" in error["message"]
    assert "division by zero" in error["message"]
    assert result.reconciles


def test_generated_functions_are_registered_for_tracebacks() -> None:
    """The generated source is in linecache, so Python tracebacks show its lines."""
    import linecache

    program = engine.compile(engine.plan("examples/standard"))
    number = program.source.lines.index("def rule_price_time(v_entry):") + 1
    assert linecache.getline(program.filename, number).startswith("def rule_price_time")


def test_round_to_increments_follow_the_declared_mode() -> None:
    """Time rounding to an increment: up, down, nearest (half-up) or none."""
    assert runtime.round_to(61, 15, "up") == 75
    assert runtime.round_to(67, 15, "down") == 60
    assert runtime.round_to(67, 15, "nearest") == 60
    assert runtime.round_to(68, 15, "nearest") == 75
    assert runtime.round_to(67, 15, "none") == 67
