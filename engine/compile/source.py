"""Generated source text with a span for every line (the map back to YAML)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from engine.errors import Span


@dataclass
class Source:
    """Generated source lines and, for each, the YAML span it was generated from."""

    lines: list[str] = field(default_factory=list)
    spans: list[Span | None] = field(default_factory=list)
    constants: dict[str, str] = field(default_factory=dict)

    def add(self, text: str, span: Span | None = None, indent: int = 0) -> None:
        self.lines.append("    " * indent + text)
        self.spans.append(span)

    def constant(self, value: Decimal) -> str:
        literal = str(value)
        for name, existing in self.constants.items():
            if existing == literal:
                return name
        name = f"K{len(self.constants)}"
        self.constants[name] = literal
        return name
