"""Which fields of an entity the rules read: the runner carries only those (plus the key
and revision) through its sort, so a record spilled to disk costs what the rules need."""

from __future__ import annotations

from engine.load import ast
from engine.plan.model import EmitIR, EntityIR, Expr, GroupRuleIR, Plan, RecordRuleIR, StepIR


def _emit_exprs(emit: EmitIR) -> list[Expr]:
    return [emit.whole] if emit.whole is not None else [e for _, e in emit.fields]


def _step_exprs(step: StepIR) -> list[Expr]:
    found = [e for _, e in (*step.lets, *step.requires)]
    found += [step.when] if step.when else []
    for emit in step.emits:
        found += _emit_exprs(emit)
    if step.exception is not None:
        x = step.exception
        found += [e for e in (x.message, x.contract_line_id, x.old_amount, x.new_amount,
                              x.source_entity, x.source_id) if e is not None]
    if step.otherwise is not None:
        found += _step_exprs(step.otherwise)
    return found


def _rule_exprs(rule: RecordRuleIR | GroupRuleIR) -> list[Expr]:
    if isinstance(rule, RecordRuleIR):
        return [e for step in rule.steps for e in _step_exprs(step)]
    found = [e for _, e in (*rule.by, *rule.lets)] + ([rule.each[1]] if rule.each else [])
    found += [a.argument for a in rule.aggregates if a.argument is not None]
    return found + [e for emit in rule.emits for e in _emit_exprs(emit)]


def fields_read(plan: Plan, entity: EntityIR) -> tuple[str, ...]:
    """The fields of `entity` that any rule reading it uses, with its key and revision, in
    declared order. Every field when a rule uses the whole record."""
    wanted = set(entity.key) | ({entity.revision} if entity.revision else set())
    for rule in plan.rules:
        if rule.input != entity.name:
            continue
        for expr in _rule_exprs(rule):
            for node in ast.walk(expr.node):
                for child in ast.children(node):
                    if isinstance(child, ast.Name) and child.name == rule.var:
                        if not isinstance(node, ast.Field):
                            return entity.field_names()
                        wanted.add(node.name)
                if isinstance(node, ast.Name) and node is expr.node and node.name == rule.var:
                    return entity.field_names()
    return tuple(name for name in entity.field_names() if name in wanted)
