"""plan: one immutable, serialisable, content-hashed Plan; its hash is the spec version."""

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

import engine
from engine.lineage import lineage, to_dot, to_mermaid
from tests.conftest import ROOT


def test_the_plan_is_immutable_and_serialisable() -> None:
    """The Plan is frozen and round-trips to JSON."""
    plan = engine.plan("examples/northwind")
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.name = "other"  # type: ignore[misc]
    data = json.loads(json.dumps(plan.to_json(), default=str))
    assert data["spec_version"] == plan.spec_version
    order = [r["id"] for r in data["rules"]]
    assert order.index("price_time") < order.index("time_invoice_lines") < order.index(
        "tax_lines") < order.index("invoices")


def test_the_spec_version_is_stable_and_changes_with_the_spec(tmp_path: Path) -> None:
    """The same spec hashes the same; a changed rule changes the spec version."""
    first = engine.plan("examples/standard").spec_version
    assert engine.plan("examples/standard").spec_version == first
    assert first.startswith("sv1-")
    copy = tmp_path / "project"
    shutil.copytree(ROOT / "examples" / "standard", copy)
    shutil.copytree(ROOT / "rules", copy / "rules")
    manifest = copy / "billsync.yaml"
    manifest.write_text(manifest.read_text().replace("- rules/billing", "- ./rules/billing"))
    assert engine.plan(copy).spec_version == first
    rules = copy / "rules" / "billing" / "time_and_materials.yaml"
    rules.write_text(rules.read_text().replace("round(minutes / 60, 2, 'half_up')",
                                               "round(minutes / 60, 3, 'half_up')"))
    assert engine.plan(copy).spec_version != first


def test_rules_are_ordered_by_their_dependencies() -> None:
    """A rule comes after every rule whose output it reads."""
    order = [r.id for r in engine.plan("examples/standard").rules]
    assert order.index("price_time") < order.index("time_invoice_lines") < order.index("invoices")


def test_lineage_names_source_fields_and_rules() -> None:
    """lineage(invoice_line.amount) reaches the time entry, the rate card and the rules."""
    text = lineage(engine.plan("examples/northwind"), "invoice_line.amount")
    assert text is not None
    for expected in ("harvest_time_entry.hours", "rate_card_row.rate", "time_entry.minutes",
                     "contract_line.time_increment_minutes", "price_time", "time_invoice_lines",
                     "harvest_time_entry"):
        assert expected in text
    assert lineage(engine.plan("examples/northwind"), "invoice_line.nothing") is None


def test_graphs_render_as_dot_and_mermaid() -> None:
    """The graph is written as DOT or Mermaid with rules, entities and streams."""
    plan = engine.plan("examples/northwind")
    dot = to_dot(plan)
    assert dot.startswith('digraph "northwind"')
    assert '"rule:price_time" -> "stream:priced_time"' in dot
    assert '"entity:invoice_line" -> "rule:invoices"' in dot
    mermaid = to_mermaid(plan, fields=True)
    assert mermaid.startswith("flowchart LR") and "-->" in mermaid
