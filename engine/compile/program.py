"""A compiled Plan: the generated module, its functions, and its line map back to YAML."""

from __future__ import annotations

import linecache
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from engine.compile import runtime
from engine.compile.codegen import generate
from engine.compile.source import Source
from engine.compile.validators import validator_name
from engine.errors import Span
from engine.plan.model import GroupRuleIR, Plan

RuleFunction = Callable[..., Any]
# What generated code may use besides the runtime: type tests in validators, any/all.
SAFE_BUILTINS = {"any": any, "all": all, "len": len, "type": type, "dict": dict, "str": str,
                 "int": int, "bool": bool}


@dataclass(frozen=True)
class GroupFunctions:
    add: RuleFunction  # add(record): into its group
    emit: RuleFunction  # emit(key, accumulator): one finished group
    groups: dict[tuple[Any, ...], list[Any]]  # key -> accumulator, filled by add


class Program:
    """The generated module of one Plan, compiled once; its functions by rule and mapping id."""

    def __init__(self, plan: Plan, source: Source, tracer: object = None) -> None:
        self.plan = plan
        self.source = source
        self.filename = f"<billsync {plan.name} {plan.spec_version}>"
        self.text = "\n".join(source.lines) + "\n"
        code = compile(self.text, self.filename, "exec")
        linecache.cache[self.filename] = (len(self.text), None, self.text.splitlines(True),
                                          self.filename)
        self.namespace: dict[str, Any] = {
            "__builtins__": SAFE_BUILTINS,
            "rt": runtime, "IDX": {}, "POLICY": dict(plan.policies), "RUN": {}, "OUT": None,
            "TRACE": tracer,
        }
        exec(code, self.namespace)

    def mapping(self, mapping_id: str) -> RuleFunction:
        function: RuleFunction = self.namespace[f"map_{mapping_id}"]
        return function

    def ingest(self, mapping_id: str) -> RuleFunction | None:
        """The fused check-and-map function of an inbound mapping, if it has one."""
        function: RuleFunction | None = self.namespace.get(f"ingest_{mapping_id}")
        return function

    def validator(self, entity: str) -> RuleFunction:
        function: RuleFunction = self.namespace[validator_name(entity)]
        return function

    def record_rule(self, rule_id: str) -> RuleFunction:
        function: RuleFunction = self.namespace[f"rule_{rule_id}"]
        return function

    def group_rule(self, rule: GroupRuleIR) -> GroupFunctions:
        return GroupFunctions(self.namespace[f"group_{rule.id}_add"],
                              self.namespace[f"group_{rule.id}_emit"],
                              self.namespace[f"GROUPS_{rule.id}"])

    def reset(self, through: str, out: object) -> None:
        """Start a run: clear what a previous one left (indexes, groups), set the run
        parameters and where results go."""
        self.indexes.clear()
        self.namespace["RUN"] = {"through": through}
        self.namespace["OUT"] = out
        for name, value in self.namespace.items():
            if name.startswith("GROUPS_"):
                value.clear()

    @property
    def indexes(self) -> dict[str, runtime.Index]:
        indexes: dict[str, runtime.Index] = self.namespace["IDX"]
        return indexes

    def span_of(self, tb: TracebackType | None) -> Span | None:
        """The YAML span of the innermost generated line in a traceback."""
        return self.failure(tb)[1]

    def failure(self, tb: TracebackType | None) -> tuple[str | None, Span | None]:
        """The rule or mapping id and YAML span of the innermost generated frame."""
        found: tuple[str | None, Span | None] = (None, None)
        for frame, line in traceback.walk_tb(tb):
            if frame.f_code.co_filename == self.filename and 0 < line <= len(self.source.spans):
                name = frame.f_code.co_name
                for prefix, suffix in (("rule_", ""), ("map_", ""), ("group_", "_add"),
                                       ("group_", "_emit")):
                    if name.startswith(prefix) and name.endswith(suffix):
                        name = name[len(prefix):len(name) - len(suffix)]
                        break
                found = (name, self.source.spans[line - 1] or found[1])
        return found

    def annotated_source(self) -> str:
        """The generated source, each line tagged with its YAML origin where that changes."""
        out, previous = [], ""
        for line, span in zip(self.source.lines, self.source.spans, strict=True):
            origin = f"{span.file}:{span.line}" if span else ""
            if origin and origin != previous and line.strip():
                line = f"{line.ljust(88)}  # {origin}"
            previous = origin or previous
            out.append(line)
        return "\n".join(out) + "\n"


def compile_plan(plan: Plan, tracer: object = None) -> Program:
    """Compile a Plan; with a tracer (see engine.run.trace), in trace mode, reporting to it."""
    return Program(plan, generate(plan, trace=tracer is not None), tracer)
