"""Lineage and graph views, read from the Plan's graph: which source fields and rules feed
an output field, and the whole graph as DOT or Mermaid."""

from __future__ import annotations

from engine.escape import printable
from engine.plan.graph import SpecGraph
from engine.plan.model import Plan


def graph_of(plan: Plan) -> SpecGraph:
    return SpecGraph(list(plan.graph_edges))


def lineage(plan: Plan, target: str) -> str | None:
    """A readable account of what feeds `entity.field`; None if the graph does not know it."""
    node = f"field:{target}"
    graph = graph_of(plan)
    if node not in graph.graph:
        return None
    edges = graph.upstream(node)
    fed = {e[1] for e in edges}
    sources = sorted({e[0] for e in edges if e[0] not in fed})
    rules: dict[str, str] = {}
    for _, _, via, span in edges:
        if span is not None and via not in rules:
            rules[via] = f"{span.file}:{span.line}"
    lines = [target, "  source fields:"]
    lines += [f"    {_label(s)}" for s in sources]
    lines.append("  rules and mappings:")
    lines += [f"    {via.split(':', 1)[1]:<28} {where}" for via, where in sorted(rules.items())]
    lines.append("  steps:")
    lines += [f"    {_label(a)} -> {_label(b)}  ({via.split(':', 1)[1]}"
              f"{f', {s.file}:{s.line}' if s else ''})" for a, b, via, s in edges]
    return "\n".join(lines)


def _label(node: str) -> str:
    name = node.split(":", 1)[1]
    return f"{name[:-2]} (lookup)" if name.endswith(".*") else name


def _coarse_edges(plan: Plan) -> list[tuple[str, str]]:
    return sorted({(a, b) for a, b, _, _ in plan.graph_edges
                   if not a.startswith("field:") and not b.startswith("field:")})


def _field_edges(plan: Plan) -> list[tuple[str, str]]:
    return sorted({(a, b) for a, b, _, _ in plan.graph_edges
                   if a.startswith("field:") and b.startswith("field:")})


def _dot(text: str) -> str:
    """A DOT quoted string that nothing in text can end early (a vendor's field name, the
    project's name): no attribute or statement can be written through it."""
    return '"' + printable(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _mermaid(text: str) -> str:
    """A Mermaid label: quotes and markup characters as entity codes, on one line."""
    escaped = printable(text).replace("#", "#35;").replace('"', "#quot;")
    return '"' + escaped.replace("<", "#lt;").replace(">", "#gt;") + '"'


def to_dot(plan: Plan, fields: bool = False) -> str:
    shapes = {"rule": "box", "mapping": "box", "entity": "cylinder", "stream": "ellipse",
              "field": "plaintext"}
    edges = _field_edges(plan) if fields else _coarse_edges(plan)
    nodes = sorted({n for edge in edges for n in edge})
    out = [f"digraph {_dot(plan.name)} {{", "  rankdir=LR;"]
    for node in nodes:
        kind = node.split(":", 1)[0]
        out.append(f"  {_dot(node)} [shape={shapes.get(kind, 'ellipse')}];")
    out += [f"  {_dot(a)} -> {_dot(b)};" for a, b in edges]
    out.append("}")
    return "\n".join(out) + "\n"


def to_mermaid(plan: Plan, fields: bool = False) -> str:
    edges = _field_edges(plan) if fields else _coarse_edges(plan)
    ids = {n: f"n{i}" for i, n in enumerate(sorted({n for e in edges for n in e}))}
    out = ["flowchart LR"]
    for node, ident in ids.items():
        kind, name = node.split(":", 1)
        label = _mermaid(name)
        shape = f"[{label}]" if kind in ("rule", "mapping") else f"[({label})]" \
            if kind == "entity" else f"({label})"
        out.append(f"  {ident}{shape}")
    out += [f"  {ids[a]} --> {ids[b]}" for a, b in edges]
    return "\n".join(out) + "\n"
