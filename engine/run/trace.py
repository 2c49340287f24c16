"""Trace mode: what every rule invocation read, bound and emitted, so that `billsync explain`
can walk back from an output record to the input records it came from.

The runner calls `enter`/`leave` around each rule invocation; code compiled in trace mode
calls `bind` after each binding, `member` for each record added to a group, and `element`
for each element of an `emit_each`; the tracing sink calls `emitted`. Records are known by
identity: the dict a rule emits is the dict the next rule receives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.run.sink import Origin, Sink

Record = dict[str, Any]


@dataclass
class Binding:
    name: str
    value: Any
    where: str  # file:line of the YAML that computed it


@dataclass
class Emitted:
    target: str
    record: Record
    element: tuple[str, Any] | None  # the emit_each element it was emitted for


@dataclass
class Invocation:
    """One run of one rule: over one record, or over one group of records."""

    rule: str
    inputs: list[Record]
    key: tuple[Any, ...] | None = None  # a group rule's key
    bindings: list[Binding] = field(default_factory=list)
    emitted: list[Emitted] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # exceptions raised, as code: message


class Tracer:
    def __init__(self) -> None:
        self.stack: list[Invocation] = []
        self.made_by: dict[int, Invocation] = {}  # id(record) -> the invocation that emitted it
        self.sources: dict[int, Origin] = {}  # id(input record) -> where it was read
        self.members: dict[tuple[str, tuple[Any, ...]], list[Record]] = {}
        self.outputs: dict[tuple[str, str], Record] = {}  # (entity, id) -> emitted record
        self.current_element: tuple[str, Any] | None = None
        self._keep: list[Record] = []  # keeps traced records alive, so their ids stay unique

    # -- called by the runner -------------------------------------------------------------

    def source(self, record: Record, origin: Origin) -> None:
        self.sources[id(record)] = origin
        self._keep.append(record)

    def call(self, rule: str, function: Callable[[Record], None], record: Record) -> None:
        self.stack.append(Invocation(rule, [record]))
        try:
            function(record)
        finally:
            self.stack.pop()

    def call_group(self, rule: str, function: Callable[..., None], key: tuple[Any, ...],
                   acc: Any) -> None:
        self.stack.append(Invocation(rule, self.members.get((rule, key), []), key))
        self.current_element = None
        try:
            function(key, acc)
        finally:
            self.stack.pop()

    # -- called by generated code -----------------------------------------------------------

    def bind(self, name: str, value: Any, where: str) -> None:
        if self.stack:
            self.stack[-1].bindings.append(Binding(name, value, where))

    def member(self, rule: str, key: tuple[Any, ...], record: Record) -> None:
        self.members.setdefault((rule, key), []).append(record)

    def element(self, name: str, value: Any) -> None:
        self.current_element = (name, value)

    # -- called by the tracing sink ---------------------------------------------------------

    def emitted(self, target: str, record: Record) -> None:
        self._keep.append(record)
        if not self.stack:
            return
        invocation = self.stack[-1]
        invocation.emitted.append(Emitted(target, record, self.current_element))
        self.made_by[id(record)] = invocation
        if "id" in record:
            self.outputs.setdefault((target, str(record["id"])), record)

    def notice(self, text: str) -> None:
        if self.stack:
            self.stack[-1].notices.append(text)


class TracingSink(Sink):
    """A sink that also tells the tracer what each rule emitted and raised."""

    tracer: Tracer

    def emit(self, target: str, record: Record) -> None:
        self.tracer.emitted(target, record)
        super().emit(target, record)

    def exception(self, code: str, message: str, *args: Any, **kwargs: Any) -> None:
        self.tracer.notice(f"{code}: {message}")
        super().exception(code, message, *args, **kwargs)
