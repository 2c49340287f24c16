"""A generated module: its syntax tree, the text one reads, and the maps back to YAML.

The tree is unparsed to text and the text parsed back; the program runs only when that reads
back as exactly the tree that was built and passes the closed surface's check, so the code
that runs is the code `billsync compile --emit-python` shows, line for line.
"""

from __future__ import annotations

import ast
import bisect
from dataclasses import dataclass
from types import CodeType, TracebackType

from engine.compile import surface
from engine.compile.names import Names, Owner
from engine.compile.pyast import CompileBug, Spans, nodes
from engine.errors import Span
from engine.escape import printable


@dataclass(frozen=True, order=True)
class Region:
    """Where a generated node stands in the text (1-based lines, 0-based byte columns)."""

    line: int
    col: int
    end_line: int
    end_col: int

    def holds(self, other: Region) -> bool:
        return (self.line, self.col) <= (other.line, other.col) and (
            other.end_line, other.end_col) <= (self.end_line, self.end_col)

    def extent(self) -> tuple[int, int]:
        return (self.end_line - self.line, self.end_col - self.col)


@dataclass(frozen=True)
class Failure:
    """Where generated code failed: the spec element and the YAML span of the failing part."""

    owner: Owner | None
    span: Span | None

    def where(self) -> str:
        return f"{self.span.file}:{self.span.line}:{self.span.col}" if self.span else ""


class GeneratedSource:
    def __init__(self, tree: ast.Module, spans: Spans, names: Names, filename: str) -> None:
        self.filename = filename
        self.names = names
        self.text = ast.unparse(tree) + "\n"
        try:
            parsed = ast.parse(self.text, filename)
        except (SyntaxError, ValueError) as error:
            raise CompileBug(f"the generated text does not parse back: {error}") from None
        surface.verify(parsed)  # what runs is checked, whatever unparse made of the tree
        self.lines = self.text.splitlines()
        self.line_spans: list[Span | None] = [None] * (len(self.lines) + 1)
        self.regions: list[tuple[Region, Span]] = []
        for built, read in zip(nodes(tree), nodes(parsed), strict=True):
            if not _same_node(built, read):
                raise CompileBug("the generated text does not read back as the tree built")
            span = spans.get(built)
            if span is not None:
                self._locate(read, span)
        self.owners = sorted(
            (statement.lineno, statement.end_lineno or statement.lineno,
             names.owners[statement.name]) for statement in parsed.body
            if isinstance(statement, ast.FunctionDef) and statement.name in names.owners)
        self.code: CodeType = compile(parsed, filename, "exec")

    def _locate(self, node: ast.AST, span: Span) -> None:
        line = getattr(node, "lineno", None)
        if line is None:
            return
        end = node.end_lineno or line  # type: ignore[attr-defined]
        if isinstance(node, ast.stmt):
            for number in range(line, end + 1):
                self.line_spans[number] = span  # walked outside in: the innermost wins
        region = Region(line, node.col_offset, end,  # type: ignore[attr-defined]
                        node.end_col_offset or 0)  # type: ignore[attr-defined]
        self.regions.append((region, span))

    def owner_at(self, line: int) -> Owner | None:
        starts = [start for start, _, _ in self.owners]
        position = bisect.bisect_right(starts, line) - 1
        if position >= 0 and self.owners[position][1] >= line:
            return self.owners[position][2]
        return None

    def span_at(self, where: Region) -> Span | None:
        """The YAML span of the smallest generated node holding this place of the text."""
        holding = [(region.extent(), span) for region, span in self.regions
                   if region.holds(where)]
        if holding:
            return min(holding, key=lambda found: found[0])[1]
        return self.line_spans[where.line] if 0 < where.line < len(self.line_spans) else None

    def failure(self, tb: TracebackType | None) -> Failure:
        """The spec element and YAML span of the innermost generated frame of a traceback."""
        found = Failure(None, None)
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == self.filename:
                where = _instruction(tb)
                if where is not None:
                    found = Failure(self.owner_at(where.line), self.span_at(where))
            tb = tb.tb_next
        return found

    def annotated(self) -> str:
        """The text, each line tagged with its YAML origin where that changes."""
        out, previous = [], ""
        for number, line in enumerate(self.lines, start=1):
            span = self.line_spans[number]
            origin = printable(f"{span.file}:{span.line}") if span else ""
            if origin and origin != previous and line.strip():
                line = f"{line.ljust(88)}  # {origin}"
            previous = origin or previous
            out.append(line)
        return "\n".join(out) + "\n"


def _same_node(built: ast.AST, read: ast.AST) -> bool:
    """The same kind of node with the same name or constant (children are compared as the
    walk reaches them)."""
    if type(built) is not type(read):
        return False
    if isinstance(built, ast.Constant) and isinstance(read, ast.Constant):
        return type(built.value) is type(read.value) and bool(built.value == read.value)
    if isinstance(built, ast.Name) and isinstance(read, ast.Name):
        return built.id == read.id
    return True


def _instruction(tb: TracebackType) -> Region | None:
    """The text region of the instruction a traceback entry stopped at."""
    positions = list(tb.tb_frame.f_code.co_positions())
    index = tb.tb_lasti // 2
    if not 0 <= index < len(positions):
        return None
    line, end_line, col, end_col = positions[index]
    if line is None:
        return Region(tb.tb_lineno, 0, tb.tb_lineno, 0)
    return Region(line, col or 0, end_line or line, end_col or 0)
