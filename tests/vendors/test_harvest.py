"""Inbound: the generator's Harvest records are what Harvest's API documents."""

import json
from decimal import Decimal
from itertools import islice

from benchmarks.datagen import dump_harvest, harvest_entries
from tests.conftest import shared
from tests.vendors.openapi import validator


def test_generated_time_entries_validate_against_harvests_schema() -> None:
    """Realistic input: every generated record fits components/schemas/TimeEntry."""
    check = validator(shared("vendor-schemas", "harvest", "harvest-openapi.yaml"), "TimeEntry")
    for entry in islice(harvest_entries(300, seed=3), 300):
        record = json.loads(dump_harvest(entry))
        errors = [e.message for e in check.iter_errors(record)]
        assert errors == [], (record["id"], errors)


def test_the_generator_is_deterministic_and_exact() -> None:
    """The same seed gives the same bytes; hours are written as exact JSON numbers."""
    first = [dump_harvest(e) for e in harvest_entries(50, seed=9)]
    assert first == [dump_harvest(e) for e in harvest_entries(50, seed=9)]
    record = json.loads(first[0], parse_float=Decimal)
    assert isinstance(record["hours"], Decimal)
    assert f'"hours": {record["hours"]}' in first[0]
