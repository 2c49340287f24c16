"""The dependency graph: vendor fields, canonical fields, streams, rules, mappings, outputs.

Kept in one small class (dbt's graph is the model): built from the edges the checks found,
it rejects cycles, orders the rules, and answers lineage questions.
"""

from __future__ import annotations

import networkx as nx

from engine.errors import Collector, Span


class SpecGraph:
    def __init__(self, edges: list[tuple[str, str, str, Span | None]]) -> None:
        self.graph = nx.MultiDiGraph()
        for source, target, via, span in edges:
            self.graph.add_edge(source, target, via=via, span=span)

    def reject_cycles(self, collector: Collector) -> None:
        """A cycle is reported with its path and where each edge comes from."""
        try:
            cycle = nx.find_cycle(self.graph)
        except nx.NetworkXNoCycle:
            return
        names = [edge[0] for edge in cycle] + [cycle[-1][1]]
        related = []
        for source, target, key in cycle:
            span = self.graph.edges[source, target, key]["span"]
            if span is not None:
                related.append((f"{source} -> {target}", span))
        first = related[0][1] if related else None
        collector.error("E301", "dependency cycle: " + " -> ".join(names),
                        first or Span("<plan>", 1, 1, 1, 1), related=tuple(related))

    def order(self, nodes: list[str]) -> list[str]:
        """The given nodes in a deterministic topological order of the whole graph."""
        wanted = set(nodes)
        position = {node: i for i, node in enumerate(nodes)}
        ordered = nx.lexicographical_topological_sort(
            self.graph, key=lambda n: (position.get(n, len(nodes)), n))
        return [n for n in ordered if n in wanted]

    def upstream(self, node: str) -> list[tuple[str, str, str, Span | None]]:
        """Every edge that feeds node, directly or not: (from, to, via, span)."""
        found: list[tuple[str, str, str, Span | None]] = []
        seen: set[str] = set()
        stack = [node]
        while stack:
            current = stack.pop()
            if current in seen or current not in self.graph:
                continue
            seen.add(current)
            for source, _, data in self.graph.in_edges(current, data=True):
                found.append((source, current, data["via"], data["span"]))
                stack.append(source)
        return sorted(found, key=lambda e: (e[1], e[0], e[2]))

    def nodes(self) -> list[tuple[str, str]]:
        return sorted((node, node.split(":", 1)[0]) for node in self.graph.nodes)
