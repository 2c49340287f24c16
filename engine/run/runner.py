"""Stage 5, run: records in, results out. Every record that comes in ends in exactly one
place (an output, an exception, an exclusion, a duplicate), and the counts reconcile.

Reference data is loaded and indexed for lookups. Events stream: each line is parsed,
validated and mapped from its vendor format, then sorted by key and revision in bounded
memory (sorted runs, spilled to disk past a chunk), so duplicates meet and the highest
revision wins whatever the input order. Records go through the compiled rules in key
order; group rules flush in plan order; outputs are written merged in key order, so the same
inputs and spec version give byte-identical files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import functools
import gc
import heapq
import itertools
import json
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.compile import runtime
from engine.compile.inputs import InvalidRecord
from engine.compile.program import Program
from engine.errors import Diagnostic, RunError, Severity
from engine.plan.model import EntityIR, GroupRuleIR, MappingIR, Plan, RecordRuleIR
from engine.plan.reads import fields_read
from engine.run.failures import RULE_FAILURES, described
from engine.run.issued import PAYLOADS, IssuedRun, check_close, digest, load_issued
from engine.run.paths import SUMMARY, input_files, replacing
from engine.run.records import decimals_of, dumps, read_jsonl
from engine.run.sink import Origin, Sink, Tally, record_key
from engine.run.store import SortedRuns
from engine.run.trace import Tracer, TracingSink

FAR_FUTURE = "9999-12"
MAX_ID_LENGTH = 256  # an invalid record's own id, when longer, is replaced by its place
CHUNK = 100_000  # records held in memory per sorted store before spilling
Record = dict[str, Any]
Validate = Callable[[Any], Record]
Keyed = tuple[Any, int, int, tuple[Any, ...], str]  # key, revision, arrival, values, file


@dataclass
class RunResult:
    plan: Plan
    stores: dict[str, SortedRuns[Record]]
    payloads: dict[str, list[Record]]
    tallies: dict[str, Tally]
    through: str | None
    files: list[Path] = field(default_factory=list)
    _outputs: dict[str, list[Record]] | None = None
    derived_through: bool = False  # the close came from the latest dated input record
    issued: IssuedRun | None = None  # the books this run continues

    @property
    def outputs(self) -> dict[str, list[Record]]:
        """Every output record in key order (materialised: for tests and small runs)."""
        if self._outputs is None:
            self._outputs = {name: list(iter_output(name, store))
                             for name, store in self.stores.items()}
        return self._outputs

    @property
    def reconciles(self) -> bool:
        return all(t.accounted == t.received for t in self.tallies.values())

    def summary(self) -> dict[str, Any]:
        """What the run did; its written files' digests are added when they are written.
        Counts of outputs and payloads include the documents carried from issued books."""
        issued = self.issued
        return {
            "project": self.plan.name,
            "spec_version": self.plan.spec_version,
            "through": self.through,
            "through_from": "latest dated input" if self.derived_through else "--through",
            "issued": issued.summary() if issued else None,
            "new_periods": self.new_periods(),
            "inputs": {name: t.to_json() for name, t in sorted(self.tallies.items())},
            "outputs": {name: len(store) + len(issued.documents.get(name, ()) if issued else ())
                        for name, store in sorted(self.stores.items())},
            "payloads": {name: len(rows) + len(issued.payloads.get(name, ()) if issued else ())
                         for name, rows in sorted(self.payloads.items())},
            "reconciles": self.reconciles,
        }

    def new_periods(self) -> list[str]:
        """The periods whose documents this run made: after the issued books' close (from
        the first document's period, without them), through the run's own."""
        if self.through is None:
            return []
        if self.issued is not None:
            return runtime.periods(runtime.next_period(self.issued.through), self.through)
        first = min((str(record[entity.issued_period]) for entity in self.plan.entities
                     if entity.issued_period is not None
                     for record in self.stores[entity.name]), default=None)
        return [] if first is None else runtime.periods(first, self.through)


def iter_output(name: str, store: SortedRuns[Record]) -> Iterator[Record]:
    """Output records in key order; exception ids made unique (#2, #3) where they repeat."""
    previous, count = None, 0
    for record in store:
        if name == "exception":
            count = count + 1 if record["id"] == previous else 1
            previous = record["id"]
            if count > 1:
                record = {**record, "id": f"{record['id']}#{count}"}
        yield record


class Runner:
    def __init__(self, program: Program, data_dir: Path, through: str | None = None,
                 chunk: int = CHUNK, tracer: Tracer | None = None,
                 issued: Path | None = None) -> None:
        self.program = program
        self.plan = program.plan
        self.data_dir = data_dir
        self.through = through
        self.issued_dir = issued  # an earlier run's folder whose books this run continues
        self.issued: IssuedRun | None = None  # its books, read and verified by run()
        self.chunk = chunk
        # With a tracer (billsync explain), every invocation is recorded; the program must
        # then be compiled in trace mode, reporting to the same tracer.
        self.tracer = tracer
        self.sink = Sink(self.plan, chunk) if tracer is None else _tracing_sink(
            self.plan, chunk, tracer)
        self.tallies: dict[str, Tally] = {}
        self._tally_of: dict[str, Tally] = {}  # by file name, as records carry it
        self.entities = {e.name: e for e in self.plan.entities}
        self.inputs: dict[str, Path | None] = {}  # file -> its real path; set by run()
        self.latest_date: dt.date | None = None  # of the dated events read so far
        self.derived_through = False  # the close came from the data, not --through

    # -- reading -----------------------------------------------------------------------------

    def tally(self, file: str) -> Tally:
        """Outcomes are counted on the input file the record came from."""
        found = self._tally_of.get(file)
        if found is None:
            found = self._tally_of[file] = self.tallies.setdefault(
                file.removesuffix(".jsonl"), Tally())
        return found

    def _invalid(self, entity: str, source_id: str, file: str, line: int,
                 error: InvalidRecord) -> None:
        self.sink.begin(Origin(entity, source_id, file, line))
        self.sink.exception("INVALID_RECORD", f"{file}:{line}: field '{error.field}': "
                            f"{error.reason}", None, error.field)
        self.sink.origin = None

    def _read(self, file: str, entity: str, validate: Validate) -> Iterator[Record]:
        """Valid records of one file; invalid ones become INVALID_RECORD exceptions. Files
        were found, once for the run, by the one resolver (run/paths.py); an optional file
        that is absent has no records."""
        tally = self.tally(file)
        path = self.inputs[file]
        if path is None:
            return
        for line, raw, problem in read_jsonl(path):
            tally.received += 1
            try:
                if problem is not None:
                    raise InvalidRecord("(line)", problem)
                yield validate(raw)
            except InvalidRecord as error:
                tally.invalid += 1
                self._invalid(entity, _source_id(raw, file, line), file, line, error)

    def _mapper(self, mapping: MappingIR) -> Validate:
        """Check a vendor record and map it to its canonical entity (fused when possible)."""
        check = self.program.validator(mapping.source)
        function = self.program.mapping(mapping.id)
        fused = self.program.ingest(mapping.id)

        def convert(raw: Any) -> Record:
            try:
                mapped: Record = fused(raw) if fused else function(check(raw))
            except RULE_FAILURES as error:
                failure = self.program.failure(error.__traceback__)
                raise InvalidRecord("(mapping)", described(
                    failure, f"mapping {mapping.id}", error)) from None
            return mapped
        return convert

    def _sources(self, entity: EntityIR) -> Iterator[tuple[str, Validate]]:
        """The files an entity is read from: its canonical file and mapped vendor inputs."""
        yield f"{entity.name}.jsonl", self.program.validator(entity.name)
        for item in self.plan.inputs:
            mapping = self.plan.mapping(item.mapping)
            if mapping is not None and mapping.target == entity.name:
                yield item.file, self._mapper(mapping)

    def records(self, entity: EntityIR) -> Iterator[tuple[Record, str]]:
        """One record per key, in key order: the same key and revision is one record (a
        duplicate); a higher revision supersedes a lower one."""
        return self._in_key_order(entity, self._collect(entity))

    def _collect(self, entity: EntityIR) -> SortedRuns[Keyed]:
        """Every record of an entity read, checked and sorted (in bounded memory). Items sort
        by (key, revision, arrival); an event travels with the fields its rules read only
        (reference rows keep all: lookups hand out whole rows). The latest date of a dated
        event is kept, to close a run given no --through."""
        key = record_key(entity)
        revision = entity.revision
        project = operator.itemgetter(*self._names(entity))
        # Dates are followed only to close a run that was given no --through.
        dated = _date_of(entity) if self.through is None else None
        runs: SortedRuns[Keyed] = SortedRuns(None, self.chunk)
        add, arrival = runs.add, 0
        for file, validate in self._sources(entity):
            for record in self._read(file, entity.name, validate):
                arrival += 1
                add((key(record), (record[revision] or 0) if revision else 0, arrival,
                     project(record), file))
                day = dated(record) if dated is not None else None
                if day is not None and (self.latest_date is None or day > self.latest_date):
                    self.latest_date = day
        return runs

    def _names(self, entity: EntityIR) -> tuple[str, ...]:
        return entity.field_names() if entity.kind != "event" else fields_read(self.plan, entity)

    def _in_key_order(self, entity: EntityIR, runs: SortedRuns[Keyed]
                      ) -> Iterator[tuple[Record, str]]:
        names = self._names(entity)
        unread = dict.fromkeys(n for n in entity.field_names() if n not in names)
        try:
            for values, file in self._latest(runs, entity.name):
                record = dict(zip(names, values if len(names) > 1 else (values,), strict=True))
                yield (record | unread if unread else record), file
        finally:
            runs.close()

    def _latest(self, runs: SortedRuns[Keyed], entity: str
                ) -> Iterator[tuple[tuple[Any, ...], str]]:
        current: Keyed | None = None
        for item in runs:
            if current is None:
                current = item
            elif item[0] != current[0]:
                yield current[3], current[4]
                current = item
            elif item[1] == current[1]:
                self.tally(item[4]).duplicate += 1
                if item[3] != current[3]:
                    current = self._conflict(entity, current, item)
            else:
                self.tally(current[4]).superseded += 1
                current = item
        if current is not None:
            yield current[3], current[4]

    def _conflict(self, entity: str, first: Keyed, second: Keyed) -> Keyed:
        """Same key and revision, different content: keep one whatever the input order (the
        smaller content), and say so."""
        kept, dropped = sorted((first, second), key=lambda item: repr(item[3]))
        self.sink.begin(Origin(entity, str(kept[0]), dropped[4]))
        self.sink.exception("DUPLICATE_CONFLICT", "two records share this key and revision "
                            "but differ; the one kept is the smaller, the other is counted "
                            "as a duplicate")
        self.sink.origin = None
        return kept

    # -- reference data ----------------------------------------------------------------------

    def load_reference(self) -> dict[str, list[Record]]:
        tables: dict[str, list[Record]] = {}
        for entity in self.plan.entities:
            if entity.kind == "reference":
                rows = tables[entity.name] = []
                for record, file in self.records(entity):
                    self.tally(file).loaded += 1
                    rows.append(record)
            elif entity.kind == "issued" and entity.issued_of is not None:
                tables[entity.name] = self._issued_rows(entity.issued_of)
        return tables

    def _issued_rows(self, output: str) -> list[Record]:
        """An output's issued records (none without --issued), counted as loaded."""
        rows = self.issued.records(output) if self.issued is not None else []
        if rows:
            tally = self.tally(f"issued/{output}.jsonl")
            tally.received += len(rows)
            tally.loaded += len(rows)
        return rows

    def build_indexes(self, tables: Callable[[str], list[Record] | None]) -> None:
        for lookup in self.plan.lookups:
            rows = tables(lookup.entity)
            if rows is None:
                continue
            entity = self.entities[lookup.entity]
            name = "|".join((lookup.entity, *lookup.keys, *(("@",) if lookup.dated else ())))
            self.program.indexes[name] = runtime.Index(
                rows, lookup.keys, entity.effective_from, entity.effective_to,
                entity.effective_version, entity.key, entity.effective_of,
                entity.effective_latest)

    # -- rules -------------------------------------------------------------------------------

    def _failed(self, error: Exception) -> None:
        """A failure inside generated code is a RULE_ERROR naming the rule and YAML line."""
        failure = self.program.failure(error.__traceback__)
        rule_id = failure.owner.id if failure.owner else None
        self.sink.exception("RULE_ERROR", described(failure, "a rule", error), rule_id=rule_id)

    def _guarded(self, call: Callable[..., object], *args: Any) -> None:
        """Run generated code; a failure becomes a RULE_ERROR and the run goes on."""
        try:
            call(*args)
        except RULE_FAILURES as error:
            self._failed(error)

    def wire(self) -> None:
        """Connect each stream and entity to the rules that read it. Emits call the next
        rule directly; a failure anywhere down the line is caught once, per source record."""
        sink = self.sink
        for rule in self.plan.rules:
            consumer: Callable[[Record], None]
            if isinstance(rule, RecordRuleIR):
                consumer = self.program.record_rule(rule.id)
                if self.tracer is not None:
                    consumer = functools.partial(self.tracer.call, rule.id, consumer)
            else:
                consumer = self.program.group_rule(rule).add
            sink.consumers.setdefault(rule.input, []).append(consumer)

    def process_reference(self, tables: dict[str, list[Record]]) -> None:
        """Rows of reference entities that rules read (a contract line's installments, say)
        and issued records go through those rules once, in key order. They were counted when
        loaded."""
        for entity in sorted(self.plan.entities, key=lambda e: e.name):
            consumers = self.sink.consumers.get(entity.name, ())
            if entity.kind not in ("reference", "issued") or not consumers:
                continue
            key = record_key(entity)
            for row in tables.get(entity.name, []):
                ident = key(row)
                text = runtime.key(*ident) if isinstance(ident, tuple) else runtime.text(ident)
                origin = Origin(entity.name, text)
                self.sink.begin(origin)
                if self.tracer is not None:
                    self.tracer.source(row, origin)
                for consume in consumers:
                    self._guarded(consume, row)
                self.sink.origin = None

    def collect_events(self) -> list[tuple[EntityIR, SortedRuns[Keyed]]]:
        """Every event entity read and sorted, before any rule runs."""
        return [(entity, self._collect(entity))
                for entity in sorted(self.plan.entities, key=lambda e: e.name)
                if entity.kind == "event"]

    def process_events(self, events: list[tuple[EntityIR, SortedRuns[Keyed]]]) -> None:
        sink, failed = self.sink, self._failed
        for entity, runs in events:
            consumers = sink.consumers.get(entity.name, ())
            first_key = entity.key[0]
            for record, file in self._in_key_order(entity, runs):
                origin = Origin(entity.name, str(record[first_key]), file)
                sink.begin(origin)
                if self.tracer is not None:
                    self.tracer.source(record, origin)
                try:
                    for consume in consumers:
                        consume(record)
                except RULE_FAILURES as error:
                    failed(error)
                sink.finish(self.tally(file))

    def close_period(self) -> str:
        """The last period this run closes: --through, or else the period of the latest
        dated input record (an event's `dated_by` fields). Never left open-ended."""
        if self.through is not None:
            return self.through
        if self.latest_date is None:
            raise RunError([Diagnostic(Severity.ERROR, "E504", "nothing to close the run by: "
                                       "no input record is dated, and no --through was given",
                                       hint="give --through YYYY-MM")])
        self.derived_through = True
        return runtime.period(self.latest_date)

    def flush_groups(self) -> None:
        for rule in self.plan.rules:
            if not isinstance(rule, GroupRuleIR):
                continue
            functions = self.program.group_rule(rule)
            groups = dict(functions.groups)
            functions.groups.clear()
            emit = functions.emit if self.tracer is None else functools.partial(
                self.tracer.call_group, rule.id, functions.emit)
            for key in sorted(groups, key=runtime.sort_key):
                self.sink.begin(Origin(rule.input, runtime.key(*key)))
                self._guarded(emit, key, groups[key])
                self.sink.origin = None

    # -- outbound ----------------------------------------------------------------------------

    def outbound(self) -> dict[str, list[Record]]:
        stores = self.sink.outputs
        self.build_indexes(lambda name: list(stores[name]) if name in stores else None)
        payloads: dict[str, list[Record]] = {}
        for name in self.plan.outputs:
            mapping = self.plan.mapping(name)
            assert mapping is not None
            function = self.program.mapping(mapping.id)
            rows = payloads.setdefault(mapping.target, [])
            for record in list(stores[mapping.source]):
                self.sink.begin(Origin(mapping.source, str(record.get("id"))))
                self._guarded(_append_mapped, rows, function, record)
                self.sink.origin = None
        return payloads

    # -- the whole run -----------------------------------------------------------------------

    def run(self) -> RunResult:
        """The whole run. Every input is resolved first (RunError listing every unsafe or
        missing one), so a run never stops half-way on a path."""
        if self.issued_dir is not None:  # refused (E505) before any input is read
            self.issued = load_issued(self.plan, self.issued_dir,
                                      lambda entity, raw: self.program.validator(entity)(raw))
        self.inputs = input_files(self.plan, self.data_dir)
        with decimal.localcontext(runtime.DECIMAL_CONTEXT), _few_collections():
            # While records are read, a mapping that reads run.through sees the close only
            # when --through was given (a derived close needs the records read first).
            self.program.reset(self.through or FAR_FUTURE, self.sink)
            tables = self.load_reference()
            self.build_indexes(tables.get)  # mappings may look up reference data
            events = self.collect_events()
            self.through = self.close_period()
            issued_through = None
            if self.issued is not None:
                check_close(self.issued, self.through)
                issued_through = self.sink.issued_through = self.issued.through
            self.program.set_through(self.through, issued_through)
            self.wire()
            self.process_reference(tables)
            self.process_events(events)
            self.flush_groups()
            payloads = self.outbound()
        return RunResult(self.plan, self.sink.outputs, payloads, self.tallies, self.through,
                         derived_through=self.derived_through, issued=self.issued)


def _date_of(entity: EntityIR) -> Callable[[Record], dt.date | None] | None:
    """An event's date: the latest present of its `dated_by` fields (a date-time counts by
    its UTC date), None for a record without one; no function for an undated entity."""
    fields = entity.dated_by

    def date_of(record: Record) -> dt.date | None:
        days = [v.date() if isinstance(v, dt.datetime) else v
                for v in (record[f] for f in fields) if v is not None]
        return max(days) if days else None
    return date_of if fields else None


def _source_id(raw: Any, file: str, line: int) -> str:
    """What an invalid record is filed under: its id when that is short text or a whole
    number, else its place in the file (an id can be anything in a record that failed)."""
    ident = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(ident, str) and 0 < len(ident) <= MAX_ID_LENGTH and ident.isprintable():
        return ident
    if type(ident) is int and abs(ident) < 10 ** 20:
        return str(ident)
    return f"{file}:{line}"


def _tracing_sink(plan: Plan, chunk: int, tracer: Tracer) -> Sink:
    sink = TracingSink(plan, chunk)
    sink.tracer = tracer
    return sink


@contextlib.contextmanager
def _few_collections() -> Iterator[None]:
    """A batch run allocates many short-lived, acyclic objects: collect garbage cycles
    rarely while it runs, as usual again after."""
    before = gc.get_threshold()
    gc.set_threshold(200_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _append_mapped(rows: list[Record], function: Callable[..., Record | None],
                   record: Record) -> None:
    """The payload of a record, unless the mapping's `when` leaves it to another."""
    mapped = function(record)
    if mapped is not None:
        rows.append(mapped)


def write_outputs(result: RunResult, out_dir: Path) -> list[Path]:
    """One JSONL file per output entity and vendor payload, and run_summary.json, written to
    a staging folder whose files then replace out_dir's contents (run/paths.py): no file of
    an earlier run survives beside them. A folder that is neither new, empty nor an earlier
    run's output is refused (RunError, E503) before anything is written."""
    entities = {e.name: e for e in result.plan.entities}
    issued = result.issued
    with replacing(out_dir) as staging:
        written = []
        for name, store in sorted(result.stores.items()):
            exact = decimals_of(entities[name].fields)
            lines: Iterator[str] = (dumps(exact(r)) for r in iter_output(name, store))
            if issued is not None and name in issued.documents:
                lines = _merged(entities[name], issued, store, exact)
            written.append(_write(staging / f"{name}.jsonl", lines))
        # A payload the issued run wrote is carried even if this spec no longer makes it.
        names = set(result.payloads) | set(issued.payloads if issued else ())
        for name in sorted(names):
            rows = result.payloads.get(name, [])
            carried = issued.payloads.get(name, []) if issued is not None else []
            written.append(_write(staging / PAYLOADS / f"{name}.jsonl", itertools.chain(
                carried, (dumps(r, numbers_as_text=False) for r in rows))))
        summary = result.summary()
        summary["files"] = {path.relative_to(staging).as_posix(): digest(path)
                            for path in written}
        written.append(_write(staging / SUMMARY, iter([json.dumps(summary, indent=2,
                                                                   sort_keys=True)])))
    return [out_dir / path.relative_to(staging) for path in written]


def _merged(entity: EntityIR, issued: IssuedRun, store: SortedRuns[Record],
            exact: Callable[[Record], Record]) -> Iterator[str]:
    """An output's issued documents, exactly as issued, merged in key order with the new
    ones this run made."""
    key = record_key(entity)
    carried = ((key(d.record), d.line) for d in issued.documents[entity.name])
    made = ((key(r), dumps(exact(r))) for r in store)
    for _, line in heapq.merge(carried, made, key=lambda item: runtime.sort_key(item[0])):
        yield line


def _write(path: Path, lines: Iterator[str]) -> Path:
    """A new file of lines, each ending in a newline (its folder made when needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for line in lines:
            handle.write(line + "\n")
    return path
