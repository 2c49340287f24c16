"""Read YAML with ruamel.yaml into plain data plus a span for every node.

The loaded :class:`SourceDoc` keeps plain Python data (dicts, lists, scalars) for the
pydantic models, and a table from a node's path (a tuple of keys and indices) to its
1-based :class:`Span`, so any later stage can point at the exact YAML place.

Spec files are untrusted input: the loader reads plain YAML only (no explicit tags), within
limits of size, nodes (aliases expanded) and nesting, and every way a file can fail ends in
a located diagnostic, never a Python exception.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer, MaxDepthExceededError
from ruamel.yaml.constructor import DuplicateKeyError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.nodes import MappingNode, ScalarNode

from engine.errors import Collector, Span
from engine.load.names import UNSAFE_CHARACTERS

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


# Limits of one spec file (ARCHITECTURE.md, "Identifiers and limits"). The largest shipped
# file is 16 KB, 1,106 nodes and 10 levels. ruamel composes some 15,000 nodes a second, so
# a file within the limits loads in under 10 s and 200 MB, and aliases cannot amplify it.
MAX_FILE_BYTES = 1 << 20
MAX_NODES = 100_000
MAX_DEPTH = 64
MAX_INTEGER_DIGITS = 40

_INT_TAG = "tag:yaml.org,2002:int"
_PLAIN_YAML = ("spec files are plain YAML: mappings, lists, text, numbers, true/false, "
               "null and dates")


class _Rejected(MarkedYAMLError):
    """A document the loader refuses, with its diagnostic code and the mark where it was."""

    def __init__(self, code: str, problem: str, mark: Any, hint: str | None = None) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.code, self.hint = code, hint


class _SpecComposer(Composer):
    """ruamel's composer, bounded and plain. Rejects directives (`%YAML 1.1` would read
    `yes` as true and `1:20` as 80; `%TAG`), explicit tags (`!!python/...`, `!custom`, even
    `!!str`), an alias inside the node it names, a list or mapping as a mapping key, an
    integer of more than MAX_INTEGER_DIGITS digits, and a document that, aliases and `<<:`
    merges expanded, has more than MAX_NODES nodes or MAX_DEPTH levels. Each is reported
    where it occurs, before anything is constructed."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.expanded = 0
        self.shapes: dict[int, tuple[int, int]] = {}  # id(node): (nodes, levels), expanded

    def compose_document(self) -> Any:
        start = self.parser.peek_event()
        if start.version is not None or start.tags:
            raise _Rejected("E101", "YAML directives (%YAML, %TAG) are not allowed",
                            start.start_mark, hint=_PLAIN_YAML + ", read as YAML 1.2")
        return super().compose_document()

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        is_key = isinstance(parent, MappingNode) and index is None
        if isinstance(event, AliasEvent):
            return self._alias(parent, index, event, is_key)
        if event.ctag is not None:
            raise _Rejected("E101", f"explicit tag '{event.ctag}' is not allowed",
                            event.start_mark, hint=_PLAIN_YAML)
        self._count(1, event.start_mark)
        node = super().compose_node(parent, index)
        self._check_node(node, is_key, node.start_mark)
        self.shapes[id(node)] = _shape(node, self.shapes)
        return node

    def _alias(self, parent: Any, index: Any, event: AliasEvent, is_key: bool) -> Any:
        node = super().compose_node(parent, index)
        if id(node) not in self.shapes:
            raise _Rejected("E101", f"alias '*{event.anchor}' is inside the node it names",
                            event.start_mark, hint="an alias repeats a finished node")
        self._check_node(node, is_key, event.start_mark)
        nodes, levels = self.shapes[id(node)]
        if self.depth + levels > MAX_DEPTH:
            raise _Rejected("E106", f"alias '*{event.anchor}' nests the document deeper "
                            f"than {MAX_DEPTH} levels", event.start_mark)
        self._count(nodes, event.start_mark)
        return node

    def _count(self, nodes: int, mark: Any) -> None:
        self.expanded += nodes
        if self.expanded > MAX_NODES:
            raise _Rejected("E106", f"the file has more than {MAX_NODES:,} nodes once aliases "
                            "are expanded", mark, hint="split it, or repeat less with aliases")

    def _check_node(self, node: Any, is_key: bool, mark: Any) -> None:
        if is_key and not isinstance(node, ScalarNode):
            raise _Rejected("E101", "a mapping key must be text, not a list or a mapping", mark)
        if node.tag == _INT_TAG and len(node.value) > MAX_INTEGER_DIGITS:
            raise _Rejected("E106", f"an integer of {len(node.value):,} characters (at most "
                            f"{MAX_INTEGER_DIGITS})", mark,
                            hint="quote it if it is an identifier, not a number")


def _shape(node: Any, shapes: dict[int, tuple[int, int]]) -> tuple[int, int]:
    """The nodes and levels of node with aliases expanded, from its children's shapes."""
    if isinstance(node, ScalarNode):
        return 1, 1
    children = [part for pair in node.value for part in pair] \
        if isinstance(node, MappingNode) else node.value
    found = [shapes[id(child)] for child in children]
    return 1 + sum(n for n, _ in found), 1 + max((levels for _, levels in found), default=0)


class _SpecConstructor(RoundTripConstructor):
    """ruamel's round-trip constructor; a value it cannot build (a date such as 2025-13-45)
    is a located YAML error, not a Python exception."""

    def construct_non_recursive_object(self, node: Any, tag: str | None = None) -> Any:
        try:
            return super().construct_non_recursive_object(node, tag)
        except (ValueError, OverflowError) as error:
            raise _Rejected("E101", f"cannot read this value: {error}", node.start_mark) \
                from None


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    yaml.max_depth = MAX_DEPTH
    yaml.Composer = _SpecComposer
    yaml.Constructor = _SpecConstructor
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


def _text_span(file: str, text: str, index: int) -> Span:
    """The 1-based span of the character at index, lines counted as SourceDoc.lines are."""
    lines = (text[:index] + "^").splitlines()
    line, col = len(lines), len(lines[-1])
    return Span(file, line, col, line, col + 1)


def _unsafe_character(text: str, file: str, collector: Collector) -> bool:
    """Report the first character a spec file may not hold (E101); True if there was one."""
    found = UNSAFE_CHARACTERS.search(text)
    if found is None:
        return False
    char = found[0]
    name = unicodedata.name(char, "a control character")
    collector.error("E101", f"character U+{ord(char):04X} ({name}) is not allowed in a spec "
                    "file", _text_span(file, text, found.start()),
                    hint="write it as an escape inside a double-quoted string if it is data")
    return True


def load_yaml_text(text: str, file: str, collector: Collector) -> SourceDoc | None:
    """Parse YAML text into a SourceDoc. Reports and returns None on control characters, a
    syntax error or an explicit tag (E101), a duplicate key (E102), and a document beyond
    the loader's limits (E106): never a Python exception, each at its line and column."""
    if _unsafe_character(text, file, collector):
        return None
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
    except _Rejected as error:
        collector.error(error.code, str(error.problem), _mark_span(file, error), error.hint)
        return None
    except MaxDepthExceededError as error:
        collector.error("E106", f"the file nests deeper than {MAX_DEPTH} levels",
                        _mark_span(file, error))
        return None
    except MarkedYAMLError as error:
        problem = (error.problem or error.context or "invalid YAML").strip()
        collector.error("E101", f"YAML syntax error: {problem}", _mark_span(file, error))
        return None
    except YAMLError as error:
        where = getattr(error, "position", None)
        span = _text_span(file, text, where) if isinstance(where, int) else Span(file, 1, 1, 1, 2)
        collector.error("E101", f"YAML error: {str(error).splitlines()[0]}", span)
        return None
    doc = SourceDoc(file=file, data=None, lines=text.splitlines())
    doc.value_spans[()] = Span(file, 1, 1, 1, 1)
    doc.data = _plain(root, file, (), doc)
    return doc


def _read(path: Path, display: str, collector: Collector) -> bytes | None:
    """The bytes of a regular file of at most MAX_FILE_BYTES; else E105 or E106."""
    try:
        if path.exists() and not path.is_file():  # a folder, a FIFO, a device: never read
            collector.error("E105", f"cannot read {display}: not a regular file",
                            Span(display, 1, 1, 1, 1))
            return None
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        collector.error("E105", f"cannot read {display}: {error.strerror}",
                        Span(display, 1, 1, 1, 1))
        return None
    if len(data) > MAX_FILE_BYTES:
        collector.error("E106", f"{display} is larger than {MAX_FILE_BYTES >> 20} MiB",
                        Span(display, 1, 1, 1, 1), hint="a spec file is hand-written YAML")
        return None
    return data


def _decode(data: bytes, display: str, collector: Collector) -> str | None:
    """data as UTF-8 text; else E101 at the line and column of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        before = data[: error.start].decode("utf-8")
        collector.error("E101", f"not UTF-8: byte 0x{data[error.start]:02X} cannot start or "
                        "continue a character", _text_span(display, before, len(before)),
                        hint="save the file as UTF-8")
        return None


def load_yaml_file(path: Path, display: str, collector: Collector) -> SourceDoc | None:
    """Read and parse one spec file: a regular file (E105), at most MAX_FILE_BYTES (E106),
    UTF-8 (E101), then as load_yaml_text."""
    data = _read(path, display, collector)
    text = None if data is None else _decode(data, display, collector)
    return None if text is None else load_yaml_text(text, display, collector)
