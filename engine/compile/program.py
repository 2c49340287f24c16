"""A compiled Plan: the generated module, its functions, and its line map back to YAML."""

from __future__ import annotations

import linecache
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from engine.compile import runtime
from engine.compile.codegen import generate
from engine.compile.source import Failure, GeneratedSource
from engine.compile.surface import TABLE
from engine.compile.validators import validator_name
from engine.escape import printable
from engine.plan.model import GroupRuleIR, Plan

RuleFunction = Callable[..., Any]


@dataclass(frozen=True)
class GroupFunctions:
    add: RuleFunction  # add(record): into its group
    emit: RuleFunction  # emit(key, accumulator): one finished group
    groups: dict[tuple[Any, ...], list[Any]]  # key -> accumulator, filled by add


def _no_run(*_: Any, **__: Any) -> None:
    raise runtime.RuleError("generated code called outside a run")


class Program:
    """The generated module of one Plan, compiled once; its functions by rule and mapping id.

    The module's globals are the closed table of engine.compile.surface, the per-run names
    and what the module defines; its builtins are empty."""

    def __init__(self, plan: Plan, tracer: Any = None) -> None:
        self.plan = plan
        self.filename = f"<billsync {printable(plan.name)} {plan.spec_version}>"
        tree, spans, names = generate(plan, trace=tracer is not None)
        self.source = GeneratedSource(tree, spans, names, self.filename)
        linecache.cache[self.filename] = (len(self.source.text), None,
                                          self.source.text.splitlines(True), self.filename)
        self.namespace: dict[str, Any] = {
            "__builtins__": {}, **TABLE,
            "IDX": {}, "POLICY": dict(plan.policies), "RUN": {},
            "SPEC_VERSION": plan.spec_version,
            "out_emit": _no_run, "out_exception": _no_run, "out_exclude": _no_run,
            "trace_bind": getattr(tracer, "bind", _no_run),
            "trace_member": getattr(tracer, "member", _no_run),
            "trace_element": getattr(tracer, "element", _no_run),
        }
        exec(self.source.code, self.namespace)

    def _function(self, name: str) -> RuleFunction:
        function: RuleFunction = self.namespace[name]
        return function

    def mapping(self, mapping_id: str) -> RuleFunction:
        return self._function(f"map_{mapping_id}")

    def ingest(self, mapping_id: str) -> RuleFunction | None:
        """The fused check-and-map function of an inbound mapping, if it has one."""
        name = f"ingest_{mapping_id}"
        return self._function(name) if name in self.source.names.defined else None

    def validator(self, entity: str) -> RuleFunction:
        return self._function(validator_name(entity))

    def record_rule(self, rule_id: str) -> RuleFunction:
        return self._function(f"rule_{rule_id}")

    def group_rule(self, rule: GroupRuleIR) -> GroupFunctions:
        return GroupFunctions(self._function(f"group_{rule.id}_add"),
                              self._function(f"group_{rule.id}_emit"),
                              self.namespace[f"GROUPS_{rule.id}"])

    def reset(self, through: str, out: Any) -> None:
        """Start a run: clear what a previous one left (indexes, groups), set the run
        parameters and where results go."""
        self.indexes.clear()
        self.set_through(through)
        self.namespace.update(out_emit=out.emit, out_exception=out.exception,
                              out_exclude=out.exclude)
        for rule in self.plan.rules:
            if isinstance(rule, GroupRuleIR):
                self.namespace[f"GROUPS_{rule.id}"].clear()

    def set_through(self, through: str, issued_through: str | None = None) -> None:
        """The last period the run closes (run.through in the spec), and the last of the
        issued books it continues (run.issued_through: none without --issued)."""
        self.namespace["RUN"] = {"through": through, "issued_through": issued_through}

    @property
    def indexes(self) -> dict[str, runtime.Index]:
        indexes: dict[str, runtime.Index] = self.namespace["IDX"]
        return indexes

    def failure(self, tb: TracebackType | None) -> Failure:
        """The rule or mapping and YAML span of the innermost generated frame."""
        return self.source.failure(tb)

    def annotated_source(self) -> str:
        """The generated source, each line tagged with its YAML origin where that changes."""
        return self.source.annotated()


def compile_plan(plan: Plan, tracer: object = None) -> Program:
    """Compile a Plan; with a tracer (see engine.run.trace), in trace mode, reporting to it."""
    return Program(plan, tracer)
