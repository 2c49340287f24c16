"""Diagnostics as a compiler prints them: text with the source line and a caret underline,
JSON, or GitHub Actions annotations."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from engine.errors import Diagnostic
from engine.escape import printable


@cache
def _source_lines(file: str) -> list[str]:
    try:
        return Path(file).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []


def _excerpt(diagnostic: Diagnostic) -> list[str]:
    span = diagnostic.span
    lines = _source_lines(span.file)
    if not 0 < span.line <= len(lines):
        return []
    text = lines[span.line - 1]
    end = span.end_col if span.end_line == span.line and span.end_col > span.col \
        else len(text) + 1
    width = max(1, min(end, len(text) + 1) - span.col)
    gutter = f"{span.line:>5} | "
    return [f"{gutter}{text}", " " * (len(gutter) - 2) + "| " + " " * (span.col - 1) + "^" * width]


def text(diagnostic: Diagnostic) -> str:
    """A diagnostic for a terminal: messages quote spec text, so every character a terminal
    would act on (a line break, an escape) is shown as an escape, one diagnostic per head."""
    head = (f"{printable(str(diagnostic.span))}: {diagnostic.severity.value}"
            f"[{diagnostic.code}]: {printable(diagnostic.message)}")
    out = [head, *(printable(line) for line in _excerpt(diagnostic))]
    if diagnostic.hint:
        out.append(f"      = hint: {printable(diagnostic.hint)}")
    for note, span in diagnostic.related:
        out.append(f"      = note: {printable(note)} ({printable(str(span))})")
    return "\n".join(out)


def _github_data(value: str) -> str:
    """A workflow command's message, escaped as GitHub Actions reads it: a line break in
    spec text can never start a command of its own (`::set-output`, `::add-mask`)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_property(value: str) -> str:
    return _github_data(value).replace(":", "%3A").replace(",", "%2C")


def github(diagnostic: Diagnostic) -> str:
    """One GitHub Actions annotation (a workflow command) per diagnostic."""
    span = diagnostic.span
    message = diagnostic.message + (f" ({diagnostic.hint})" if diagnostic.hint else "")
    return (f"::{'error' if diagnostic.is_error else 'warning'} "
            f"file={_github_property(span.file)},line={span.line},col={span.col},"
            f"title={_github_property(diagnostic.code)}::{_github_data(message)}")


def render(diagnostics: list[Diagnostic], fmt: str = "text") -> str:
    if fmt == "json":
        return json.dumps([d.to_json() for d in diagnostics], indent=2)
    if fmt == "github":
        return "\n".join(github(d) for d in diagnostics)
    return "\n\n".join(text(d) for d in diagnostics)


def counts(diagnostics: list[Diagnostic]) -> str:
    errors = sum(1 for d in diagnostics if d.is_error)
    warnings = len(diagnostics) - errors
    return f"{errors} error(s), {warnings} warning(s)"
