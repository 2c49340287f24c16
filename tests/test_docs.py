"""The map stays true: ARCHITECTURE.md lists every diagnostic code the engine has."""

import re

from engine.errors import CODES
from tests.conftest import ROOT


def test_architecture_lists_every_diagnostic_code() -> None:
    """The code table in ARCHITECTURE.md and engine/errors.py name the same codes."""
    text = (ROOT / "ARCHITECTURE.md").read_text()
    documented = dict(re.findall(r"^\| ([EW]\d{3}) \| (.+?) \|$", text, re.MULTILINE))
    assert documented == CODES


def test_every_folder_of_the_layout_has_a_readme() -> None:
    """Each top-level folder the README's map names explains itself."""
    for folder in ("schemas", "mappings", "rules", "connectors", "examples", "benchmarks"):
        assert (ROOT / folder / "README.md").exists(), folder
