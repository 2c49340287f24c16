"""load: YAML is read with a 1-based span for every node; bad YAML is a located diagnostic."""

from engine.errors import Collector
from engine.load.yaml_loader import load_yaml_text


def test_every_node_has_a_one_based_span() -> None:
    """Keys and values carry their line and column, counted from 1."""
    doc = load_yaml_text("a: 1\nrules:\n  - id: x\n    when: entry.x > 1\n", "f.yaml", Collector())
    assert doc is not None
    assert doc.data == {"a": 1, "rules": [{"id": "x", "when": "entry.x > 1"}]}
    assert (doc.span(("rules", 0, "when")).line, doc.span(("rules", 0, "when")).col) == (4, 11)
    assert (doc.key_span(("rules", 0, "when")).line, doc.key_span(("rules", 0, "when")).col) == (
        4, 5)


def test_a_quoted_scalar_starts_after_its_quote() -> None:
    """An expression inside quotes is located at its first character, not at the quote."""
    doc = load_yaml_text('x: "a + b"\n', "f.yaml", Collector())
    assert doc is not None
    assert doc.scalar_text_start(("x",)) == (1, 5)


def test_duplicate_keys_are_rejected_with_their_location() -> None:
    """A key given twice in one mapping is E102 at the second key, never silently merged."""
    collector = Collector()
    assert load_yaml_text("a: 1\nb: 2\na: 3\n", "f.yaml", collector) is None
    [diagnostic] = collector.diagnostics
    assert diagnostic.code == "E102"
    assert diagnostic.span.line == 3
    assert "'a'" in diagnostic.message


def test_yaml_syntax_errors_are_located() -> None:
    """Broken YAML is E101 with the line where the parser gave up."""
    collector = Collector()
    assert load_yaml_text("a: [1, 2\nb: 3\n", "f.yaml", collector) is None
    [diagnostic] = collector.diagnostics
    assert diagnostic.code == "E101"
    assert diagnostic.span.file == "f.yaml"
    assert diagnostic.span.line >= 2


def test_merge_keys_are_loaded_with_a_position() -> None:
    """Keys merged with `<<:` are present and located at the mapping that merges them."""
    doc = load_yaml_text("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n", "f.yaml", Collector())
    assert doc is not None
    assert doc.data["other"] == {"x": 1, "y": 2}
    assert doc.key_span(("other", "x")).line >= 1
