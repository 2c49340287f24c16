# The two set-up commands: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: demo test lint typecheck unit bench golden schemas clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(TSTAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: $(STAMP)
	$(BIN)/billsync check examples/northwind
	$(BIN)/billsync run examples/northwind --data examples/northwind/data --out out/northwind --through 2025-03
	$(BIN)/billsync wip out/northwind --by status,customer
	$(BIN)/billsync ledger out/northwind
	@# Second act: March is issued. April's pull appends re-sent and new Harvest entries and
	@# brings the corrected rate card; April's run continues the books with corrections.
	rm -rf out/northwind-april-data && cp -R examples/northwind/data out/northwind-april-data
	cat examples/northwind/april/harvest_time_entries.jsonl >> out/northwind-april-data/harvest_time_entries.jsonl
	cp examples/northwind/april/rate_card_row.jsonl out/northwind-april-data/rate_card_row.jsonl
	$(BIN)/billsync run examples/northwind --data out/northwind-april-data --out out/northwind-april --through 2025-04 --issued out/northwind

test: $(TSTAMP) lint typecheck unit

lint: $(TSTAMP)
	$(BIN)/ruff check engine tests benchmarks

typecheck: $(TSTAMP)
	$(BIN)/mypy

unit: $(TSTAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_tm.py --entries 1000000

golden: $(TSTAMP)
	$(BIN)/pytest --update-golden

schemas: $(STAMP)
	$(BIN)/billsync schemas --write schemas

clean:
	rm -rf $(VENV) out
