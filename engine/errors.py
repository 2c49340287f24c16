"""The error model: source spans, diagnostics with stable codes, an exception per stage.

Every problem a user sees is a :class:`Diagnostic`. Stages collect diagnostics in a
:class:`Collector` and raise their stage's exception only at the stage boundary, so a user
sees all problems of a stage at once. Codes are stable and documented in :data:`CODES`
(and in ARCHITECTURE.md); tests assert on codes, never on message wording.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True, order=True)
class Span:
    """A 1-based, inclusive-start, exclusive-end region of a source file."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "end_line": self.end_line,
            "end_col": self.end_col,
        }


NO_SPAN = Span("<builtin>", 0, 0, 0, 0)


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


# Stable diagnostic codes. E1xx load, E2xx names and types, E3xx plan, E5xx project.
# Warnings use W. Never renumber; retire codes instead. ARCHITECTURE.md lists them all
# (a test keeps the two in step). Failures while running are not diagnostics: they are
# exception records (RULE_ERROR, INVALID_RECORD, ...) in the run's output.
CODES: dict[str, str] = {
    "E101": "YAML syntax error",
    "E102": "duplicate key in a YAML mapping",
    "E103": "expression syntax error",
    "E104": "spec file does not match its schema",
    "E105": "file not found or unreadable",
    "E106": "beyond a size or nesting limit",
    "E107": "not a valid identifier",
    "E201": "unknown name",
    "E202": "unknown function",
    "E203": "wrong number or kind of arguments",
    "E204": "unknown field",
    "E205": "type mismatch",
    "E206": "optional value used without handling its absence",
    "E207": "value is not a member of the enum",
    "E208": "duplicate definition",
    "E209": "forbidden construct (sandbox)",
    "E210": "unknown entity or stream",
    "E211": "rule cannot route every record",
    "E212": "emitted record does not match its entity",
    "E213": "unknown exception code",
    "E214": "aggregate used outside a group rule, or plain value inside an aggregate",
    "E301": "dependency cycle",
    "E501": "invalid project manifest",
    "E502": "input file missing, not a file, or outside the data folder",
    "E503": "output folder holds files that are not a run's output",
    "E504": "a run without --through has no dated input record to close by",
    "E505": "issued run refused: not a run's output, another project's, or edited",
    "E506": "the run does not close after the issued run's last period",
    "W601": "definition is never used",
    "W602": "spec test has no cases",
}


@dataclass(frozen=True)
class Diagnostic:
    """One problem, anchored at a span, with a stable code and an optional hint."""

    severity: Severity
    code: str
    message: str
    span: Span = NO_SPAN
    hint: str | None = None
    related: tuple[tuple[str, Span], ...] = field(default=())

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.span.file, self.span.line, self.span.col, self.code, self.message)

    def to_json(self) -> dict[str, object]:
        return {
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "span": self.span.to_json(),
            "hint": self.hint,
            "related": [{"note": note, "span": span.to_json()} for note, span in self.related],
        }


class Collector:
    """Gathers the diagnostics of a stage; deduplicates and orders them for display."""

    def __init__(self) -> None:
        self._items: dict[tuple[object, ...], Diagnostic] = {}

    def error(
        self,
        code: str,
        message: str,
        span: Span = NO_SPAN,
        hint: str | None = None,
        related: tuple[tuple[str, Span], ...] = (),
    ) -> None:
        self.add(Diagnostic(Severity.ERROR, code, message, span, hint, related))

    def warning(self, code: str, message: str, span: Span = NO_SPAN,
                hint: str | None = None) -> None:
        self.add(Diagnostic(Severity.WARNING, code, message, span, hint))

    def add(self, diagnostic: Diagnostic) -> None:
        key = (diagnostic.code, diagnostic.span, diagnostic.message)
        self._items.setdefault(key, diagnostic)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return sorted(self._items.values(), key=Diagnostic.sort_key)

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self._items.values())


class BillsyncError(Exception):
    """Base of the stage exceptions; carries the diagnostics that stopped the stage."""

    stage = "billsync"

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        first = diagnostics[0] if diagnostics else None
        summary = f"{first.span}: {first.code}: {first.message}" if first else "failed"
        super().__init__(f"{self.stage} failed: {summary}")


class LoadError(BillsyncError):
    stage = "load"


class CheckError(BillsyncError):
    stage = "check"


class PlanError(BillsyncError):
    stage = "plan"


class RunError(BillsyncError):
    """A run that cannot start or finish as asked (a missing input, an unsafe path)."""

    stage = "run"


def did_you_mean(name: str, candidates: list[str] | set[str] | tuple[str, ...]) -> str | None:
    """A hint naming the closest candidate, or None when nothing is close."""
    import difflib

    matches = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else None
