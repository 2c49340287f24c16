"""Diagnostics as a compiler prints them: text with the source line and a caret underline,
JSON, or GitHub Actions annotations."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from engine.errors import Diagnostic


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
    head = (f"{diagnostic.span}: {diagnostic.severity.value}[{diagnostic.code}]: "
            f"{diagnostic.message}")
    out = [head, *_excerpt(diagnostic)]
    if diagnostic.hint:
        out.append(f"      = hint: {diagnostic.hint}")
    for note, span in diagnostic.related:
        out.append(f"      = note: {note} ({span})")
    return "\n".join(out)


def render(diagnostics: list[Diagnostic], fmt: str = "text") -> str:
    if fmt == "json":
        return json.dumps([d.to_json() for d in diagnostics], indent=2)
    if fmt == "github":
        return "\n".join(
            f"::{'error' if d.is_error else 'warning'} file={d.span.file},line={d.span.line},"
            f"col={d.span.col},title={d.code}::{d.message}" + (f" ({d.hint})" if d.hint else "")
            for d in diagnostics)
    return "\n\n".join(text(d) for d in diagnostics)


def counts(diagnostics: list[Diagnostic]) -> str:
    errors = sum(1 for d in diagnostics if d.is_error)
    warnings = len(diagnostics) - errors
    return f"{errors} error(s), {warnings} warning(s)"
