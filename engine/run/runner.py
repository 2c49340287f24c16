"""Stage 5, run: records in, results out. Every record that comes in ends in exactly one
place (an output, an exception, an exclusion, or a duplicate), and the counts reconcile.

Reference data is loaded and indexed for lookups; events are validated, mapped from vendor
formats, deduplicated by key and revision, ordered, and pushed through the compiled rules;
group rules flush in plan order; outputs are written sorted by key, so the same inputs and
spec version give byte-identical files whatever the input order.
"""

from __future__ import annotations

import decimal
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from engine.compile import runtime
from engine.compile.program import Program
from engine.plan.model import EntityIR, GroupRuleIR, MappingIR, Plan, RecordRuleIR
from engine.run.records import InvalidRecord, RecordValidator, dumps, read_jsonl, validator
from engine.run.sink import Origin, Sink, Tally

FAR_FUTURE = "9999-12"


@dataclass
class Keep:
    """The record kept for one key after deduplication, and where it came from."""

    revision: int
    record: dict[str, Any]
    origin: Origin


@dataclass
class RunResult:
    plan: Plan
    outputs: dict[str, list[dict[str, Any]]]
    payloads: dict[str, list[dict[str, Any]]]
    tallies: dict[str, Tally]
    through: str | None
    files: list[Path] = field(default_factory=list)

    @property
    def reconciles(self) -> bool:
        return all(t.accounted == t.received for t in self.tallies.values())

    def summary(self) -> dict[str, Any]:
        return {
            "project": self.plan.name,
            "spec_version": self.plan.spec_version,
            "through": self.through,
            "inputs": {name: t.to_json() for name, t in sorted(self.tallies.items())},
            "outputs": {name: len(rows) for name, rows in sorted(self.outputs.items())},
            "payloads": {name: len(rows) for name, rows in sorted(self.payloads.items())},
            "reconciles": self.reconciles,
        }


class Runner:
    def __init__(self, program: Program, data_dir: Path, through: str | None = None) -> None:
        self.program = program
        self.plan = program.plan
        self.data_dir = data_dir
        self.through = through
        self.sink = Sink(self.plan)
        self.tallies: dict[str, Tally] = {}
        self.entities = {e.name: e for e in self.plan.entities}
        self.validators = {e.name: validator(e) for e in self.plan.entities}
        self.groups: dict[str, dict[tuple[Any, ...], list[Any]]] = {}

    # -- reading and deduplicating ---------------------------------------------------------

    def _invalid(self, entity: str, source_id: str, file: str, line: int, field_name: str,
                 reason: str) -> None:
        self.sink.begin(Origin(entity, source_id, file, line))
        self.sink.rule_id = None
        self.sink.exception("INVALID_RECORD", f"{file}:{line}: field '{field_name}': {reason}",
                            None, field_name)
        self.sink.origin = None

    def _read(self, file: str, entity: str, check: RecordValidator,
              convert: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
              ) -> Iterator[tuple[dict[str, Any], Origin]]:
        """Valid records of one file; invalid ones become INVALID_RECORD exceptions."""
        tally = self.tallies.setdefault(file.removesuffix(".jsonl"), Tally())
        path = self.data_dir / file
        if not path.exists():
            return
        for line, raw, problem in read_jsonl(path):
            tally.received += 1
            source_id = str(raw.get("id")) if isinstance(raw, dict) and raw.get("id") is not None \
                else f"{file}:{line}"
            try:
                if problem is not None:
                    raise InvalidRecord("(line)", problem)
                record = check(raw)
                if convert is not None:
                    record = convert(record)
            except InvalidRecord as error:
                tally.invalid += 1
                self._invalid(entity, source_id, file, line, error.field, error.reason)
                continue
            if isinstance(record.get("id"), str):
                source_id = record["id"]
            # A valid record is known by its id: no line number, so order cannot matter.
            yield record, Origin(entity, source_id, file)

    def tally(self, origin: Origin) -> Tally:
        """Outcomes are counted on the input file the record came from."""
        return self.tallies[(origin.file or origin.entity).removesuffix(".jsonl")]

    def _dedup(self, entity: EntityIR,
               records: Iterator[tuple[dict[str, Any], Origin]]) -> list[Keep]:
        """One record per key: the same key and revision is one record; higher replaces."""
        kept: dict[tuple[Any, ...], Keep] = {}
        seen: set[tuple[Any, ...]] = set()
        for record, origin in records:
            key = tuple(record[k] for k in entity.key)
            revision = (record[entity.revision] or 0) if entity.revision else 0
            current = kept.get(key)
            if (*key, revision) in seen:
                self.tally(origin).duplicate += 1
                continue
            seen.add((*key, revision))
            if current is None:
                kept[key] = Keep(revision, record, origin)
            elif revision > current.revision:
                self.tally(current.origin).superseded += 1
                kept[key] = Keep(revision, record, origin)
            else:
                self.tally(origin).superseded += 1
        order = entity.order_by + tuple(k for k in entity.key if k not in entity.order_by)
        return sorted(kept.values(), key=lambda k: runtime.sort_key(
            tuple(k.record[f] for f in order)))

    # -- loading reference data ------------------------------------------------------------

    def load_reference(self) -> dict[str, list[dict[str, Any]]]:
        tables: dict[str, list[dict[str, Any]]] = {}
        for entity in self.plan.entities:
            if entity.kind != "reference":
                continue
            file = f"{entity.name}.jsonl"
            records = self._read(file, entity.name, self.validators[entity.name])
            kept = self._dedup(entity, records)
            for keep in kept:
                self.tally(keep.origin).loaded += 1
            tables[entity.name] = [k.record for k in kept]
        return tables

    def build_indexes(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        for lookup in self.plan.lookups:
            if lookup.entity not in tables:
                continue
            entity = self.entities[lookup.entity]
            name = "|".join((lookup.entity, *lookup.keys, *(("@",) if lookup.dated else ())))
            self.program.indexes[name] = runtime.Index(
                tables[lookup.entity], lookup.keys, entity.effective_from, entity.effective_to,
                entity.effective_version, entity.key)

    # -- events ----------------------------------------------------------------------------

    def _mapped(self, mapping: MappingIR, file: str) -> Iterator[tuple[dict[str, Any], Origin]]:
        function = self.program.mapping(mapping.id)
        target_fields = self.entities[mapping.target].field_names()

        def convert(record: dict[str, Any]) -> dict[str, Any]:
            try:
                mapped = function(record)
                result = {name: mapped.get(name) for name in target_fields}
            except (runtime.RuleError, ArithmeticError) as error:
                span = self.program.span_of(error.__traceback__)
                where = f" (mapping {mapping.id}, {span.file}:{span.line})" if span else ""
                raise InvalidRecord("(mapping)", f"{error}{where}") from None
            return result
        return self._read(file, mapping.target, self.validators[mapping.source], convert)

    def events(self) -> Iterator[Keep]:
        """Deduplicated events of every event entity, canonical and vendor inputs together."""
        for entity in sorted((e for e in self.plan.entities if e.kind == "event"),
                             key=lambda e: e.name):
            sources = [self._read(f"{entity.name}.jsonl", entity.name,
                                  self.validators[entity.name])]
            for item in self.plan.inputs:
                mapping = self.plan.mapping(item.mapping)
                if mapping is not None and mapping.target == entity.name:
                    sources.append(self._mapped(mapping, item.file))
            yield from self._dedup(entity, _chain(sources))

    # -- rules -----------------------------------------------------------------------------

    def _guarded(self, rule_id: str, call: Callable[[], None]) -> None:
        outer, self.sink.rule_id = self.sink.rule_id, rule_id
        try:
            call()
        except (runtime.RuleError, ArithmeticError, KeyError, TypeError, IndexError) as error:
            span = self.program.span_of(error.__traceback__)
            where = f" at {span.file}:{span.line}:{span.col}" if span else ""
            self.sink.exception("RULE_ERROR", f"rule {rule_id} failed{where}: {error}")
        finally:
            self.sink.rule_id = outer

    def wire(self) -> None:
        """Connect each stream and entity to the rules that read it."""
        for rule in self.plan.rules:
            consumer = self._record_consumer(rule) if isinstance(rule, RecordRuleIR) \
                else self._group_consumer(rule)
            self.sink.consumers.setdefault(rule.input, []).append(consumer)

    def _record_consumer(self, rule: RecordRuleIR) -> Callable[[dict[str, Any]], None]:
        function = self.program.record_rule(rule.id)
        sink = self.sink
        return lambda record: self._guarded(rule.id, lambda: function(record, sink))

    def _group_consumer(self, rule: GroupRuleIR) -> Callable[[dict[str, Any]], None]:
        functions = self.program.group_rule(rule)
        groups = self.groups.setdefault(rule.id, {})

        def add(record: dict[str, Any]) -> None:
            def step() -> None:
                key = functions.key(record)
                accumulator = groups.get(key)
                if accumulator is None:
                    accumulator = groups[key] = functions.init()
                functions.add(accumulator, record)
            self._guarded(rule.id, step)
        return add

    def flush_groups(self) -> None:
        for rule in self.plan.rules:
            if not isinstance(rule, GroupRuleIR):
                continue
            functions = self.program.group_rule(rule)
            groups = self.groups.get(rule.id, {})
            for key in sorted(groups, key=runtime.sort_key):
                self.sink.begin(Origin(rule.input, runtime.key(*key)))
                self._guarded(rule.id, partial(functions.emit, key, groups[key], self.sink))
                self.sink.origin = None

    # -- outbound --------------------------------------------------------------------------

    def outbound(self) -> dict[str, list[dict[str, Any]]]:
        payloads: dict[str, list[dict[str, Any]]] = {}
        outputs = self.sink.outputs
        self.build_indexes({name: rows for name, rows in outputs.items()})
        for name in self.plan.outputs:
            mapping = self.plan.mapping(name)
            assert mapping is not None
            function = self.program.mapping(mapping.id)
            rows = payloads.setdefault(mapping.target, [])
            for record in sorted_records(self.entities[mapping.source],
                                         outputs.get(mapping.source, [])):
                self.sink.begin(Origin(mapping.source, str(record.get("id"))))
                self._guarded(mapping.id, partial(_append_mapped, rows, function, record))
                self.sink.origin = None
        return payloads

    # -- the whole run ---------------------------------------------------------------------

    def run(self) -> RunResult:
        with decimal.localcontext(runtime.DECIMAL_CONTEXT):
            self.program.namespace["RUN"].update({"through": self.through or FAR_FUTURE})
            self.build_indexes(self.load_reference())
            self.wire()
            for keep in self.events():
                self.sink.begin(keep.origin)
                for consume in self.sink.consumers.get(keep.origin.entity, ()):
                    consume(keep.record)
                self.sink.finish(self.tally(keep.origin))
            self.flush_groups()
            payloads = self.outbound()
        outputs = {name: sorted_records(self.entities[name], rows)
                   for name, rows in self.sink.outputs.items()}
        outputs["exception"] = _unique_ids(outputs["exception"])
        return RunResult(self.plan, outputs, payloads, self.tallies, self.through)


def _append_mapped(rows: list[dict[str, Any]], function: Callable[..., dict[str, Any]],
                   record: dict[str, Any]) -> None:
    rows.append(function(record))


def _chain(sources: list[Iterator[tuple[dict[str, Any], Origin]]]
           ) -> Iterator[tuple[dict[str, Any], Origin]]:
    for source in sources:
        yield from source


def sorted_records(entity: EntityIR, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: runtime.sort_key(tuple(r[k] for k in entity.key)))


def _unique_ids(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, int] = {}
    for row in rows:
        count = seen.get(row["id"], 0) + 1
        seen[row["id"]] = count
        if count > 1:
            row["id"] = f"{row['id']}#{count}"
    return rows


def write_outputs(result: RunResult, out_dir: Path) -> list[Path]:
    """One JSONL file per output entity and vendor payload, and run_summary.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in sorted(result.outputs.items()):
        written.append(_write(out_dir / f"{name}.jsonl", (dumps(r) for r in rows)))
    for name, rows in sorted(result.payloads.items()):
        written.append(_write(out_dir / "payloads" / f"{name}.jsonl",
                              (dumps(r, numbers_as_text=False) for r in rows)))
    summary = out_dir / "run_summary.json"
    summary.write_text(json.dumps(result.summary(), indent=2, sort_keys=True) + "\n")
    written.append(summary)
    return written


def _write(path: Path, lines: Iterator[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for line in lines:
            handle.write(line + "\n")
    return path
