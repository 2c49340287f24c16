"""wip: every unbilled item of a run, by the dimensions finance asks for, as a table and CSV."""

import csv
import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from engine import wip
from engine.cli import app
from tests.conftest import ROOT

runner = CliRunner()


def _northwind(tmp_path: Path) -> Path:
    project = ROOT / "examples" / "northwind"
    result = runner.invoke(app, ["run", str(project), "--data", str(project / "data"),
                                 "--out", str(tmp_path), "--through", "2025-03", "-q"])
    assert result.exit_code == 0, result.output
    return tmp_path


def test_every_unbilled_item_is_in_the_csv_with_its_dimensions(tmp_path: Path) -> None:
    out = _northwind(tmp_path)
    result = runner.invoke(app, ["wip", str(out), "--by", "status,age,legal_entity"])
    assert result.exit_code == 0, result.output
    items = [json.loads(line) for line in (out / "unbilled_item.jsonl").read_text().splitlines()]
    rows = list(csv.DictReader((out / "wip.csv").open()))
    assert [r["id"] for r in rows] == [i["id"] for i in items]
    over = next(r for r in rows if r["status"] == "over_cap")
    assert (over["customer"], over["practice"], over["region"], over["legal_entity"]) == (
        "C-ACME", "Data & Analytics", "NA", "LE-US")
    assert all(r["age"] != "unknown" for r in rows)
    assert "over_cap" in result.output and "LE-US" in result.output


def test_groups_add_up_to_the_items_within_a_currency(tmp_path: Path) -> None:
    out = _northwind(tmp_path)
    rows = wip.items(out, ROOT / "examples" / "northwind" / "data", "2025-03")
    groups = wip.summarise(rows, ("status", "currency"))
    assert sum(g.items for g in groups) == len(rows)
    usd = sum(g.amount for g in groups if g.key[1] == "USD")
    assert usd == sum(wip.Decimal(r["amount"] or 0) for r in rows if r["currency"] == "USD")


def test_items_roll_up_to_the_top_of_the_customer_hierarchy(tmp_path: Path) -> None:
    """top_customer follows parent_id up through known customers; a cycle stops where it
    would repeat, and a customer without a parent is its own top."""
    data = tmp_path / "data"
    shutil.copytree(ROOT / "examples" / "northwind" / "data", data)
    rows = [json.loads(line) for line in (data / "customer.jsonl").read_text().splitlines()]
    parents = {"C-UMBRELLA": "C-INITECH", "C-INITECH": "C-ACME", "C-GLOBEX": "C-HOOLI",
               "C-HOOLI": "C-GLOBEX"}
    for row in rows:
        if row["id"] in parents:
            row["parent_id"] = parents[row["id"]]
    (data / "customer.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(ROOT / "examples" / "northwind"), "--data", str(data),
                                 "--out", str(out), "--through", "2025-03", "-q"])
    assert result.exit_code == 0, result.output
    tops = {(r["customer"], r["top_customer"]) for r in wip.items(out, data, "2025-03")}
    assert {("C-UMBRELLA", "C-ACME"), ("C-INITECH", "C-ACME"), ("C-ACME", "C-ACME"),
            ("C-GLOBEX", "C-HOOLI"), ("C-HOOLI", "C-GLOBEX")} <= tops


def test_ages_are_counted_to_the_close() -> None:
    assert str(wip.close_date("2025-02")) == "2025-02-28"
    assert [wip.age_bucket(d) for d in (0, 30, 31, 90, 91, None)] == [
        "0-30 days", "0-30 days", "31-60 days", "61-90 days", "over 90 days", "unknown"]


def test_an_unknown_dimension_is_bad_usage(tmp_path: Path) -> None:
    out = _northwind(tmp_path)
    result = runner.invoke(app, ["wip", str(out), "--by", "colour"])
    assert result.exit_code == 2
    assert "unknown dimension(s) colour" in result.output
