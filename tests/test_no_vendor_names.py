"""Vendors are YAML: no vendor name appears anywhere under engine/."""

import re

from tests.conftest import ROOT

VENDORS = ("harvest", "xero", "netsuite", "salesforce", "kantata", "certinia", "dynamics",
           "oracle", "fusion", "sap", "s4hana", "quickbooks", "intuit", "business central",
           "workday", "tempo", "odoo", "sage", "freshbooks", "mavenlink", "replicon")
PATTERN = re.compile(r"\b(" + "|".join(VENDORS) + r")\b", re.IGNORECASE)


def test_engine_names_no_vendor() -> None:
    """Every file under engine/ (code, grammar, templates) is free of vendor names."""
    hits = []
    for path in sorted((ROOT / "engine").rglob("*")):
        if path.is_file() and path.suffix in (".py", ".lark", ".j2", ".json", ".yaml", ".md"):
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if PATTERN.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert hits == []


def test_the_check_would_catch_one() -> None:
    """The pattern finds a vendor name in any case, as a word."""
    assert PATTERN.search("if system == 'NetSuite':")
    assert not PATTERN.search("harvested = sapling")
