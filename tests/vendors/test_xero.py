"""Outbound: the Xero invoice payloads validate against Xero's published OpenAPI schema."""

import json
from decimal import Decimal
from pathlib import Path

import engine
from tests.conftest import ROOT, shared
from tests.run.helpers import april_data
from tests.vendors.openapi import validator

# What Xero requires when creating an invoice, which its OpenAPI document does not encode.
REQUIRED_ON_CREATE = {"Invoice": ["Type", "Contact", "LineItems", "Date", "CurrencyCode"],
                      "CreditNote": ["Type", "Contact", "LineItems", "Date", "CurrencyCode"],
                      "LineItem": ["Description", "Quantity", "UnitAmount", "AccountCode"]}


def payloads(tmp_path: Path) -> list[dict[str, object]]:
    program = engine.compile(engine.plan("examples/northwind"))
    engine.run(program, ROOT / "examples" / "northwind" / "data", tmp_path, "2025-03")
    text = (tmp_path / "payloads" / "xero_invoice.jsonl").read_text()
    return [json.loads(line, parse_float=Decimal) for line in text.splitlines()]


def test_every_northwind_invoice_validates_against_the_xero_schema(tmp_path: Path) -> None:
    """Each payload, wrapped as POST /Invoices takes it, has no schema error."""
    check = validator(shared("vendor-schemas", "xero", "xero_accounting.yaml"), "Invoices",
                      REQUIRED_ON_CREATE)
    invoices = payloads(tmp_path)
    assert len(invoices) == 22
    for invoice in invoices:
        wrapped = json.loads(json.dumps({"Invoices": [invoice]}, default=float))
        errors = [e.message for e in check.iter_errors(wrapped)]
        assert errors == [], (invoice["InvoiceNumber"], errors)


def test_the_validator_rejects_a_wrong_payload() -> None:
    """The check can fail: a text quantity and an unknown invoice type are errors."""
    check = validator(shared("vendor-schemas", "xero", "xero_accounting.yaml"), "Invoices",
                      REQUIRED_ON_CREATE)
    bad = {"Invoices": [{"Type": "SALE", "Contact": {"Name": "x"}, "Date": "2025-01-31",
                         "CurrencyCode": "USD", "LineItems": [
                             {"Description": "x", "Quantity": "1", "UnitAmount": 1,
                              "AccountCode": "200"}]}]}
    messages = " ".join(e.message for e in check.iter_errors(bad))
    assert "'SALE' is not one of" in messages and "'1' is not of type 'number'" in messages


def test_line_amounts_are_exact_and_add_up(tmp_path: Path) -> None:
    """Money goes out as JSON numbers with exact digits; lines sum to the canonical invoice."""
    program = engine.compile(engine.plan("examples/northwind"))
    result = engine.run(program, ROOT / "examples" / "northwind" / "data", tmp_path, "2025-03")
    totals = {i["id"]: i["subtotal"] for i in result.outputs["invoice"]}
    for invoice in payloads(tmp_path):
        items = invoice["LineItems"]
        assert isinstance(items, list)
        assert sum(Decimal(str(i["LineAmount"])) for i in items) == totals[invoice["InvoiceNumber"]]
        for item in items:
            quantity, price = Decimal(str(item["Quantity"])), Decimal(str(item["UnitAmount"]))
            assert quantity * price == Decimal(str(item["LineAmount"])) or quantity == 1
    raw = (tmp_path / "payloads" / "xero_invoice.jsonl").read_text()
    assert '"LineAmount":"' not in raw  # numbers, not strings


def test_a_credit_note_goes_to_credit_notes_with_positive_amounts(tmp_path: Path) -> None:
    """Northwind's April, over issued March, holds a credit note (a reversal only): it
    validates as POST /CreditNotes takes it, its lines credit the invoice's amount, and no
    invoice payload carries it."""
    program = engine.compile(engine.plan("examples/northwind"))
    march, april = tmp_path / "march", tmp_path / "april"
    engine.run(program, ROOT / "examples" / "northwind" / "data", march, "2025-03")
    result = engine.run(program, april_data(tmp_path / "data"), april, "2025-04", issued=march)
    check = validator(shared("vendor-schemas", "xero", "xero_accounting.yaml"), "CreditNotes",
                      REQUIRED_ON_CREATE)
    text = (april / "payloads" / "xero_credit_note.jsonl").read_text()
    notes = [json.loads(line, parse_float=Decimal) for line in text.splitlines()]
    credits = {i["id"]: i for i in result.outputs["invoice"]
               if i["document_type"] == "credit_note"}
    assert [n["CreditNoteNumber"] for n in notes] == list(credits)
    for note in notes:
        wrapped = json.loads(json.dumps({"CreditNotes": [note]}, default=float))
        assert [e.message for e in check.iter_errors(wrapped)] == []
        total = sum(Decimal(str(i["LineAmount"])) for i in note["LineItems"])
        assert total == -credits[note["CreditNoteNumber"]]["subtotal"] > 0
