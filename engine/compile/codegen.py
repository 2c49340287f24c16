"""Turn the Plan into a Python syntax tree: one readable function per mapping and per rule,
named after its id, every node tagged with the YAML span it came from.

The tree is built from `ast` nodes (engine.compile.pyast), never from text: spec names are
identifiers in their own namespace (engine.compile.names) and spec text is only ever a
string constant. Generated code reaches only the closed surface of engine.compile.surface.
"""

from __future__ import annotations

import ast as python
from collections import Counter
from decimal import Decimal

from engine.check import functions as fn
from engine.compile import pyast as py
from engine.compile.names import EMITTED, Names, local
from engine.compile.surface import runtime_function
from engine.compile.validators import ValidatorGen, field_local
from engine.errors import Span
from engine.load import ast
from engine.plan.model import (
    EmitIR,
    EntityIR,
    ExceptionIR,
    Expr,
    GroupRuleIR,
    MappingIR,
    Plan,
    RecordRuleIR,
    StepIR,
)

GLOBALS = {"policy": "POLICY", "run": "RUN"}  # names every expression sees, unless rebound
SOURCE = "src"  # a mapping's source record
KEY, ACC, VALUE, RAW = "key", "acc", "value", "raw"
INITIAL: dict[str, str | int | bool | None] = {
    "sum": 0, "count": 0, "first": None, "min": None, "max": None, "any": False, "all": True}


def index_name(entity: str, keys: tuple[str, ...], dated: bool) -> str:
    return "|".join((entity, *keys, *(("@",) if dated else ())))


class ExprGen:
    """The Python expression of a language expression. Knows which spec names are bound
    where it stands, so a `let policy = ...` reads the local, not the policies."""

    def __init__(self, spans: py.Spans, constants: dict[str, str]) -> None:
        self.spans = spans
        self.constants = constants  # decimal literal text -> K<n>
        self.bound: Counter[str] = Counter()
        # In a fused mapping, the source record's fields are checked locals f<position>.
        self.fused: dict[str, str] | None = None

    def bind(self, *names: str) -> None:
        self.bound.update(names)

    def __call__(self, node: ast.Node) -> py.Expr:
        return self.spans.mark(self._expr(node), node.span)

    def _expr(self, node: ast.Node) -> py.Expr:
        match node:
            case ast.Literal(value=value):
                return self._literal(value)
            case ast.Name(name=name):
                return self._name(name)
            case ast.Field(target=ast.Name(name=SOURCE), name=name) if (
                    self.fused is not None and self.bound[SOURCE] == 1):
                return py.name(self.fused[name])
            case ast.Field(target=target, name=name):
                return py.item(self(target), py.const(name))
            case ast.Unwrap(target=target):
                return self._unwrap(target)
            case ast.Index(target=target, index=position):
                return py.call("rt_index", self(target), self(position))
            case ast.Call():
                return self._call(node)
            case ast.Unary(op="not", operand=operand):
                return py.not_(self(operand))
            case ast.Unary(operand=operand):
                return py.negate(self(operand))
            case ast.Binary():
                return self._binary(node)
            case ast.Cond(test=test, then=then, otherwise=otherwise):
                return py.if_else(self(test), self(then), self(otherwise))
            case ast.Let(name=name, value=value, body=body):
                return py.call(self._lambda(name, body), self(value))
            case ast.ListLit(items=items):
                return py.list_([self(i) for i in items])
            case ast.RecordLit(fields=fields):
                return py.record([(k, self(v)) for k, v in fields])
            case ast.RecordUpdate(target=target, fields=fields):
                return py.record([(k, self(v)) for k, v in fields], base=self(target))
            case ast.Template(parts=parts):
                return py.call("rt_concat", *(self(p) for p in parts)) if parts \
                    else py.const("")
        raise py.CompileBug(f"cannot generate {type(node).__name__}")

    def _literal(self, value: object) -> py.Expr:
        if isinstance(value, Decimal):
            text = str(value)
            constant = self.constants.setdefault(text, f"K{len(self.constants)}")
            return py.name(constant)
        assert value is None or isinstance(value, (str, int, bool))
        return py.const(value)

    def _name(self, name: str) -> py.Expr:
        if self.bound[name]:
            return py.name(local(name))
        if name in GLOBALS:
            return py.name(GLOBALS[name])
        raise py.CompileBug(f"'{name}' is not bound here")

    def _lambda(self, param: str, body: ast.Node) -> py.Expr:
        """A one-parameter function of the language (let, scan's step) as a Python lambda."""
        return py.lambda_(local(param), self._within(param, body))

    def _within(self, name: str, body: ast.Node) -> py.Expr:
        """body with name bound (a let, a lambda parameter)."""
        self.bound[name] += 1
        try:
            return self(body)
        finally:
            self.bound[name] -= 1

    def _unwrap(self, target: ast.Node) -> py.Expr:
        what = py.const(_describe(target))
        if _simple(target):
            return py.present_or(self(target), py.call("rt_absent", what))
        return py.call("rt_unwrap", self(target), what)

    def _binary(self, node: ast.Binary) -> py.Expr:
        left, right = self(node.left), self(node.right)
        op = node.op
        if op == "??":
            if isinstance(node.left, (ast.Name, ast.Field)):
                return py.present_or(left, right)
            return py.call("rt_coalesce", left, right)
        if op == "/":
            return py.call("rt_div", left, right)
        if op == "*":
            return py.call("rt_mul", left, right)
        if op in ("and", "or"):
            return py.boolean(op, left, right)
        if op in ("==", "!=") and isinstance(node.right, ast.Literal) and \
                node.right.value is None:
            return py.compare("is" if op == "==" else "is not", left, right)
        if op in ("+", "-"):
            return py.binary(op, left, right)
        return py.compare(op, left, right)

    def _call(self, node: ast.Call) -> py.Expr:
        name = node.function
        if name in fn.LOOKUP_FUNCTIONS:
            return self._lookup(node)
        if name in ("map", "filter", "any", "all", "sort_by"):
            return self._comprehension(node)
        if name == "fill":
            return self._fill(node)
        if name == "scan":
            items, init, step = node.args
            assert isinstance(step, ast.Lambda)
            return py.call("rt_scan", self(items), self(init),
                           self._lambda(step.param, step.body))
        if name == "allocate":
            items, weight, total, places = node.args
            source = self(items)
            return py.call("rt_allocate", source, self._per_item(weight, source),
                           self(total), self(places))
        if name == "count" and len(node.args) == 1:
            return py.call("len", self(node.args[0]))
        return py.call(runtime_function(name), *(self(a) for a in self._placed(node)))

    @staticmethod
    def _placed(node: ast.Call) -> list[ast.Node]:
        """Arguments in parameter order (named ones put in their place)."""
        args = list(node.args)
        signature = fn.FUNCTIONS.get(node.function)
        if signature is None or signature.variadic:
            return args
        params = [p for p, _ in signature.params]
        placed: list[ast.Node | None] = [*args, *[None] * (len(params) - len(args))]
        for key, value in node.named:
            placed[params.index(key)] = value
        return [a for a in placed if a is not None]

    def _per_item(self, function: ast.Node, source: py.Expr) -> py.Expr:
        """[function(item) for item in source], for a lambda argument."""
        assert isinstance(function, ast.Lambda)
        return py.list_comp(self._within(function.param, function.body),
                            local(function.param), source)

    def _fill(self, node: ast.Call) -> py.Expr:
        source = self(node.args[0])
        named = dict(node.named)

        def per_item(key: str) -> py.Expr:
            function = named.get(key)
            return py.const(None) if function is None else self._per_item(function, source)

        bound = named["bound"]
        return py.call(
            "rt_fill", source, per_item("units"), per_item("unit_value"),
            per_item("bound") if isinstance(bound, ast.Lambda) else self(bound),
            self(named["mode"]), per_item("batch"), per_item("round_by"),
            self(named["places"]) if "places" in named else py.const(None), per_item("retry"),
            per_item("divisible"))

    def _lookup(self, node: ast.Call) -> py.Expr:
        assert isinstance(node.args[0], ast.Name)
        keys = [(k, v) for k, v in node.named if k != "at"]
        at = next((v for k, v in node.named if k == "at"), None)
        index = index_name(node.args[0].name, tuple(k for k, _ in keys), at is not None)
        function = "rt_lookup_all" if node.function == "lookup_all" else "rt_lookup_one"
        return py.call(function, py.name("IDX"), py.const(index),
                       py.tuple_([self(v) for _, v in keys]),
                       self(at) if at is not None else py.const(None))

    def _comprehension(self, node: ast.Call) -> py.Expr:
        items, function = node.args
        assert isinstance(function, ast.Lambda)
        var, source = local(function.param), self(items)
        body = self._within(function.param, function.body)
        match node.function:
            case "map":
                return py.list_comp(body, var, source)
            case "filter":
                return py.list_comp(py.name(var), var, source, body)
            case "sort_by":
                return py.call("rt_sort_by", source, py.list_comp(body, var, self(items)))
        return py.call(node.function, py.generator(body, var, source))


def _fusable(mapping: MappingIR) -> bool:
    """A mapping reads its source only field by field (never the whole record)."""
    exprs = [e.node for _, e in (*mapping.lets, *mapping.fields)]
    parents = {id(child): node for expr in exprs for node in ast.walk(expr)
               for child in ast.children(node)}
    return all(not (isinstance(node, ast.Name) and node.name == SOURCE)
               or isinstance(parents.get(id(node)), ast.Field)
               for expr in exprs for node in ast.walk(expr))


def _simple(node: ast.Node) -> bool:
    """A name or a field of a name: cheap enough to evaluate twice when inlined."""
    return isinstance(node, ast.Name) or (
        isinstance(node, ast.Field) and isinstance(node.target, ast.Name))


def _describe(node: ast.Node) -> str:
    match node:
        case ast.Name(name=name):
            return name
        case ast.Field(target=target, name=name):
            return f"{_describe(target)}.{name}"
        case ast.Unwrap(target=target):
            return f"{_describe(target)}!"
        case ast.Call(function=function):
            return f"{function}(...)"
    return "value"


def _where(span: Span) -> str:
    return f"{span.file}:{span.line}"


class ModuleGen:
    def __init__(self, plan: Plan, trace: bool = False) -> None:
        self.plan = plan
        self.names = Names()
        self.spans = py.Spans()
        self.constants: dict[str, str] = {}
        self.expr = ExprGen(self.spans, self.constants)
        self.rule_id = ""  # the rule being generated
        # Trace mode (billsync explain): every binding and group member is also reported to
        # the tracer. Off for runs, so the code that runs is the code one reads.
        self.trace = trace

    def _at(self, node: py.Stmt, span: Span) -> py.Stmt:
        return self.spans.mark(node, span)

    def _function(self, name: str, kind: str, ident: str, params: list[str],
                  body: list[py.Stmt], span: Span, doc: str | None = None) -> py.Stmt:
        self.names.define(name, kind, ident)
        return self._at(py.function(name, params, body, doc), span)

    def _traced(self, name: str, span: Span) -> list[py.Stmt]:
        if not self.trace:
            return []
        return [self._at(py.do(py.call("trace_bind", py.const(name), py.name(local(name)),
                                       py.const(_where(span)))), span)]

    def _assign(self, name: str, expr: Expr) -> py.Stmt:
        """`v_name = expr`, then name is bound for what follows."""
        statement = self._at(py.assign(local(name), self.expr(expr.node)), expr.span)
        self.expr.bind(name)
        return statement

    def _bind(self, name: str, expr: Expr) -> list[py.Stmt]:
        """A binding of the spec: assigned, and reported to the tracer in trace mode."""
        return [self._assign(name, expr), *self._traced(name, expr.span)]

    def _bindings(self, bindings: tuple[tuple[str, Expr], ...]) -> list[py.Stmt]:
        return [s for name, expr in bindings for s in self._bind(name, expr)]

    def _start(self, *names: str) -> None:
        """A new function: only its parameters are bound."""
        self.expr.bound.clear()
        self.expr.bind(*names)

    def _record(self, target: str, fields: tuple[tuple[str, Expr], ...]) -> py.Expr:
        """A record literal. Output records are complete: every field of the entity in its
        declared order, stamped with the spec version and the rule that made them."""
        given = {name: self.expr(e.node) for name, e in fields}
        entity = self.plan.entity(target)
        if entity is None:
            return py.record(list(given.items()))
        stamps: dict[str, py.Expr] = {"spec_version": py.name("SPEC_VERSION"),
                                      "rule_id": py.const(self.rule_id)}
        return py.record([(name, given.get(name) or stamps.get(name) or py.const(None))
                          for name in entity.field_names()])

    # -- mappings ----------------------------------------------------------------------------

    def mapping(self, mapping: MappingIR) -> list[py.Stmt]:
        self._start(SOURCE)
        doc = (f"{mapping.direction} mapping {mapping.source} -> {mapping.target} "
               f"({_where(mapping.span)}).")
        made = [self._function(f"map_{mapping.id}", "mapping", mapping.id, [local(SOURCE)],
                               self._mapping_body(mapping), mapping.span, doc)]
        source = self.plan.entity(mapping.source)
        if mapping.direction == "inbound" and source is not None and _fusable(mapping):
            made += self._ingest(mapping, source)
        return made

    def _ingest(self, mapping: MappingIR, source: EntityIR) -> list[py.Stmt]:
        """`ingest_ID(raw)`: check a vendor JSON object and map it in one function, the
        mapping reading the checked fields as locals (no intermediate record)."""
        checks = ValidatorGen(self.names, source)
        body = checks.body(source.fields, "", returns=False)
        self._start(SOURCE)
        self.expr.fused = {f.name: field_local(i) for i, f in enumerate(source.fields)}
        try:
            body += self._mapping_body(mapping)
        finally:
            self.expr.fused = None
        doc = f"Check a {mapping.source} record and map it to {mapping.target}."
        return [self._function(f"ingest_{mapping.id}", "mapping", mapping.id, [RAW], body,
                               mapping.span, doc), *checks.nested()]

    def _mapping_body(self, mapping: MappingIR) -> list[py.Stmt]:
        body: list[py.Stmt] = []
        if mapping.when is not None:  # a record it does not send: no payload
            body.append(self._at(py.if_(py.not_(self.expr(mapping.when.node)),
                                        [py.return_(py.const(None))]), mapping.when.span))
        body += self._bindings(mapping.lets)
        fields = dict(mapping.fields)
        target = self.plan.entity(mapping.target)
        # Every field of the target, in its declared order; unmapped optional ones are None.
        record = py.record([
            (name, self.expr(fields[name].node) if name in fields else py.const(None))
            for name in (target.field_names() if target else tuple(fields))])
        return [*body, self._at(py.return_(record), mapping.span)]

    # -- record rules ------------------------------------------------------------------------

    def _emit(self, emit: EmitIR) -> list[py.Stmt]:
        prepare: list[py.Stmt] = []
        if emit.whole is not None and self.plan.entity(emit.target) is None:
            # A whole record into an inferred stream is passed as it is: records are never
            # changed in place, and the checks made its fields the stream's.
            record = self.expr(emit.whole.node)
        elif emit.whole is not None:
            prepare = [self._assign(EMITTED, emit.whole)]
            record = self._record(emit.target, emit.fields)
        else:
            record = self._record(emit.target, emit.fields)
        call = py.call("out_emit", py.const(emit.target), record)
        return [*prepare, self._at(py.do(call), emit.span)]

    def _exception(self, exception: ExceptionIR) -> py.Stmt:
        def optional(expr: Expr | None) -> py.Expr:
            return self.expr(expr.node) if expr is not None else py.const(None)

        keywords: dict[str, py.Expr] = {}
        if exception.source_entity is not None and exception.source_id is not None:
            keywords["source"] = py.tuple_([self.expr(exception.source_entity.node),
                                            self.expr(exception.source_id.node)])
        call = py.call("out_exception", py.const(exception.code),
                       self.expr(exception.message.node), optional(exception.contract_line_id),
                       py.const(exception.field), py.const(self.rule_id),
                       optional(exception.old_amount), optional(exception.new_amount),
                       **keywords)
        return self._at(py.do(call), exception.span)

    def _outcome(self, step: StepIR) -> list[py.Stmt]:
        body = [s for emit in step.emits for s in self._emit(emit)]
        if step.exception is not None:
            body.append(self._exception(step.exception))
        if step.exclude is not None:
            body.append(self._at(py.do(py.call("out_exclude", py.const(step.exclude))),
                                 step.span))
        if step.terminal:
            body.append(self._at(py.return_(), step.span))
        return body or [self._at(python.Pass(), step.span)]

    def _step(self, step: StepIR) -> list[py.Stmt]:
        body = self._bindings(step.lets)
        for name, expr in step.requires:
            body += self._bind(name, expr)
            assert step.otherwise is not None
            test = py.compare("is", py.name(local(name)), py.const(None))
            body.append(self._at(py.if_(test, self._outcome(step.otherwise)), expr.span))
        if step.lets or step.requires:
            return body
        if step.when is not None:
            return [self._at(py.if_(self.expr(step.when.node), self._outcome(step)),
                             step.when.span)]
        return self._outcome(step)

    def record_rule(self, rule: RecordRuleIR) -> list[py.Stmt]:
        self.rule_id = rule.id
        self._start(rule.var)
        summary = rule.description.strip().splitlines()[0] if rule.description.strip() \
            else rule.id
        body = [s for step in rule.steps for s in self._step(step)]
        return [self._function(f"rule_{rule.id}", "rule", rule.id, [local(rule.var)], body,
                               rule.span, f"{summary} ({_where(rule.span)}).")]

    # -- group rules -------------------------------------------------------------------------

    def group_rule(self, rule: GroupRuleIR) -> list[py.Stmt]:
        """`group_ID_add(record)` finds the record's group in GROUPS_ID and adds it in;
        `group_ID_emit(key, acc)` turns one finished group into records."""
        self.rule_id = rule.id
        table = self.names.define(f"GROUPS_{rule.id}")
        return [self._at(py.assign(table, py.record([])), rule.span),
                self._group_add(rule, table), self._group_emit(rule)]

    def _group_add(self, rule: GroupRuleIR, table: str) -> py.Stmt:
        self._start(rule.var)
        record = py.name(local(rule.var))
        body: list[py.Stmt] = [self._at(py.assign(KEY, py.tuple_(
            [self.expr(e.node) for _, e in rule.by])), rule.span)]
        if self.trace:
            body.append(py.do(py.call("trace_member", py.const(rule.id), py.name(KEY),
                                      record)))
        initial = py.list_([py.list_([]) if a.function == "collect"
                            else py.const(INITIAL[a.function]) for a in rule.aggregates])
        body.append(py.if_(py.compare("in", py.name(KEY), py.name(table)),
                           [py.assign(ACC, py.item(py.name(table), py.name(KEY)))],
                           [py.assign_many([py.store(ACC), py.item_store(py.name(table),
                                                                         py.name(KEY))],
                                           initial)]))
        for position, aggregate in enumerate(rule.aggregates):
            value = self.expr(aggregate.argument.node) if aggregate.argument else None
            for statement in _accumulate(position, aggregate.function, value):
                body.append(self._at(statement, aggregate.span))
        return self._function(f"group_{rule.id}_add", "rule", rule.id, [local(rule.var)],
                              body, rule.span)

    def _group_emit(self, rule: GroupRuleIR) -> py.Stmt:
        self._start()
        body: list[py.Stmt] = []
        for position, (name, expr) in enumerate(rule.by):
            body.append(self._at(py.assign(local(name), py.item(py.name(KEY),
                                                                py.const(position))), expr.span))
            self.expr.bind(name)
        for position, aggregate in enumerate(rule.aggregates):
            body.append(self._at(py.assign(local(aggregate.name), py.item(
                py.name(ACC), py.const(position))), aggregate.span))
            self.expr.bind(aggregate.name)
            body += self._traced(aggregate.name, aggregate.span)
        body += self._bindings(rule.lets)
        if rule.each is None:
            return self._function(f"group_{rule.id}_emit", "rule", rule.id, [KEY, ACC],
                                  body + [s for e in rule.emits for s in self._emit(e)],
                                  rule.span)
        name, items = rule.each
        source = self.expr(items.node)
        self.expr.bind(name)
        loop: list[py.Stmt] = []
        if self.trace:
            loop.append(py.do(py.call("trace_element", py.const(name), py.name(local(name)))))
        loop += [s for emit in rule.emits for s in self._emit(emit)]
        body.append(self._at(py.for_(local(name), source, loop), items.span))
        return self._function(f"group_{rule.id}_emit", "rule", rule.id, [KEY, ACC], body,
                              rule.span)

    # -- the module --------------------------------------------------------------------------

    def module(self) -> python.Module:
        body: list[py.Stmt] = []
        for entity in self.plan.entities:
            body += ValidatorGen(self.names, entity).generate()
        for mapping in self.plan.mappings:
            body += self.mapping(mapping)
        for rule in self.plan.rules:
            body += self.group_rule(rule) if isinstance(rule, GroupRuleIR) \
                else self.record_rule(rule)
        doc = (f"Compiled from spec {self.plan.name} {self.plan.version}, spec version "
               f"{self.plan.spec_version}. Generated: do not edit.\n\n"
               "Names reachable here: rt_* (the runtime), IDX (lookup indexes), POLICY, RUN, "
               "SPEC_VERSION, out_* (where results go), K* (decimal constants).")
        head: list[py.Stmt] = [py.docstring(doc)]
        for text, constant in self.constants.items():
            self.names.define(constant)
            head.append(py.assign(constant, py.call("Decimal", py.const(text))))
        return python.Module([*head, *body], [])


def _accumulate(position: int, function: str, value: py.Expr | None) -> list[py.Stmt]:
    """The statements adding one record into slot `position` of a group's accumulator."""
    def slot() -> py.Expr:
        return py.item(py.name(ACC), py.const(position))

    def set_slot(new: py.Expr) -> py.Stmt:
        return py.assign(py.item_store(py.name(ACC), py.const(position)), new)

    if function == "count":
        return [python.AugAssign(py.item_store(py.name(ACC), py.const(position)), python.Add(),
                                 py.const(1))]
    assert value is not None
    match function:
        case "sum":
            return [set_slot(py.binary("+", slot(), value))]
        case "collect":
            return [python.AugAssign(py.item_store(py.name(ACC), py.const(position)),
                                     python.Add(), py.list_([value]))]
        case "first":
            return [py.if_(py.compare("is", slot(), py.const(None)), [set_slot(value)])]
        case "min" | "max":
            beyond = py.compare("<" if function == "min" else ">", py.name(VALUE), slot())
            return [py.assign(VALUE, value), py.if_(
                py.boolean("or", py.compare("is", slot(), py.const(None)), beyond),
                [set_slot(py.name(VALUE))])]
        case "any" | "all":
            return [set_slot(py.boolean("or" if function == "any" else "and", slot(), value))]
    raise py.CompileBug(f"unknown aggregate '{function}'")


def generate(plan: Plan, trace: bool = False) -> tuple[python.Module, py.Spans, Names]:
    gen = ModuleGen(plan, trace)
    return gen.module(), gen.spans, gen.names
