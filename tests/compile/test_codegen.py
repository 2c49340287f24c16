"""compile: readable Python, one function per mapping and rule, traceable to YAML lines."""

import re
from collections.abc import Callable
from pathlib import Path

import engine
from engine.compile import runtime


def test_emitted_python_is_readable_and_golden(golden: Callable[[str, str], None]) -> None:
    """--emit-python prints one named function per rule, each line tagged with its YAML line."""
    program = engine.compile(engine.plan("examples/northwind"))
    source = program.annotated_source()
    for name in ("def map_harvest_time_entry(v_src):", "def rule_price_time(v_entry):",
                 "def group_time_invoice_lines_add(v_t):", "def map_xero_invoice(v_src):"):
        assert name in source
    assert "# rules/billing/time_and_materials.yaml:" in source
    golden("compile/northwind.py.txt", source)


def test_generated_code_reaches_only_the_runtime() -> None:
    """The module's globals are the runtime, lookup indexes, policies and run parameters;
    of Python's builtins only type tests and any/all are there, never import or eval."""
    program = engine.compile(engine.plan("examples/northwind"))
    builtins = program.namespace["__builtins__"]
    assert set(builtins) == {"any", "all", "len", "type", "dict", "str", "int", "bool"}
    for line in program.source.lines:
        assert not re.search(r"\bimport\b|\b__\w+__\b|\beval\(|\bexec\(", line), line


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
