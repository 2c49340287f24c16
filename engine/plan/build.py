"""Build the Plan from the checked spec: graph, cycle check, rule order, content hash."""

from __future__ import annotations

import dataclasses

from engine.check.context import CheckContext
from engine.errors import Collector
from engine.plan.graph import SpecGraph
from engine.plan.model import (
    InputIR,
    LookupIR,
    Plan,
    content_hash,
)


def build_plan(ctx: CheckContext, collector: Collector) -> Plan:
    """Freeze the checked spec into a Plan; cycles are reported into the collector."""
    graph = SpecGraph(ctx.edges)
    graph.reject_cycles(collector)
    manifest = ctx.project.manifest.spec
    rule_nodes = graph.order([f"rule:{r.id}" for r in ctx.rules])
    by_node = {f"rule:{r.id}": r for r in ctx.rules}
    rules = tuple(by_node[n] for n in rule_nodes) + tuple(
        r for n, r in by_node.items() if n not in rule_nodes)
    streams = tuple(sorted(
        (name, tuple((k, t.name) for k, t in getattr(record, "fields", ())))
        for name, record in ctx.streams.items()))
    lookups = tuple(sorted(LookupIR(x.entity, x.keys, x.dated) for x in ctx.types.lookups)
                    ) if ctx.checker else ()
    plan = Plan(
        name=manifest.name,
        version=manifest.version,
        spec_format=manifest.spec_format,
        policies=tuple(sorted(manifest.policies.items())),
        entities=tuple(sorted(ctx.entities.values(), key=lambda e: e.name)),
        streams=streams,
        mappings=tuple(sorted(ctx.mappings.values(), key=lambda m: m.id)),
        rules=rules,
        exception_codes=tuple(sorted(ctx.exception_codes.values(), key=lambda c: c.code)),
        lookups=lookups,
        inputs=tuple(InputIR(i.file, i.mapping, i.optional,
                             ctx.project.manifest.span("inputs", index, "file"))
                     for index, i in enumerate(manifest.inputs)),
        outputs=tuple(manifest.outputs),
        graph_nodes=tuple((node, kind, None) for node, kind in graph.nodes()),
        graph_edges=tuple(sorted(ctx.edges, key=lambda e: (e[0], e[1], e[2]))),
    )
    return dataclasses.replace(plan, spec_version=content_hash(plan))


