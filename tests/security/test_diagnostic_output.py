"""What check and graph print quotes spec text; that text can never become a command of a CI
runner, a line of its own, or a statement of a DOT file."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from engine.cli import app
from tests.security.project import record_rule, time_entry_mapping, write_project

runner = CliRunner()
# An enum literal holding a line break and a GitHub Actions workflow command.
COMMAND_IN_LITERAL = record_rule(
    "      - when: \"entry.status == 'x\\\\n::add-mask::PWNED\\\\r\\\\n::warning::PWNED'\"\n"
    "        exclude: odd\n      - exclude: all\n")
VENDOR = '''entity: probe_row
kind: vendor
key: [id]
fields:
  id: string
  'x" [image="/etc/passwd"]; "y': string
'''
MAPPING = time_entry_mapping("probe_row", id_from="""src.'x" [image="/etc/passwd"]; "y'""")
DOT_STATEMENT = re.compile(r'\s*"(\\.|[^"\\])*"( -> "(\\.|[^"\\])*")?( \[shape=\w+\])?;')


def test_github_annotations_cannot_carry_a_workflow_command(tmp_path: Path) -> None:
    """Every annotation is one line starting `::error` or `::warning`; a line break in spec
    text is escaped as %0A, so `::add-mask` never starts a line."""
    project = write_project(tmp_path / "p", {"rule.yaml": COMMAND_IN_LITERAL})
    result = runner.invoke(app, ["check", str(project), "--format", "github"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines and all(re.match(r"::(error|warning) file=", line) for line in lines), lines
    assert "%0A::add-mask::PWNED" in result.stdout


def test_text_diagnostics_keep_spec_text_on_their_line(tmp_path: Path) -> None:
    """In the text format a line break inside quoted spec text is shown as \\n."""
    project = write_project(tmp_path / "p", {"rule.yaml": COMMAND_IN_LITERAL})
    result = runner.invoke(app, ["check", str(project)])
    assert result.exit_code == 1
    assert not any(line.startswith("::") for line in result.output.splitlines())
    assert "x\\n::add-mask::PWNED" in result.output


def test_dot_graphs_quote_every_name(tmp_path: Path) -> None:
    """A vendor field named to close a DOT string and add an attribute stays one string:
    every line of the graph is a node or an edge statement."""
    project = write_project(tmp_path / "p", {"vendor.yaml": VENDOR, "mapping.yaml": MAPPING})
    result = runner.invoke(app, ["graph", str(project), "--fields"])
    assert result.exit_code == 0, result.output
    body = result.stdout.splitlines()[2:-1]
    assert body and all(DOT_STATEMENT.fullmatch(line) for line in body), body
    assert not re.search(r'(?<!\\)"\s*\[image=', result.stdout)


def test_mermaid_labels_hold_no_quote(tmp_path: Path) -> None:
    """A quote in a name is an entity code in a Mermaid label."""
    project = write_project(tmp_path / "p", {"vendor.yaml": VENDOR, "mapping.yaml": MAPPING})
    result = runner.invoke(app, ["graph", str(project), "--fields", "--format", "mermaid"])
    assert result.exit_code == 0, result.output
    assert "#quot;" in result.stdout
    for line in result.stdout.splitlines()[1:]:
        assert line.count('"') in (0, 2), line
