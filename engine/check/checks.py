"""The checks, run in order. Each is small and says what it rejects; all of them report into
one collector so a user sees every problem at once. They also build the IR the plan freezes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import networkx as nx

from engine.check.catalog import field_type
from engine.check.context import ENGINE_CODES, CheckContext
from engine.check.rules import check_group_rule, check_record_rule, rule_input, rule_outputs
from engine.check.typecheck import Scope
from engine.check.types import BOOL as BOOL_T
from engine.check.types import STRING as STRING_T
from engine.check.types import RecordT, Type, optional
from engine.errors import Span, did_you_mean
from engine.load.project import Loaded
from engine.plan.model import (
    EntityIR,
    ExceptionCodeIR,
    FieldIR,
    GroupRuleIR,
    MappingIR,
    RecordRuleIR,
)
from engine.spec.models import (
    EntitySpec,
    FieldSpec,
    GroupRuleSpec,
    MappingSpec,
    RecordRuleSpec,
    RulePackSpec,
)


def _field_ir(name: str, spec: FieldSpec | str) -> FieldIR:
    if isinstance(spec, str):
        return FieldIR(name, spec.rstrip("?"), spec.endswith("?"))
    return FieldIR(
        name=name, type=spec.type, optional=spec.optional, values=tuple(spec.values or ()),
        minimum=spec.minimum, item=_field_ir("item", spec.of) if spec.of else None,
        fields=tuple(_field_ir(k, v) for k, v in (spec.fields or {}).items()),
    )


def _bad_field_types(loaded: Loaded[EntitySpec], ctx: CheckContext) -> bool:
    bad = False
    for name, spec in loaded.spec.fields.items():
        try:
            field_type(spec)
        except ValueError as error:
            ctx.collector.error("E104", str(error), loaded.span("fields", name),
                                hint="types: string int decimal bool date datetime money, "
                                "a trailing ? for optional, or a mapping with type: "
                                "enum|list|record")
            bad = True
    return bad


def _check_dated_by(loaded: Loaded[EntitySpec], ctx: CheckContext) -> None:
    """Rejects a `dated_by` field that is not a date or a date-time."""
    for index, name in enumerate(loaded.spec.dated_by):
        spec = loaded.spec.fields.get(name)
        if spec is not None and _field_ir(name, spec).type not in ("date", "datetime"):
            ctx.collector.error("E205", f"'{name}' dates the event, so it must be a date or a "
                                "date-time", loaded.span("dated_by", index))


def check_entities(ctx: CheckContext) -> None:
    """Rejects duplicate entities, bad field types, and keys or dating on unknown fields."""
    for loaded in ctx.project.entities:
        spec = loaded.spec
        if spec.entity in ctx.entities:
            first = ctx.entities[spec.entity].span
            ctx.collector.error("E208", f"entity '{spec.entity}' is defined twice",
                                loaded.span("entity"), related=(("first defined here", first),))
            continue
        if _bad_field_types(loaded, ctx):
            continue
        named: list[tuple[tuple[str | int, ...], str]] = [
            (("key", i), k) for i, k in enumerate(spec.key)]
        named += [(("order_by", i), k) for i, k in enumerate(spec.order_by)]
        named += [(("dated_by", i), k) for i, k in enumerate(spec.dated_by)]
        if spec.revision:
            named.append((("revision",), spec.revision))
        if spec.effective:
            named += [(("effective", part), value) for part, value in (
                ("from", spec.effective.from_), ("to", spec.effective.to),
                ("version", spec.effective.version)) if value]
            named += [(("effective", "of", i), k) for i, k in enumerate(spec.effective.of or ())]
        for path, field_name in named:
            if field_name not in spec.fields:
                ctx.collector.error("E204", f"unknown field '{field_name}' of {spec.entity}",
                                    loaded.span(*path), did_you_mean(field_name, list(spec.fields)))
        _check_dated_by(loaded, ctx)
        info = ctx.catalog.add(spec, loaded.span("entity"))
        entity = ctx.entities[spec.entity] = EntityIR(
            name=spec.entity, kind=spec.kind,
            fields=tuple(_field_ir(k, v) for k, v in spec.fields.items()),
            key=info.key, revision=spec.revision,
            effective_from=spec.effective.from_ if spec.effective else None,
            effective_to=spec.effective.to if spec.effective else None,
            effective_version=spec.effective.version if spec.effective else None,
            order_by=info.order_by, span=info.span, dated_by=tuple(spec.dated_by),
            issued_period=spec.issued.period if spec.issued else None,
            effective_of=tuple(spec.effective.of or ()) if spec.effective else (),
            effective_latest=spec.effective.latest if spec.effective else False,
        )
        if spec.issued is not None and _issued_ok(loaded, ctx):
            _add_issued(loaded, ctx, entity)


def _issued_ok(loaded: Loaded[EntitySpec], ctx: CheckContext) -> bool:
    """Rejects `issued` on anything but an output, or dated by a field that is not text."""
    spec = loaded.spec
    assert spec.issued is not None
    if spec.kind != "output":
        ctx.collector.error("E203", f"only output entities are issued documents; "
                            f"{spec.entity} is {spec.kind}", loaded.span("issued"))
        return False
    period = spec.fields.get(spec.issued.period)
    if period is None or _field_ir(spec.issued.period, period).type != "string":
        ctx.collector.error("E204", f"'{spec.issued.period}' is not a text field of "
                            f"{spec.entity} (a period, such as 2025-03)",
                            loaded.span("issued", "period"))
        return False
    return True


def _add_issued(loaded: Loaded[EntitySpec], ctx: CheckContext, output: EntityIR) -> None:
    """The issued records of an output, read by rules as an entity of kind `issued`: the
    output's fields and key, its rows from the issued run's folder."""
    spec = loaded.spec
    assert spec.issued is not None
    name = spec.issued.read_as
    if name is None:
        return
    span = loaded.span("issued", "read_as")
    if name in ctx.entities or ctx.catalog.get(name) is not None:
        ctx.collector.error("E208", f"entity '{name}' is defined twice", span)
        return
    ctx.catalog.add(spec.model_copy(update={"entity": name, "kind": "issued", "issued": None,
                                            "revision": None}), span)
    ctx.entities[name] = replace(output, name=name, kind="issued", span=span, revision=None,
                                 issued_period=None, issued_of=output.name)


def check_exception_codes(ctx: CheckContext) -> None:
    """Rejects an exception code declared twice; adds the engine's own codes."""
    for code, (owner, severity) in ENGINE_CODES.items():
        ctx.exception_codes[code] = ExceptionCodeIR(code, owner, severity)
    for loaded in ctx.project.rule_packs:
        for code, spec in loaded.spec.exception_codes.items():
            if code in ctx.exception_codes and code not in ENGINE_CODES:
                ctx.collector.error("E208", f"exception code '{code}' is declared twice",
                                    loaded.key_span("exception_codes", code))
            ctx.exception_codes[code] = ExceptionCodeIR(code, spec.owner, spec.severity)
            if code not in ENGINE_CODES:
                ctx.define("exception_code", code, loaded.key_span("exception_codes", code))


def _target_fields(ctx: CheckContext, target: str) -> RecordT | None:
    info = ctx.catalog.get(target)
    return info.record if info else None


def check_mappings(ctx: CheckContext) -> None:
    """Rejects mappings between unknown entities, unknown or missing target fields, and
    field expressions whose type does not fit the target field."""
    for loaded in ctx.project.mappings:
        spec = loaded.spec
        if spec.mapping in ctx.mappings:
            ctx.collector.error("E208", f"mapping '{spec.mapping}' is defined twice",
                                loaded.span("mapping"))
            continue
        source, target = ctx.catalog.get(spec.source), _target_fields(ctx, spec.target)
        for part, value, found in (("source", spec.source, source), ("target", spec.target,
                                                                      target)):
            if found is None:
                ctx.collector.error("E210", f"unknown entity '{value}'", loaded.span(part),
                                    did_you_mean(value, list(ctx.catalog.entities)))
        if source is None or target is None:
            continue
        ctx.mappings[spec.mapping] = _check_mapping(ctx, loaded, source.record, target)
        ctx.define("mapping", spec.mapping, loaded.span("mapping"))


def _check_mapping(ctx: CheckContext, loaded: Loaded[MappingSpec], source: RecordT,
                   target: RecordT) -> MappingIR:
    from engine.check.rules import check_emit_fields, check_lets

    spec = loaded.spec
    scope = base_scope(ctx, src=source)
    owner = f"mapping:{spec.mapping}"
    when = None
    if spec.when is not None and spec.direction == "inbound":
        ctx.collector.error("E203", "an inbound mapping maps every record it is given; "
                            "`when` is for outbound mappings", loaded.key_span("when"))
    elif spec.when is not None:
        when, _ = ctx.expr(loaded, ("when",), scope, BOOL_T)
        ctx.take_usage()  # src fields: an outbound source is a complete output record
    lets, scope, reads = check_lets(ctx, loaded, ("let",), spec.let, scope, owner)
    fields = check_emit_fields(ctx, loaded, ("fields",), spec.fields, scope, target, reads,
                               f"mapping:{spec.mapping}")
    node = f"mapping:{spec.mapping}"
    ctx.edges.append((f"entity:{spec.source}", node, node, loaded.span("source")))
    ctx.edges.append((node, f"entity:{spec.target}", node, loaded.span("target")))
    return MappingIR(spec.mapping, spec.vendor, spec.direction, spec.source, spec.target, lets,
                     fields, loaded.span("mapping"), when)


# The run's close, and the last period of the issued run it continues (none: no --issued).
RUN_TYPE = RecordT("run", (("through", STRING_T), ("issued_through", optional(STRING_T))))


def base_scope(ctx: CheckContext, **names: Type) -> Scope:
    """The names every expression sees: its own, `policy` and `run`."""
    return Scope({**names, "policy": policy_type(ctx), "run": RUN_TYPE})


def policy_type(ctx: CheckContext) -> RecordT:
    from engine.check.types import BOOL, INT, STRING

    policies = ctx.project.manifest.spec.policies
    return RecordT("policy", tuple(
        (k, BOOL if isinstance(v, bool) else INT if isinstance(v, int) else STRING)
        for k, v in sorted(policies.items())))


def _rule_order(ctx: CheckContext) -> list[tuple[Loaded[RulePackSpec], int]]:
    """Rules in an order where every stream is typed before it is read."""
    pending = [(loaded, i) for loaded in ctx.project.rule_packs
               for i in range(len(loaded.spec.rules))]
    produced: dict[str, list[str]] = {}
    for loaded, index in pending:
        for target in rule_outputs(loaded.spec.rules[index]):
            produced.setdefault(target, []).append(loaded.spec.rules[index].id)
    ordered: list[tuple[Loaded[RulePackSpec], int]] = []
    known = set(ctx.catalog.entities)  # typed so far: entities, streams a rule has emitted
    waiting = {loaded.spec.rules[index].id for loaded, index in pending}
    progress = True
    while pending and progress:
        progress = False
        for item in list(pending):
            rule = item[0].spec.rules[item[1]]
            source = rule_input(rule)
            others = [r for r in produced.get(source, []) if r in waiting and r != rule.id]
            unknown = source not in known and source not in produced  # reported when checked
            if unknown or (source in known and not others):
                ordered.append(item)
                pending.remove(item)
                waiting.discard(rule.id)
                known.update(rule_outputs(rule))
                progress = True
    if pending:
        _report_stream_cycle(ctx, pending)
    return ordered


def _report_stream_cycle(ctx: CheckContext,
                         pending: list[tuple[Loaded[RulePackSpec], int]]) -> None:
    graph = nx.DiGraph()
    where: dict[tuple[str, str], Span] = {}
    for loaded, index in pending:
        rule = loaded.spec.rules[index]
        node = f"rule {rule.id}"
        graph.add_edge(f"stream {rule_input(rule)}", node)
        where[(f"stream {rule_input(rule)}", node)] = loaded.span("rules", index)
        for target in rule_outputs(rule):
            graph.add_edge(node, f"stream {target}")
            where[(node, f"stream {target}")] = loaded.span("rules", index, *_emit_path(rule))
    cycle = nx.find_cycle(graph)
    path = " -> ".join([cycle[0][0], *[b for _, b in cycle]])
    related = tuple((f"{a} -> {b}", where[(a, b)]) for a, b in cycle)
    ctx.collector.error("E301", f"dependency cycle: {path}", related[0][1], related=related)


def _emit_path(rule: RecordRuleSpec | GroupRuleSpec) -> tuple[str, ...]:
    return ("emit",) if isinstance(rule, GroupRuleSpec) else ("steps",)


def check_rules(ctx: CheckContext) -> None:
    """Type-checks every rule against its input's fields and the entities it emits into;
    rejects duplicate rule ids, unknown streams and stream cycles."""
    seen: dict[str, Span] = {}
    for loaded, index in _rule_order(ctx):
        rule = loaded.spec.rules[index]
        if rule.id in seen:
            ctx.collector.error("E208", f"rule '{rule.id}' is defined twice",
                                loaded.span("rules", index, "id"),
                                related=(("first defined here", seen[rule.id]),))
            continue
        seen[rule.id] = loaded.span("rules", index, "id")
        input_type = _input_type(ctx, loaded, index, rule_input(rule))
        if input_type is None:
            continue
        ir: RecordRuleIR | GroupRuleIR
        if isinstance(rule, GroupRuleSpec):
            ir = check_group_rule(ctx, loaded, index, rule, input_type)
        else:
            ir = check_record_rule(ctx, loaded, index, rule, input_type)
        ctx.rules.append(ir)


def _input_type(ctx: CheckContext, loaded: Loaded[RulePackSpec], index: int,
                name: str) -> Type | None:
    info = ctx.catalog.get(name)
    if info is not None:
        return info.record
    if name in ctx.streams:
        ctx.use("stream", name)
        return ctx.streams[name]
    key = "group" if isinstance(loaded.spec.rules[index], GroupRuleSpec) else "for"
    ctx.collector.error("E210", f"unknown entity or stream '{name}'",
                        loaded.span("rules", index, key),
                        did_you_mean(name, [*ctx.catalog.entities, *ctx.streams]))
    return None


def check_manifest(ctx: CheckContext) -> None:
    """Rejects inputs and outputs that name unknown mappings or the wrong direction."""
    manifest = ctx.project.manifest
    for index, item in enumerate(manifest.spec.inputs):
        _manifest_mapping(ctx, ("inputs", index, "mapping"), item.mapping, "inbound")
    for index, name in enumerate(manifest.spec.outputs):
        _manifest_mapping(ctx, ("outputs", index), name, "outbound")


def _manifest_mapping(ctx: CheckContext, path: tuple[str | int, ...], name: str,
                      direction: str) -> None:
    mapping = ctx.mappings.get(name)
    span = ctx.project.manifest.span(*path)
    if mapping is None:
        ctx.collector.error("E210", f"unknown mapping '{name}'", span,
                            did_you_mean(name, list(ctx.mappings)))
    elif mapping.direction != direction:
        ctx.collector.error("E205", f"mapping '{name}' is {mapping.direction}, expected "
                            f"{direction}", span)
    else:
        ctx.use("mapping", name)


def check_spec_tests(ctx: CheckContext) -> None:
    """Rejects spec tests that name unknown entities; warns on files without cases."""
    for loaded in ctx.project.test_files:
        if not loaded.spec.tests:
            ctx.collector.warning("W602", "spec test file has no cases", loaded.span("tests"))
        for index, case in enumerate(loaded.spec.tests):
            for part in ("given", "expect", "absent"):
                for entity in getattr(case, part):
                    if entity not in ctx.catalog.entities:
                        ctx.collector.error(
                            "E210", f"unknown entity '{entity}'",
                            loaded.key_span("tests", index, part, entity),
                            did_you_mean(entity, list(ctx.catalog.entities)))


def check_unused(ctx: CheckContext) -> None:
    """Warns about bindings, streams, mappings and exception codes nothing uses."""
    for definition in ctx.definitions:
        if definition.used:
            continue
        owner, _, name = definition.name.rpartition(".")
        where = f" in {owner.replace(':', ' ')}" if owner else ""
        ctx.collector.warning("W601", f"{definition.kind.replace('_', ' ')} '{name}'{where} "
                              "is never used", definition.span)


CHECKS: tuple[Callable[[CheckContext], None], ...] = (
    check_entities,
    check_exception_codes,
    check_mappings,
    check_rules,
    check_manifest,
    check_spec_tests,
    check_unused,
)
