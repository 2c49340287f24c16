"""load: YAML is read with a 1-based span for every node; bad YAML is a located diagnostic."""

from pathlib import Path

import pytest

from engine.errors import Collector, Diagnostic
from engine.load.yaml_loader import MAX_FILE_BYTES, load_yaml_file, load_yaml_text


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


def load_error(text: str) -> Diagnostic:
    """The one diagnostic loading text gives."""
    collector = Collector()
    assert load_yaml_text(text, "f.yaml", collector) is None
    [diagnostic] = collector.diagnostics
    return diagnostic


def laughs(levels: int) -> str:
    """A 'billion laughs' file: each level an anchored list of ten aliases of the last."""
    lines = ["l0: &l0 [ha, ha, ha, ha, ha, ha, ha, ha, ha, ha]"]
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_aliases_expand_within_the_node_budget() -> None:
    """Aliases still work: a file expanding to fewer than MAX_NODES nodes loads in full."""
    doc = load_yaml_text(laughs(4), "f.yaml", Collector())
    assert doc is not None
    assert len(doc.data["l3"]) == 10 and doc.data["l3"][9][9][9][9] == "ha"


def test_alias_expansion_beyond_the_node_budget_is_e106_at_the_alias() -> None:
    """A 'billion laughs' file is E106 at the alias that crossed MAX_NODES, at once."""
    diagnostic = load_error(laughs(10))
    assert diagnostic.code == "E106"
    assert diagnostic.span.line == 5


def test_merge_chains_are_bounded_like_aliases() -> None:
    """`<<:` merges count their merged nodes: a doubling chain of merges is E106."""
    lines = ["m0: &m0 {k0: 1}"]
    lines += [f"m{n}: &m{n} {{<<: [*m{n - 1}, *m{n - 1}], k{n}: 1}}" for n in range(1, 3000)]
    assert load_error("\n".join(lines) + "\n").code == "E106"


@pytest.mark.parametrize("text", ["a: &a [*a]\n", "a: &a {b: *a}\n", "a: &a {<<: *a, b: 1}\n"])
def test_an_alias_inside_the_node_it_names_is_e101(text: str) -> None:
    """A self-referencing structure is E101 at the alias, not a hang or a crash."""
    diagnostic = load_error(text)
    assert diagnostic.code == "E101" and diagnostic.span.line == 1


@pytest.mark.parametrize("text", ["a: " + "[" * 5000 + "]" * 5000 + "\n",
                                  "a: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n"])
def test_flow_nesting_beyond_the_depth_limit_is_e106(text: str) -> None:
    """5,000 nested flow lists or mappings: E106 where level 65 begins."""
    diagnostic = load_error(text)
    assert diagnostic.code == "E106"
    assert diagnostic.span.line == 1 and diagnostic.span.col > 64


def test_an_alias_that_nests_beyond_the_depth_limit_is_e106() -> None:
    """Nesting counts aliases expanded: 40 levels under an alias of 40 levels is E106."""
    text = "a: &a " + "[" * 40 + "]" * 40 + "\nb: " + "[" * 40 + "*a" + "]" * 40 + "\n"
    diagnostic = load_error(text)
    assert diagnostic.code == "E106" and (diagnostic.span.line, diagnostic.span.col) == (2, 44)


@pytest.mark.parametrize(("text", "where"), [
    ("a: b\x00c\n", (1, 5)), ("a: b\x1b[2Jc\n", (1, 5)), ("a: b\x7fc\n", (1, 5)),
    ("a: b\x85c\n", (1, 5)), ("a: b\u202ec\n", (1, 5)), ("a: \ud800\n", (1, 4)),
    ("x: 1\r\na: bc\x08\n", (2, 6)),
])
def test_control_characters_are_e101_at_their_line_and_column(
        text: str, where: tuple[int, int]) -> None:
    """C0 (but tab, LF, CR), DEL, C1, surrogates and bidirectional controls: E101 exactly
    where they are, before the YAML parser sees them."""
    diagnostic = load_error(text)
    assert diagnostic.code == "E101"
    assert (diagnostic.span.line, diagnostic.span.col) == where


def test_tabs_and_line_breaks_are_text() -> None:
    """Tab, LF and CR (CRLF files) are ordinary characters of a spec file."""
    doc = load_yaml_text("a: 'x\ty'\r\nb: 2\r\n", "f.yaml", Collector())
    assert doc is not None and doc.data == {"a": "x\ty", "b": 2}


@pytest.mark.parametrize("text", [
    "x: !!python/object/apply:os.system ['touch PWNED']\n", "x: !!python/name:os.system\n",
    "x: !!python/object/new:os.system ['touch PWNED']\n", "x: !custom foo\n",
    "x: !custom {a: 1}\n", "x: !!str 12\n", "x: ! 12\n",
])
def test_explicit_tags_are_e101_at_the_tag(text: str) -> None:
    """Any explicit tag, Python's or not, is E101 where the tagged node starts."""
    diagnostic = load_error(text)
    assert diagnostic.code == "E101" and "tag" in diagnostic.message
    assert diagnostic.span.col == 4


@pytest.mark.parametrize("text", ["? [a, b]\n: 1\n", "k: &k {a: 1}\n*k : 2\n"])
def test_a_list_or_mapping_as_a_key_is_e101(text: str) -> None:
    """Mapping keys are text: a complex key, written or aliased, is E101."""
    assert load_error(text).code == "E101"


def test_an_integer_of_more_than_40_digits_is_e106() -> None:
    """A 5,000-digit integer is E106, not Python's ValueError; 40 digits are fine."""
    assert load_error("a: " + "7" * 5000 + "\n").code == "E106"
    doc = load_yaml_text("a: " + "7" * 40 + "\n", "f.yaml", Collector())
    assert doc is not None and doc.data["a"] == int("7" * 40)


def test_a_value_that_cannot_be_built_is_e101() -> None:
    """A date such as 2025-13-45 is E101 at the value, not a Python exception."""
    diagnostic = load_error("a: 1\nb: 2025-13-45\n")
    assert diagnostic.code == "E101" and diagnostic.span.line == 2


@pytest.mark.parametrize(("data", "where"), [
    (b"a: 1\nb: caf\xe9\n", (2, 7)), (b"\xff\xfea\x00:\x00", (1, 1)),
    (b"a: '\xe2\x82'\n", (1, 5)),
])
def test_a_file_that_is_not_utf8_is_e101_at_the_first_bad_byte(
        tmp_path: Path, data: bytes, where: tuple[int, int]) -> None:
    """Latin-1, UTF-16 or a cut multi-byte character: E101 at the first bad byte."""
    path = tmp_path / "f.yaml"
    path.write_bytes(data)
    collector = Collector()
    assert load_yaml_file(path, "f.yaml", collector) is None
    [diagnostic] = collector.diagnostics
    assert diagnostic.code == "E101" and "UTF-8" in diagnostic.message
    assert (diagnostic.span.line, diagnostic.span.col) == where


def test_a_file_larger_than_the_limit_is_e106_unread(tmp_path: Path) -> None:
    """A file over MAX_FILE_BYTES is E106; only the limit's worth of it is ever read."""
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# " + b"x" * MAX_FILE_BYTES + b"\n")
    collector = Collector()
    assert load_yaml_file(path, "big.yaml", collector) is None
    assert [d.code for d in collector.diagnostics] == ["E106"]


def test_a_folder_named_like_a_spec_file_is_e105(tmp_path: Path) -> None:
    """Only regular files are read: a folder (or a FIFO) is E105, never opened."""
    (tmp_path / "dir.yaml").mkdir()
    collector = Collector()
    assert load_yaml_file(tmp_path / "dir.yaml", "dir.yaml", collector) is None
    assert [d.code for d in collector.diagnostics] == ["E105"]


@pytest.mark.parametrize("text", ["%YAML 1.1\n---\nbillable: yes\n",
                                  "%TAG !e! tag:example.com,2000:\n---\nx: !e!foo 1\n"])
def test_yaml_directives_are_e101(text: str) -> None:
    """`%YAML 1.1` would change how plain values read (`yes` as true), `%TAG` names tags:
    directives are E101 at the document they head."""
    diagnostic = load_error(text)
    assert diagnostic.code == "E101" and "directives" in diagnostic.message
    assert diagnostic.span.line == 2
