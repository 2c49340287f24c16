"""Failures are said in words: the rule or mapping, the YAML line and column of the failing
expression, and what went wrong; never a Python class name or a generated function name."""

from __future__ import annotations

import re
from pathlib import Path

from tests.security.project import run_one, unbilled_rule, write_project

PYTHON_WORDS = re.compile(r"<class|<listcomp>|<lambda>|<genexpr>|Traceback|Error\b|decimal\.")


def _rule_error(tmp_path: Path, amount: str) -> dict[str, object]:
    project = write_project(tmp_path / "p", {"rule.yaml": unbilled_rule({"amount": amount})})
    result = run_one(project, tmp_path / "data")
    assert result.reconciles
    [error] = result.outputs["exception"]
    assert error["code"] == "RULE_ERROR"
    assert error["rule_id"] == "probe"
    assert not PYTHON_WORDS.search(str(error["message"])), error["message"]
    return error


def test_a_failure_inside_a_lambda_names_the_rule_and_the_expression(tmp_path: Path) -> None:
    """A division by zero inside map(...) names rule `probe` and the column of the `/`."""
    error = _rule_error(tmp_path, "sum(map([1, 0], i => 10 / i))")
    lines = (tmp_path / "p" / "spec" / "rule.yaml").read_text().splitlines()
    number, column = next((n, text.index("10 / i") + 1)
                          for n, text in enumerate(lines, start=1) if "10 / i" in text)
    assert re.fullmatch(rf"rule probe failed at \S*spec/rule\.yaml:{number}:{column}: "
                        "division by zero", str(error["message"])), error["message"]


def test_an_overflow_is_said_in_words(tmp_path: Path) -> None:
    """A result past the decimal context is 'out of range', not a decimal.Overflow class."""
    error = _rule_error(tmp_path, "to_decimal('9e999990') * to_decimal('9e999990')")
    assert "out of range" in str(error["message"])


def test_a_huge_number_in_text_is_refused_before_it_stalls(tmp_path: Path) -> None:
    """to_int of '1e1000000' is refused at once, with the value in the message."""
    error = _rule_error(tmp_path, "to_int('1e1000000')")
    assert "'1e1000000' is out of range" in str(error["message"])


def test_a_long_value_is_cut_in_a_message(tmp_path: Path) -> None:
    """A value quoted in a message is cut short: a record cannot make a message huge."""
    error = _rule_error(tmp_path, f"to_decimal('{'x' * 500}')")
    assert len(str(error["message"])) < 200


def test_whole_numbers_cannot_grow_without_bound(tmp_path: Path) -> None:
    """Repeated multiplication of whole numbers stops at 40 digits with a RULE_ERROR, so a
    spec cannot make a run compute for hours on one record."""
    error = _rule_error(tmp_path, "count(scan(periods('2000-01', '2099-12'), 10, "
                                  "s => s.acc * s.acc))")
    assert "out of range" in str(error["message"])
