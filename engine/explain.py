"""How an output record was derived: re-run the project in trace mode, find the record, and
walk back through the rule invocations that made it to the input records it came from.

Nothing here knows a billing method: the walk follows record identity (the dict a rule
emitted is the dict the next rule read). In a group, it follows the members the output
names (an input whose id, or a nested record's id, appears among the output's values) and
lists the others in one line each; when no member is named, it follows them all.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.compile.program import compile_plan
from engine.escape import printable
from engine.plan.model import Plan
from engine.run.runner import Runner
from engine.run.trace import Invocation, Record, Tracer

MAX_TEXT = 160
SHOWN_OTHERS = 3


class ExplainError(Exception):
    """The record cannot be explained (not found, or the spec changed since the run)."""


@dataclass
class Step:
    """One node of a derivation: a record, and the rule invocation that made it (none for an
    input record)."""

    entity: str
    record: Record
    origin: str | None = None  # input records: where they were read
    rule: str | None = None
    where: str | None = None  # the rule's YAML location
    key: dict[str, Any] | None = None  # a group rule's key, by name
    bindings: list[tuple[str, Any, str]] = field(default_factory=list)
    element: tuple[str, Any] | None = None
    notices: list[str] = field(default_factory=list)
    others: list[tuple[str, Record]] = field(default_factory=list)  # group members not followed
    inputs: list[Step] = field(default_factory=list)


def explain(plan: Plan, data_dir: Path, through: str | None, entity: str,
            record_id: str, issued_dir: Path | None = None) -> Step:
    """Run the project in trace mode (continuing the issued books it continued, if any) and
    return the derivation of one output record."""
    tracer = Tracer()
    result = Runner(compile_plan(plan, tracer), data_dir, through, tracer=tracer,
                    issued=issued_dir).run()
    issued = result.issued
    record = tracer.outputs.get((entity, record_id))
    if record is None and issued is not None and any(
            r.get("id") == record_id for r in issued.records(entity)):
        raise ExplainError(printable(f"{entity} {record_id} was issued by the run in "
                                     f"{issued_dir} (through {issued.through}), and carried "
                                     "unchanged: explain it in that run's folder"))
    if record is None:
        raise ExplainError(printable(f"no {entity} with id {record_id!r} in a run of "
                                     f"{plan.name} through {through or 'the end'}"))
    return _Walk(plan, tracer).step(entity, record, set())


class _Walk:
    def __init__(self, plan: Plan, tracer: Tracer) -> None:
        self.plan = plan
        self.tracer = tracer

    def step(self, entity: str, record: Record, seen: set[int]) -> Step:
        made = self.tracer.made_by.get(id(record))
        origin = self.tracer.sources.get(id(record))
        if made is None or id(record) in seen:
            where = f"{origin.file}" if origin is not None and origin.file else None
            return Step(entity, record, origin=where or (origin.entity if origin else None))
        seen = seen | {id(record)}
        rule = next(r for r in self.plan.rules if r.id == made.rule)
        emitted = next((e for e in made.emitted if e.record is record), None)
        node = Step(entity, record, rule=made.rule,
                    where=f"{rule.span.file}:{rule.span.line}",
                    key=_key(rule, made), notices=made.notices,
                    bindings=[(b.name, b.value, b.where) for b in made.bindings],
                    element=emitted.element if emitted else None)
        followed = _named(made, record) or made.inputs
        for item in made.inputs:
            if any(item is f for f in followed):
                node.inputs.append(self.step(rule.input, item, seen))
            else:
                node.others.append((rule.input, item))
        return node


def _key(rule: Any, made: Invocation) -> dict[str, Any] | None:
    if made.key is None:
        return None
    return {name: value for (name, _), value in zip(rule.by, made.key, strict=True)}


def _named(made: Invocation, output: Record) -> list[Record]:
    """The inputs of an invocation that its output names."""
    if len(made.inputs) <= 1:
        return made.inputs
    values = set(_strings(output))
    return [item for item in made.inputs if values & set(_ids(item))]


def _ids(record: Record) -> list[str]:
    found = [str(record["id"])] if record.get("id") is not None else []
    for value in record.values():
        if isinstance(value, dict) and value.get("id") is not None:
            found.append(str(value["id"]))
    return found


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


# -- rendering -------------------------------------------------------------------------------

def render(step: Step) -> str:
    """The record asked about, field by field, then its derivation as an indented tree. Ids
    and values come from records: each line is made printable (escape.printable), so a
    control character in one is shown, never sent to the terminal."""
    lines = [f"{step.entity} {step.record.get('id', '')}".rstrip()]
    lines += [f"  {name}: {text(value)}" for name, value in step.record.items()]
    lines.append("")
    _render(step, "", lines, top=True)
    return "\n".join(printable(line) for line in lines) + "\n"


def _render(step: Step, indent: str, lines: list[str], top: bool = False) -> None:
    title = f"{step.entity} {step.record.get('id', '')}".rstrip()
    if step.rule is None:
        lines.append(f"{indent}{title}  [input, {step.origin or 'reference data'}]")
        lines.append(f"{indent}  {short(step.record)}")
        return
    lines.append(f"{indent}{title}  <- rule {step.rule} ({step.where})")
    inner = indent + "  "
    if not top:
        lines.append(f"{inner}= {short(step.record)}")
    if step.key:
        lines.append(f"{inner}group " + ", ".join(f"{k}={text(v)}" for k, v in step.key.items()))
    if step.element is not None:
        lines.append(f"{inner}for {step.element[0]} = {short(step.element[1])}")
    for name, value, where in step.bindings:
        lines.append(f"{inner}{name} = {short(value)}  ({where})")
    for notice in step.notices:
        lines.append(f"{inner}! {notice}")
    _others(step.others, inner, lines)
    for child in step.inputs:
        _render(child, inner, lines)


def _others(others: list[tuple[str, Record]], indent: str, lines: list[str]) -> None:
    """Group members the output does not name: a few in full, then a count and their ids."""
    for entity, other in others[:SHOWN_OTHERS]:
        lines.append(f"{indent}also in the group: {entity} {short(other)}")
    rest = others[SHOWN_OTHERS:]
    if rest:
        ids = ", ".join(str(r.get("id", "?")) for _, r in rest)
        lines.append(f"{indent}and {len(rest)} more: {ids[:MAX_TEXT]}"
                     f"{'...' if len(ids) > MAX_TEXT else ''}")


def text(value: Any, nested: bool = False) -> str:
    """A value as the spec writes it: decimals exact, no float, records and lists JSON-like.
    A record inside a record is shown by its id (<id>) when it has one."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        shown = str(value)
        return format(value.normalize(), "f") if "E" in shown else shown
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        if nested and value.get("id") is not None:
            return f"<{value['id']}>"
        parts = (f"{k}: {text(v, True)}" for k, v in value.items()
                 if v is not None and not str(k).startswith("_"))
        return "{" + ", ".join(parts) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(text(v, nested) for v in value) + "]"
    return str(value)


def short(value: Any) -> str:
    shown = text(value)
    return shown if len(shown) <= MAX_TEXT else shown[:MAX_TEXT - 3] + "..."


def to_json(step: Step) -> str:
    return json.dumps(_json(step), indent=2, default=str)


def _json(step: Step) -> dict[str, Any]:
    return {
        "entity": step.entity, "record": step.record, "origin": step.origin, "rule": step.rule,
        "where": step.where, "key": step.key, "element": step.element, "notices": step.notices,
        "bindings": [{"name": n, "value": v, "where": w} for n, v, w in step.bindings],
        "others": [{"entity": e, "record": r} for e, r in step.others],
        "inputs": [_json(child) for child in step.inputs],
    }
