"""check: a broken project reports every problem at once, rendered like a compiler's."""

import json
from collections.abc import Callable

import engine
from engine.render import render


def test_all_problems_are_reported_at_once(golden: Callable[[str, str], None]) -> None:
    """One run of check lists every error and warning of every file, in file order."""
    plan, diagnostics = engine.check("tests/fixtures/broken")
    assert plan is None
    codes = {d.code for d in diagnostics}
    assert {"E102", "E103", "E202", "E204", "E205", "E206", "E207", "E209", "E212", "E213",
            "W601"} <= codes
    golden("check/broken.txt", render(diagnostics, "text") + "\n")


def test_json_and_github_formats(golden: Callable[[str, str], None]) -> None:
    """--format json is machine-readable; --format github makes Actions annotations."""
    _, diagnostics = engine.check("tests/fixtures/broken")
    data = json.loads(render(diagnostics, "json"))
    assert all({"code", "message", "span", "severity", "hint"} <= set(d) for d in data)
    github = render(diagnostics, "github")
    assert github.splitlines()[0].startswith("::error file=tests/fixtures/broken/rules/")
    golden("check/broken.github.txt", github + "\n")


def test_no_raw_library_message_reaches_the_user() -> None:
    """Messages are ours: no pydantic, jsonschema or lark wording."""
    _, diagnostics = engine.check("tests/fixtures/broken")
    text = render(diagnostics, "text")
    for leak in ("pydantic", "Input should", "lark", "Token(", "Traceback", "validation error"):
        assert leak not in text


def test_schema_violations_point_at_the_field(tmp_path: object) -> None:
    """A spec file that breaks its schema is E104 at the offending key, with a hint."""
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / "billsync.yaml").write_text(
        "name: x\nversion: '1'\nspec_format: 1\npacks: [schemas/entities]\npackz: []\n")
    _, diagnostics = engine.check(folder)
    [diagnostic] = diagnostics
    assert diagnostic.code == "E104"
    assert diagnostic.span.line == 5
    assert diagnostic.hint == "did you mean 'packs'?"


def test_a_cycle_is_reported_with_its_path_and_each_edge() -> None:
    """Rules feeding each other in a loop are E301, naming the path and each edge's line."""
    _, diagnostics = engine.check("tests/fixtures/cycle")
    [cycle] = [d for d in diagnostics if d.code == "E301"]
    assert "rule first" in cycle.message and "rule second" in cycle.message
    assert len(cycle.related) == 4
    assert all(span.file.endswith("loop.yaml") and span.line > 0 for _, span in cycle.related)


def test_the_shipped_packs_check_clean() -> None:
    """Every example project checks without errors or warnings."""
    for project in ("examples/standard", "examples/northwind"):
        plan, diagnostics = engine.check(project)
        assert plan is not None
        assert diagnostics == []
