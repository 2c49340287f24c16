"""Where generated code sends its results (`out` in the generated functions): emits are
routed to outputs and downstream rules, exceptions and exclusions are recorded, and the
outcome of every source record is tallied so that counts reconcile."""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from engine.compile import runtime
from engine.plan.model import EntityIR, Plan
from engine.run.store import SortedRuns

Consumer = Callable[[dict[str, Any]], None]


class Origin(NamedTuple):
    """The input record being processed: entity, id, and where it was read."""

    entity: str
    source_id: str
    file: str | None = None
    line: int | None = None


@dataclass
class Tally:
    """What became of the records of one input entity (or vendor input file)."""

    received: int = 0
    invalid: int = 0
    duplicate: int = 0
    superseded: int = 0
    excluded: Counter[str] = field(default_factory=Counter)
    excepted: int = 0
    routed: int = 0
    loaded: int = 0  # reference data, available to lookups

    @property
    def accounted(self) -> int:
        return (self.invalid + self.duplicate + self.superseded + sum(self.excluded.values())
                + self.excepted + self.routed + self.loaded)

    def to_json(self) -> dict[str, Any]:
        return {
            "received": self.received, "invalid": self.invalid, "duplicate": self.duplicate,
            "superseded": self.superseded, "excluded": dict(sorted(self.excluded.items())),
            "excepted": self.excepted, "routed": self.routed, "loaded": self.loaded,
            "reconciles": self.accounted == self.received,
        }


def record_key(entity: EntityIR) -> Callable[[dict[str, Any]], Any]:
    """Output records sort by their entity's key (absent values first, if a key may be
    absent; a plain item lookup when it may not, which is the common, fast case)."""
    fields = entity.key
    optional = {f.name for f in entity.fields if f.optional}
    if optional.isdisjoint(fields):
        return operator.itemgetter(*fields)
    return lambda record: runtime.sort_key(tuple(record[f] for f in fields))


class Sink:
    def __init__(self, plan: Plan, chunk: int) -> None:
        self.plan = plan
        self.entities: dict[str, EntityIR] = {e.name: e for e in plan.entities}
        self.outputs: dict[str, SortedRuns[dict[str, Any]]] = {
            e.name: SortedRuns(record_key(e), chunk) for e in plan.entities if e.kind == "output"}
        self.consumers: dict[str, list[Consumer]] = {}
        self.codes = {c.code: c for c in plan.exception_codes}
        self.origin: Origin | None = None
        # Issued documents never change: outputs that hold them, by their period field.
        self.issued_through: str | None = None
        self.issued_period = {e.name: e.issued_period for e in plan.entities
                              if e.issued_period is not None}
        self._emitted = False
        self._excluded: str | None = None
        self._failed = False

    # -- called by generated code ----------------------------------------------------------

    def emit(self, target: str, record: dict[str, Any]) -> None:
        """Generated code emits complete records (output entities) or stream records."""
        self._emitted = True
        store = self.outputs.get(target)
        if store is not None:
            if self.issued_through is not None and self._issued(target, record):
                return
            store.add(record)
        for consume in self.consumers.get(target, ()):
            consume(record)

    def exception(self, code: str, message: str, contract_line_id: str | None = None,
                  field_name: str | None = None, rule_id: str | None = None,
                  old_amount: Decimal | None = None, new_amount: Decimal | None = None,
                  source: tuple[str, str] | None = None) -> None:
        """An exception about the record being processed, or about `source` (entity, id),
        an item the rule names (read from the same input)."""
        spec = self.codes[code]
        origin = self.origin or Origin("(none)", "(none)")
        if source is not None:
            origin = origin._replace(entity=source[0], source_id=source[1])
        if spec.severity == "error":
            self._failed = True
        self.outputs["exception"].add(self._complete(self.entities["exception"], {
            "id": runtime.key(code, origin.entity, origin.source_id),
            "source_entity": origin.entity, "source_id": origin.source_id, "code": code,
            "message": message, "owner_role": spec.owner, "severity": spec.severity,
            "contract_line_id": contract_line_id, "field": field_name,
            "file": origin.file, "line": origin.line, "rule_id": rule_id,
            "old_amount": old_amount, "new_amount": new_amount,
        }))

    def _issued(self, target: str, record: dict[str, Any]) -> bool:
        """A document of an issued period is refused (ISSUED_PERIOD): the issued one stands."""
        field_name = self.issued_period.get(target)
        if field_name is None or not record[field_name] <= self.issued_through:
            return False
        self.exception("ISSUED_PERIOD", f"a rule made {target} {record.get('id', '')} of "
                       f"{record[field_name]}, a period issued through {self.issued_through}; "
                       "issued documents never change", rule_id=record.get("rule_id"))
        return True

    def exclude(self, reason: str) -> None:
        self._excluded = reason

    # -- used by the runner ----------------------------------------------------------------

    def _complete(self, entity: EntityIR, record: dict[str, Any]) -> dict[str, Any]:
        """The record with every declared field, in declared order, stamped."""
        stamped = {"spec_version": self.plan.spec_version}
        return {f: record.get(f, stamped.get(f)) for f in entity.field_names()}

    def begin(self, origin: Origin) -> None:
        self.origin = origin
        self._emitted, self._excluded, self._failed = False, None, False

    def finish(self, tally: Tally) -> None:
        """Tally the outcome of the current source record: exactly one place."""
        if self._failed:
            tally.excepted += 1
        elif self._excluded is not None:
            tally.excluded[self._excluded] += 1
        elif self._emitted:
            tally.routed += 1
        else:
            self.exception("UNROUTED", "no rule routed this record")
            tally.excepted += 1
        self.origin = None
