"""Read YAML with ruamel.yaml into plain data plus a span for every node.

The loaded :class:`SourceDoc` keeps plain Python data (dicts, lists, scalars) for the
pydantic models, and a table from a node's path (a tuple of keys and indices) to its
1-based :class:`Span`, so any later stage can point at the exact YAML place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError

from engine.errors import Collector, Span

NodePath = tuple[str | int, ...]


@dataclass
class SourceDoc:
    """One YAML file: its plain data, its text lines and the span of every node."""

    file: str
    data: Any
    lines: list[str]
    value_spans: dict[NodePath, Span] = field(default_factory=dict)
    key_spans: dict[NodePath, Span] = field(default_factory=dict)

    def span(self, path: NodePath) -> Span:
        """The span of the node at path, or of its nearest ancestor that has one."""
        for cut in range(len(path), -1, -1):
            found = self.value_spans.get(path[:cut]) or self.key_spans.get(path[:cut])
            if found:
                return found
        return Span(self.file, 1, 1, 1, 1)

    def key_span(self, path: NodePath) -> Span:
        return self.key_spans.get(path) or self.span(path)

    def scalar_text_start(self, path: NodePath) -> tuple[int, int]:
        """Where the text of a scalar really starts (after a quote or a block indicator)."""
        span = self.span(path)
        line_text = self.lines[span.line - 1] if 0 < span.line <= len(self.lines) else ""
        char = line_text[span.col - 1 : span.col]
        if char in ("'", '"'):
            return span.line, span.col + 1
        if char in ("|", ">"):
            next_line = self.lines[span.line] if span.line < len(self.lines) else ""
            indent = len(next_line) - len(next_line.lstrip(" "))
            return span.line + 1, indent + 1
        return span.line, span.col


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml


def _scalar_span(file: str, line0: int, col0: int, value: object) -> Span:
    width = len(str(value)) if not isinstance(value, (dict, list)) else 1
    return Span(file, line0 + 1, col0 + 1, line0 + 1, col0 + 1 + max(width, 1))


def _defined_in(node: CommentedMap, key: Any) -> CommentedMap:
    """The mapping whose text holds key: node itself, or one merged into it with `<<:`."""
    if key in (node.lc.data or {}):
        return node
    for merged in getattr(node, "merge", None) or ():
        if isinstance(merged, CommentedMap) and key in merged:
            return _defined_in(merged, key)
    return node


def _plain(node: Any, file: str, path: NodePath, doc: SourceDoc) -> Any:
    if isinstance(node, CommentedMap):
        result: dict[str, Any] = {}
        for key in node:
            child = (*path, str(key))
            place = _defined_in(node, key)
            known = key in (place.lc.data or {})
            kline, kcol = place.lc.key(key) if known else (node.lc.line, node.lc.col)
            doc.key_spans[child] = _scalar_span(file, kline, kcol, key)
            vline, vcol = place.lc.value(key) if known else (node.lc.line, node.lc.col)
            value = node[key]
            doc.value_spans[child] = _scalar_span(file, vline, vcol, value)
            result[str(key)] = _plain(value, file, child, doc)
        return result
    if isinstance(node, CommentedSeq):
        items = []
        for index, value in enumerate(node):
            child = (*path, index)
            iline, icol = node.lc.item(index)
            doc.value_spans[child] = _scalar_span(file, iline, icol, value)
            items.append(_plain(value, file, child, doc))
        return items
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        # YAML floats are re-read from their source text by the models; keep the text.
        return str(node)
    return node


def _mark_span(file: str, error: MarkedYAMLError) -> Span:
    mark = error.problem_mark or error.context_mark
    if mark is None:
        return Span(file, 1, 1, 1, 2)
    return Span(file, mark.line + 1, mark.column + 1, mark.line + 1, mark.column + 2)


def load_yaml_text(text: str, file: str, collector: Collector) -> SourceDoc | None:
    """Parse YAML text; on a syntax error or a duplicate key, report and return None."""
    doc = SourceDoc(file=file, data=None, lines=text.splitlines())
    try:
        root = _yaml().load(text)
    except DuplicateKeyError as error:
        key = str(error.problem or "").split('"')[1] if '"' in str(error.problem) else "?"
        collector.error(
            "E102",
            f"duplicate key '{key}'",
            _mark_span(file, error),
            hint="each key may appear once in a mapping; the second one would silently win",
        )
        return None
    except MarkedYAMLError as error:
        problem = (error.problem or error.context or "invalid YAML").strip()
        collector.error("E101", f"YAML syntax error: {problem}", _mark_span(file, error))
        return None
    doc.value_spans[()] = Span(file, 1, 1, 1, 1)
    doc.data = _plain(root, file, (), doc)
    return doc


def load_yaml_file(path: Path, display: str, collector: Collector) -> SourceDoc | None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        collector.error("E105", f"cannot read {display}: {error.strerror}",
                        Span(display, 1, 1, 1, 1))
        return None
    return load_yaml_text(text, display, collector)
