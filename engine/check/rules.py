"""Checking rules: record rules (ordered steps) and group rules (key, aggregates, emit)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.check.context import CheckContext
from engine.check.functions import AGGREGATES
from engine.check.typecheck import Scope, string_leaves
from engine.check.types import (
    ANY,
    BOOL,
    DECIMAL,
    STRING,
    EnumT,
    ListT,
    RecordT,
    Type,
    assignable,
    is_optional,
    join,
    optional,
    unwrap,
)
from engine.errors import Span, did_you_mean
from engine.load import ast
from engine.load.project import Loaded
from engine.load.yaml_loader import NodePath
from engine.plan.model import (
    AggregateIR,
    EmitIR,
    ExceptionIR,
    Expr,
    GroupRuleIR,
    RecordRuleIR,
    StepIR,
)
from engine.spec.models import (
    EmitEachSpec,
    GroupRuleSpec,
    OutcomeSpec,
    RecordRuleSpec,
    StepSpec,
)

# Fields the engine stamps on every output record that declares them.
STAMPED = ("spec_version", "rule_id")
Reads = dict[str, set[tuple[str, str]]]


def rule_input(rule: RecordRuleSpec | GroupRuleSpec) -> str:
    return rule.group if isinstance(rule, GroupRuleSpec) else rule.for_


def rule_outputs(rule: RecordRuleSpec | GroupRuleSpec) -> list[str]:
    if isinstance(rule, GroupRuleSpec):
        return [*rule.emit, *(rule.emit_each.emit if rule.emit_each else ())]
    targets: list[str] = []
    for step in rule.steps:
        for outcome in (step, step.else_):
            if outcome is not None and outcome.emit:
                targets += [t for t in outcome.emit if t not in targets]
    return targets


def _reads_of(ctx: CheckContext, reads: Reads) -> set[tuple[str, str]]:
    usage = ctx.take_usage()
    found = set(usage.fields)
    for name in usage.names:
        found |= reads.get(name, set())
    return found


def _mark_used(ctx: CheckContext, owner: str, used_names: set[str]) -> None:
    for name in used_names:
        ctx.use("binding", f"{owner}.{name}")


def check_lets(ctx: CheckContext, loaded: Loaded[Any], path: NodePath, lets: dict[str, str],
               scope: Scope, owner: str, reads: Reads | None = None,
               require: bool = False) -> tuple[tuple[tuple[str, Expr], ...], Scope, Reads]:
    """Bindings in order, each visible to the next. `require` unwraps an optional value."""
    reads = dict(reads or {})
    bound: list[tuple[str, Expr]] = []
    for name, _ in lets.items():
        span = loaded.key_span(*path, name)
        if name in scope.names:
            ctx.collector.error("E208", f"'{name}' is already bound", span)
        expr, found = ctx.expr(loaded, (*path, name), scope)
        usage = ctx.take_usage()
        _mark_used(ctx, owner, usage.names)
        reads[name] = set(usage.fields).union(*(reads.get(n, set()) for n in usage.names))
        if require:
            if not is_optional(found) and found != ANY:
                ctx.collector.error("E205", f"require: '{name}' is never absent ({found.name}); "
                                    "use let", span)
            found = unwrap(found)
        ctx.define("binding", f"{owner}.{name}", span)
        scope = scope.bind(**{name: found})
        if expr is not None:
            bound.append((name, expr))
    return tuple(bound), scope, reads


def check_emit_fields(ctx: CheckContext, loaded: Loaded[Any], path: NodePath,
                      fields: dict[str, str], scope: Scope, target: RecordT | None,
                      reads: Reads, owner: str) -> tuple[tuple[str, Expr], ...]:
    """Type each emitted field against the target record (None: a new stream, inferred)."""
    result: list[tuple[str, Expr]] = []
    for name in fields:
        expected = target.field(name) if target is not None else None
        if target is not None and expected is None:
            ctx.collector.error("E204", f"unknown field '{name}' of {target.name}",
                                loaded.key_span(*path, name),
                                did_you_mean(name, target.field_names))
        expr, _ = ctx.expr(loaded, (*path, name), scope, expected)
        usage = ctx.take_usage()
        _mark_used(ctx, owner, usage.names)
        sources = set(usage.fields).union(*(reads.get(n, set()) for n in usage.names))
        label = target.label if target is not None else path[-1]
        for entity, field_name in sorted(sources):
            ctx.edges.append((f"field:{entity}.{field_name}", f"field:{label}.{name}", owner,
                              loaded.span(*path, name)))
        if expr is not None:
            result.append((name, expr))
    if target is not None:
        _missing(ctx, target, set(fields), loaded.span(*path))
    return tuple(result)


def _missing(ctx: CheckContext, target: RecordT, given: set[str], span: Span) -> None:
    missing = [n for n, t in target.fields
               if n not in given and not is_optional(t) and n not in STAMPED]
    if missing:
        ctx.collector.error("E212", f"{target.name} needs field(s) {', '.join(missing)}", span)


def _emit(ctx: CheckContext, loaded: Loaded[Any], path: NodePath,
          emits: dict[str, dict[str, str] | str], scope: Scope, reads: Reads,
          owner: str) -> tuple[EmitIR, ...]:
    result = []
    for target_name, fields in emits.items():
        target_path = (*path, target_name)
        span = loaded.key_span(*target_path)
        info = ctx.catalog.get(target_name)
        if info is not None and info.kind not in ("output", "stream"):
            ctx.collector.error("E210", f"rules emit into output entities or streams; "
                                f"'{target_name}' is a {info.kind} entity", span)
            continue
        known = info.record if info else ctx.streams.get(target_name)
        # Declared entities check each field; an inferred stream joins its emitters instead.
        target = info.record if info is not None else None
        whole = None
        if isinstance(fields, str):
            checked, whole = _emit_whole(ctx, loaded, target_path, scope, target, reads, owner)
        else:
            checked = check_emit_fields(ctx, loaded, target_path, fields, scope, target, reads,
                                        owner)
        if info is None:
            _infer_stream(ctx, target_name, checked, span, known)
        ctx.edges.append((owner, f"{'entity' if info else 'stream'}:{target_name}", owner, span))
        result.append(EmitIR(target_name, checked, span, whole))
    return tuple(result)


def _emit_whole(ctx: CheckContext, loaded: Loaded[Any], path: NodePath, scope: Scope,
                target: RecordT | None, reads: Reads, owner: str
                ) -> tuple[tuple[tuple[str, Expr], ...], Expr | None]:
    """A whole record given by one expression: each of its fields is checked against the
    target as if emitted one by one, and reads `__emitted.<field>` in the generated code."""
    expr, found = ctx.expr(loaded, path, scope)
    usage = ctx.take_usage()
    _mark_used(ctx, owner, usage.names)
    if expr is None or found == ANY:
        return (), None
    if not isinstance(found, RecordT):
        ctx.collector.error("E205", f"a whole emitted record must be a record, found "
                            f"{found.name}", loaded.span(*path))
        return (), None
    span = loaded.span(*path)
    label = target.label if target is not None else path[-1]
    sources = _field_sources(ctx, expr.node, usage, reads)
    fields: list[tuple[str, Expr]] = []
    unknown = [name for name in found.field_names if target is not None and
               target.field(name) is None]
    if unknown and target is not None:
        ctx.collector.error("E204", f"{target.name} has no field(s) {', '.join(unknown)}", span,
                            hint="drop them from the record, or emit its fields one by one")
    for name, kind in found.fields:
        expected = target.field(name) if target is not None else kind
        if expected is None:
            continue
        if not assignable(kind, expected):
            ctx.types.mismatch(_field_node(expr.node, name), kind, expected, name)
        node = ast.Field(span, ast.Name(span, "__emitted"), name)
        ctx.types.types[node] = kind
        fields.append((name, Expr(node, f"{expr.text}.{name}")))
        for entity, field_name in sorted(sources(name)):
            ctx.edges.append((f"field:{entity}.{field_name}", f"field:{label}.{name}", owner,
                              span))
    if target is not None:
        _missing(ctx, target, {n for n, _ in found.fields}, span)
    return tuple(fields), expr


def _field_node(node: ast.Node, name: str) -> ast.Node:
    """Where a field of a whole record is written: its value in `base with {...}`, else the
    whole expression."""
    if isinstance(node, ast.RecordUpdate):
        return dict(node.fields).get(name, node)
    return node


def _field_sources(ctx: CheckContext, node: ast.Node, usage: Any, reads: Reads
                   ) -> Callable[[str], set[tuple[str, str]]]:
    """Where each field of a whole emitted record comes from: for `base with {...}`, a
    replaced field from what its own expression reads and a kept one from the base;
    otherwise from everything the expression reads."""
    everything = set(usage.fields).union(*(reads.get(n, set()) for n in usage.names))
    replaced = dict(node.fields) if isinstance(node, ast.RecordUpdate) else {}
    base = ctx.types.types.get(node.target) if isinstance(node, ast.RecordUpdate) else None

    def sources(name: str) -> set[tuple[str, str]]:
        value = replaced.get(name)
        if value is None:
            return {(base.label, name)} if isinstance(base, RecordT) and base.label \
                else everything
        found: set[tuple[str, str]] = set()
        for part in ast.walk(value):
            if isinstance(part, ast.Name):
                found |= reads.get(part.name, set())
            elif isinstance(part, ast.Field):
                record = ctx.types.types.get(part.target)
                if isinstance(record, RecordT) and record.label:
                    found.add((record.label, part.name))
        return found

    return sources


def _field_type(ctx: CheckContext, expr: Expr) -> Type:
    """An emitted field's type; text that can only be literals is an enum of them."""
    found = ctx.types.types.get(expr.node, ANY)
    leaves = string_leaves(expr.node)
    if unwrap(found) == STRING and leaves:
        return EnumT(tuple(dict.fromkeys(str(leaf.value) for leaf in leaves)))
    return found


def _infer_stream(ctx: CheckContext, name: str, fields: tuple[tuple[str, Expr], ...], span: Span,
                  known: Type | None) -> None:
    """A stream's type is what its emitters emit: the same fields, types joined (so two
    rules may emit different enum members into one field)."""
    record = RecordT(name, tuple((k, _field_type(ctx, e)) for k, e in fields))
    if known is None:
        ctx.streams[name] = record
        ctx.stream_spans[name] = span
        ctx.define("stream", name, span)
        return
    assert isinstance(known, RecordT)
    joined = [(k, join(t, known.field(k) or ANY)) for k, t in record.fields]
    if set(record.field_names) != set(known.field_names) or any(t is None for _, t in joined):
        ctx.collector.error("E212", f"stream '{name}' is emitted with other fields or types "
                            f"than before: {record.name}", span,
                            related=(("first emitted here", ctx.stream_spans[name]),))
        return
    ctx.streams[name] = RecordT(name, tuple((k, t) for k, t in joined if t is not None))


def _exception(ctx: CheckContext, loaded: Loaded[Any], path: NodePath, spec: Any,
               scope: Scope, owner: str = "") -> ExceptionIR | None:
    span = loaded.span(*path, "code")
    if spec.code not in ctx.exception_codes:
        ctx.collector.error("E213", f"unknown exception code '{spec.code}'", span,
                            did_you_mean(spec.code, list(ctx.exception_codes)))
    ctx.use("exception_code", spec.code)
    message, _ = ctx.expr(loaded, (*path, "message"), scope, template=True)
    ctx.take_usage()
    if (spec.source_entity is None) != (spec.source_id is None):
        ctx.collector.error("E104", "source_entity and source_id go together", span)
    parts: dict[str, Expr | None] = {}
    for part, kind in (("contract_line_id", STRING), ("old_amount", optional(DECIMAL)),
                       ("new_amount", optional(DECIMAL)), ("source_entity", STRING),
                       ("source_id", STRING)):
        parts[part] = None
        if getattr(spec, part) is not None:
            parts[part], _ = ctx.expr(loaded, (*path, part), scope, kind)
            _mark_used(ctx, owner, ctx.take_usage().names)
    if message is None:
        return None
    return ExceptionIR(spec.code, message, parts.pop("contract_line_id"), spec.field,
                       loaded.span(*path), **parts)


def _outcome(ctx: CheckContext, loaded: Loaded[Any], path: NodePath, outcome: OutcomeSpec,
             scope: Scope, reads: Reads, owner: str) -> StepIR:
    actions = [a for a in ("exception", "exclude", "emit") if getattr(outcome, a) is not None]
    if len(actions) != 1:
        ctx.collector.error("E104", "an outcome has exactly one of exception, exclude, emit",
                            loaded.span(*path))
    exception = _exception(ctx, loaded, (*path, "exception"), outcome.exception, scope) \
        if outcome.exception else None
    emits = _emit(ctx, loaded, (*path, "emit"), outcome.emit, scope, reads, owner) \
        if outcome.emit else ()
    return StepIR(loaded.span(*path), emits=emits, stop=True, exception=exception,
                  exclude=outcome.exclude)


def _step(ctx: CheckContext, loaded: Loaded[Any], path: NodePath, step: StepSpec, scope: Scope,
          reads: Reads, owner: str) -> tuple[StepIR, Scope, Reads]:
    actions = [a for a in ("let", "require", "emit", "exception", "exclude")
               if getattr(step, a) is not None]
    span = loaded.span(*path)
    if not actions and step.stop:
        actions = ["stop"]  # nothing more to do for this record
    if len(actions) != 1:
        ctx.collector.error("E104", "a step has exactly one of let, require, emit, exception, "
                            f"exclude (found {', '.join(actions) or 'none'})", span)
        return StepIR(span), scope, reads
    when = None
    if step.when is not None:
        if actions[0] in ("let", "require"):
            ctx.collector.error("E104", "`when` guards emit, exception or exclude, not bindings",
                                loaded.key_span(*path, "when"))
        when, _ = ctx.expr(loaded, (*path, "when"), scope, BOOL)
        _mark_used(ctx, owner, ctx.take_usage().names)
    if step.let is not None:
        lets, scope, reads = check_lets(ctx, loaded, (*path, "let"), step.let, scope, owner, reads)
        return StepIR(span, lets=lets), scope, reads
    if step.require is not None:
        if step.else_ is None:
            ctx.collector.error("E104", "`require` needs an `else` outcome", span)
        otherwise = _outcome(ctx, loaded, (*path, "else"), step.else_, scope, reads, owner) \
            if step.else_ else None
        lets, scope, reads = check_lets(ctx, loaded, (*path, "require"), step.require, scope,
                                        owner, reads, require=True)
        return StepIR(span, requires=lets, otherwise=otherwise), scope, reads
    exception = _exception(ctx, loaded, (*path, "exception"), step.exception, scope, owner) \
        if step.exception else None
    emits = _emit(ctx, loaded, (*path, "emit"), step.emit, scope, reads, owner) if step.emit \
        else ()
    keep_going = exception is not None and step.stop is False
    return StepIR(span, when=when, emits=emits, stop=bool(step.stop) and not keep_going,
                  exception=exception, exclude=step.exclude, keep_going=keep_going), scope, reads


def check_record_rule(ctx: CheckContext, loaded: Loaded[Any], index: int, rule: RecordRuleSpec,
                      input_type: Type) -> RecordRuleIR:
    from engine.check.checks import base_scope

    owner = f"rule:{rule.id}"
    scope = base_scope(ctx, **{rule.as_: input_type})
    reads: Reads = {}
    steps: list[StepIR] = []
    ctx.edges.append((f"{_kind(ctx, rule.for_)}:{rule.for_}", owner, owner,
                      loaded.span("rules", index, "for")))
    for j, step in enumerate(rule.steps):
        ir, scope, reads = _step(ctx, loaded, ("rules", index, "steps", j), step, scope, reads,
                                 owner)
        steps.append(ir)
    if not steps or not steps[-1].terminal or steps[-1].when is not None:
        ctx.collector.error("E211", f"rule '{rule.id}' can end a record without routing it",
                            loaded.span("rules", index, "steps"),
                            hint="end with an unconditional step that stops: "
                            "`stop: true`, `exception` or `exclude`")
    return RecordRuleIR(rule.id, rule.description, rule.for_, rule.as_, tuple(steps),
                        loaded.span("rules", index, "id"), tuple(rule_outputs(rule)))


def _kind(ctx: CheckContext, name: str) -> str:
    return "entity" if ctx.catalog.get(name) else "stream"


def _aggregate(ctx: CheckContext, loaded: Loaded[Any], path: NodePath, scope: Scope,
               name: str) -> tuple[AggregateIR | None, Type]:
    node = ctx.project.expr(loaded.doc, path, ctx.collector)
    if node is None:
        return None, ANY
    if not (isinstance(node, ast.Call) and node.function in AGGREGATES):
        ctx.collector.error("E214", f"aggregate '{name}' must be one of "
                            f"{', '.join(f'{a}(...)' for a in AGGREGATES)}", node.span)
        return None, ANY
    expr, found = ctx.expr(loaded, path, Scope(scope.names, aggregate=True))
    argument = Expr(node.args[0], "") if node.args else None
    assert expr is not None
    return AggregateIR(name, node.function, argument, node.span), found


def check_group_rule(ctx: CheckContext, loaded: Loaded[Any], index: int, rule: GroupRuleSpec,
                     input_type: Type) -> GroupRuleIR:
    from engine.check.checks import base_scope

    owner = f"rule:{rule.id}"
    base = ("rules", index)
    ctx.edges.append((f"{_kind(ctx, rule.group)}:{rule.group}", owner, owner,
                      loaded.span(*base, "group")))
    scope = base_scope(ctx, **{rule.as_: input_type})
    reads: Reads = {}
    by: list[tuple[str, Expr]] = []
    after: dict[str, Type] = {k: v for k, v in scope.names.items() if k != rule.as_}
    for name in rule.by:
        expr, found = ctx.expr(loaded, (*base, "by", name), scope)
        reads[name] = _reads_of(ctx, reads)
        after[name] = found
        if expr is not None:
            by.append((name, expr))
    aggregates: list[AggregateIR] = []
    for name in rule.aggregate:
        if name in after:
            what = "a key" if name in rule.by else "a built-in name"
            ctx.collector.error("E208", f"'{name}' is already {what}", loaded.key_span(
                *base, "aggregate", name))
        aggregate, found = _aggregate(ctx, loaded, (*base, "aggregate", name), scope, name)
        reads[name] = _reads_of(ctx, reads)
        after[name] = found
        if aggregate is not None:
            aggregates.append(aggregate)
    lets, post, reads = check_lets(ctx, loaded, (*base, "let"), rule.let, Scope(after), owner,
                                   reads)
    if bool(rule.emit) == bool(rule.emit_each):
        ctx.collector.error("E104", "a group rule has exactly one of emit and emit_each",
                            loaded.span(*base, "id"))
    emits = _emit(ctx, loaded, (*base, "emit"), rule.emit, post, reads, owner)
    each = None
    if rule.emit_each is not None:
        each, emits = _emit_each(ctx, loaded, (*base, "emit_each"), rule.emit_each, post, reads,
                                 owner)
    return GroupRuleIR(rule.id, rule.description, rule.group, rule.as_, tuple(by),
                       tuple(aggregates), lets, emits, loaded.span(*base, "id"),
                       tuple(rule_outputs(rule)), each)


def _emit_each(ctx: CheckContext, loaded: Loaded[Any], path: NodePath, spec: EmitEachSpec,
               scope: Scope, reads: Reads, owner: str
               ) -> tuple[tuple[str, Expr] | None, tuple[EmitIR, ...]]:
    """`for` NAME `in` LIST: the emits run once per element, NAME bound to it."""
    items, found = ctx.expr(loaded, (*path, "in"), scope)
    usage = ctx.take_usage()
    _mark_used(ctx, owner, usage.names)
    item = found.item if isinstance(found, ListT) else None
    if item is None:
        if found != ANY:
            ctx.collector.error("E205", f"emit_each needs a list, found {found.name}",
                                loaded.span(*path, "in"))
        item = ANY
    if spec.for_ in scope.names:
        ctx.collector.error("E208", f"'{spec.for_}' is already bound", loaded.span(*path, "for"))
    inner = dict(reads)
    inner[spec.for_] = set(usage.fields).union(*(reads.get(n, set()) for n in usage.names))
    emits = _emit(ctx, loaded, (*path, "emit"), spec.emit, scope.bind(**{spec.for_: item}),
                  inner, owner)
    return ((spec.for_, items) if items is not None else None), emits
