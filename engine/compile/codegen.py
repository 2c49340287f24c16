"""Turn the Plan into Python source: one readable function per mapping and per rule, named
after its id, with a map from every generated line back to the YAML span it came from.

Generated code reaches only `rt` (engine.compile.runtime), the lookup indexes `IDX`, the
policies `POLICY`, the run parameters `RUN` and hoisted decimal constants.
"""

from __future__ import annotations

from decimal import Decimal

from engine.check import functions as fn
from engine.compile.source import Source
from engine.compile.validators import ValidatorGen, generate_validators
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

RUNTIME_NAMES = {"str": "str_", "sum": "sum_list", "zip": "zip_"}
GLOBALS = {"policy": "POLICY", "run": "RUN"}


def py_name(name: str) -> str:
    return f"v_{name}"


def index_name(entity: str, keys: tuple[str, ...], dated: bool) -> str:
    return "|".join((entity, *keys, *(("@",) if dated else ())))


class ExprGen:
    """Python expression text for an AST node."""

    def __init__(self, source: Source, local_record: str | None = None) -> None:
        self.source = source
        # In a fused mapping, the fields of this record are already checked locals f_<name>.
        self.local_record = local_record

    def __call__(self, node: ast.Node) -> str:
        match node:
            case ast.Literal(value=value):
                return self._literal(value)
            case ast.Name(name=name):
                return GLOBALS.get(name) or py_name(name)
            case ast.Field(target=ast.Name(name=record), name=name) if (
                    record == self.local_record):
                return f"f_{name}"
            case ast.Field(target=target, name=name):
                return f"{self(target)}[{name!r}]"
            case ast.Unwrap(target=target) if _simple(target):
                value = self(target)
                return f"({value} if {value} is not None else rt.absent({_describe(target)!r}))"
            case ast.Unwrap(target=target):
                return f"rt.unwrap({self(target)}, {_describe(target)!r})"
            case ast.Index(target=target, index=position):
                return f"rt.index({self(target)}, {self(position)})"
            case ast.Call():
                return self._call(node)
            case ast.Unary(op="not", operand=operand):
                return f"(not {self(operand)})"
            case ast.Unary(operand=operand):
                return f"(-{self(operand)})"
            case ast.Binary():
                return self._binary(node)
            case ast.Cond(test=test, then=then, otherwise=otherwise):
                return f"({self(then)} if {self(test)} else {self(otherwise)})"
            case ast.Let(name=name, value=value, body=body):
                return f"(lambda {py_name(name)}: {self(body)})({self(value)})"
            case ast.ListLit(items=items):
                return "[" + ", ".join(self(i) for i in items) + "]"
            case ast.RecordLit(fields=fields):
                return "{" + ", ".join(f"{k!r}: {self(v)}" for k, v in fields) + "}"
            case ast.RecordUpdate(target=target, fields=fields):
                return "{**" + self(target) + "".join(f", {k!r}: {self(v)}" for k, v in fields) \
                    + "}"
            case ast.Template(parts=parts):
                return "rt.concat(" + ", ".join(self(p) for p in parts) + ")" if parts else "''"
        raise AssertionError(f"cannot generate {type(node).__name__}")

    def _literal(self, value: object) -> str:
        if isinstance(value, Decimal):
            return self.source.constant(value)
        return repr(value)

    def _binary(self, node: ast.Binary) -> str:
        left, right = self(node.left), self(node.right)
        if node.op == "??":
            if isinstance(node.left, (ast.Name, ast.Field)):
                return f"({left} if {left} is not None else {right})"
            return f"rt.coalesce({left}, {right})"
        if node.op == "/":
            return f"rt.div({left}, {right})"
        if node.op in ("==", "!=") and ast.Literal(node.right.span, None) == node.right:
            return f"({left} {'is' if node.op == '==' else 'is not'} None)"
        return f"({left} {node.op} {right})"

    def _call(self, node: ast.Call) -> str:
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
            param = py_name(step.param)
            return f"rt.scan({self(items)}, {self(init)}, lambda {param}: {self(step.body)})"
        if name == "allocate":
            items, weight, total, places = node.args
            assert isinstance(weight, ast.Lambda)
            source = self(items)
            weights = f"[{self(weight.body)} for {py_name(weight.param)} in {source}]"
            return f"rt.allocate({source}, {weights}, {self(total)}, {self(places)})"
        if name == "count" and len(node.args) == 1:
            return f"len({self(node.args[0])})"
        args = list(node.args)
        signature = fn.FUNCTIONS.get(name)
        if signature is not None and not signature.variadic:
            params = [p for p, _ in signature.params]
            placed: list[ast.Node | None] = [*args, *[None] * (len(params) - len(args))]
            for key, value in node.named:
                placed[params.index(key)] = value
            args = [a for a in placed if a is not None]
        rendered = ", ".join(self(a) for a in args)
        return f"rt.{RUNTIME_NAMES.get(name, name)}({rendered})"

    def _fill(self, node: ast.Call) -> str:
        source = self(node.args[0])
        named = dict(node.named)

        def per_item(key: str) -> str:
            function = named.get(key)
            if function is None:
                return "None"
            assert isinstance(function, ast.Lambda)
            return f"[{self(function.body)} for {py_name(function.param)} in {source}]"
        places = self(named["places"]) if "places" in named else "None"
        bound = per_item("bound") if isinstance(named["bound"], ast.Lambda) \
            else self(named["bound"])
        return (f"rt.fill({source}, {per_item('units')}, {per_item('unit_value')}, "
                f"{bound}, {self(named['mode'])}, {per_item('batch')}, "
                f"{per_item('round_by')}, {places}, {per_item('retry')})")

    def _lookup(self, node: ast.Call) -> str:
        assert isinstance(node.args[0], ast.Name)
        keys = [(k, v) for k, v in node.named if k != "at"]
        at = next((v for k, v in node.named if k == "at"), None)
        name = index_name(node.args[0].name, tuple(k for k, _ in keys), at is not None)
        key_tuple = "(" + "".join(f"{self(v)}, " for _, v in keys) + ")"
        method = "all" if node.function == "lookup_all" else "one"
        at_text = self(at) if at is not None else "None"
        return f"IDX[{name!r}].{method}({key_tuple}, {at_text})"

    def _comprehension(self, node: ast.Call) -> str:
        items, function = node.args
        assert isinstance(function, ast.Lambda)
        var, body = py_name(function.param), self(function.body)
        source = self(items)
        return {
            "map": f"[{body} for {var} in {source}]",
            "filter": f"[{var} for {var} in {source} if {body}]",
            "any": f"any({body} for {var} in {source})",
            "all": f"all({body} for {var} in {source})",
            "sort_by": f"rt.sort_by({source}, [{body} for {var} in {source}])",
        }[node.function]


def _fusable(mapping: MappingIR) -> bool:
    """A mapping reads its source only field by field (never the whole record)."""
    exprs = [e.node for _, e in (*mapping.lets, *mapping.fields)]
    parents = {id(child): node for expr in exprs for node in ast.walk(expr)
               for child in ast.children(node)}
    return all(not (isinstance(node, ast.Name) and node.name == "src")
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


class ModuleGen:
    def __init__(self, plan: Plan, trace: bool = False) -> None:
        self.plan = plan
        self.source = Source()
        self.expr = ExprGen(self.source)
        self.rule_id = ""  # the rule being generated
        # Trace mode (billsync explain): every binding and group member is also reported to
        # TRACE. Off for runs, so the code that runs is the code one reads.
        self.trace = trace

    def _traced(self, name: str, span: Span, indent: int) -> None:
        if self.trace:
            where = f"{span.file}:{span.line}"
            self.source.add(f"TRACE.bind({name!r}, {py_name(name)}, {where!r})", span, indent)

    def _record(self, target: str, fields: tuple[tuple[str, Expr], ...]) -> str:
        """A record literal. Output records are complete: every field of the entity in its
        declared order, stamped with the spec version and the rule that made them."""
        given = {name: self.expr(e.node) for name, e in fields}
        entity = self.plan.entity(target)
        if entity is None:
            return "{" + ", ".join(f"{k!r}: {v}" for k, v in given.items()) + "}"
        stamps = {"spec_version": "SPEC_VERSION", "rule_id": repr(self.rule_id)}
        return "{" + ", ".join(f"{name!r}: {given.get(name, stamps.get(name, 'None'))}"
                               for name in entity.field_names()) + "}"

    def _bindings(self, bindings: tuple[tuple[str, Expr], ...], indent: int) -> None:
        for name, expr in bindings:
            self.source.add(f"{py_name(name)} = {self.expr(expr.node)}", expr.span, indent)
            self._traced(name, expr.span, indent)

    def mapping(self, mapping: MappingIR) -> None:
        add = self.source.add
        add("")
        add(f"def map_{mapping.id}(v_src):", mapping.span)
        add(f'"""{mapping.direction} mapping {mapping.source} -> {mapping.target} '
            f'({mapping.span.file}:{mapping.span.line})."""', mapping.span, 1)
        self._mapping_body(mapping)
        source = self.plan.entity(mapping.source)
        if mapping.direction == "inbound" and source is not None and _fusable(mapping):
            self._ingest(mapping, source)

    def _ingest(self, mapping: MappingIR, source: EntityIR) -> None:
        """`ingest_ID(raw)`: check a vendor JSON object and map it in one function, the
        mapping reading the checked fields as locals (no intermediate record)."""
        add = self.source.add
        add("")
        add(f"def ingest_{mapping.id}(raw):", mapping.span)
        add(f'"""Check a {mapping.source} record and map it to {mapping.target}."""',
            mapping.span, 1)
        checks = ValidatorGen(self.source, source)
        checks._body(source.fields, "", returns=False)
        outer, self.expr = self.expr, ExprGen(self.source, local_record="src")
        try:
            self._mapping_body(mapping)
        finally:
            self.expr = outer
        # Nested records are checked by the functions the entity's own validator defines.

    def _mapping_body(self, mapping: MappingIR) -> None:
        add = self.source.add
        self._bindings(mapping.lets, 1)
        add("return {", mapping.span, 1)
        fields = dict(mapping.fields)
        target = self.plan.entity(mapping.target)
        # Every field of the target, in its declared order; unmapped optional ones are None.
        for name in target.field_names() if target else tuple(fields):
            expr = fields.get(name)
            value = self.expr(expr.node) if expr else "None"
            add(f"{name!r}: {value},", expr.span if expr else mapping.span, 2)
        add("}", mapping.span, 1)

    def _emit(self, emit: EmitIR, indent: int) -> None:
        if emit.whole is not None and self.plan.entity(emit.target) is None:
            # A whole record into an inferred stream is passed as it is: records are never
            # changed in place, and the checks made its fields the stream's.
            record = self.expr(emit.whole.node)
        elif emit.whole is not None:
            self.source.add(f"{py_name('__emitted')} = {self.expr(emit.whole.node)}",
                            emit.whole.span, indent)
            record = self._record(emit.target, emit.fields)
        else:
            record = self._record(emit.target, emit.fields)
        self.source.add(f"OUT.emit({emit.target!r}, {record})", emit.span, indent)

    def _exception(self, exception: ExceptionIR, indent: int) -> None:
        line_id = self.expr(exception.contract_line_id.node) if exception.contract_line_id \
            else "None"
        amounts = "".join(f", {self.expr(e.node)}" if e else ", None"
                          for e in (exception.old_amount, exception.new_amount))
        source = ""
        if exception.source_entity is not None and exception.source_id is not None:
            source = (f", source=({self.expr(exception.source_entity.node)}, "
                      f"{self.expr(exception.source_id.node)})")
        self.source.add(
            f"OUT.exception({exception.code!r}, {self.expr(exception.message.node)}, "
            f"{line_id}, {exception.field!r}, {self.rule_id!r}{amounts}{source})",
            exception.span, indent)

    def _outcome(self, step: StepIR, indent: int) -> None:
        for emit in step.emits:
            self._emit(emit, indent)
        if step.exception is not None:
            self._exception(step.exception, indent)
        if step.exclude is not None:
            self.source.add(f"OUT.exclude({step.exclude!r})", step.span, indent)
        if step.terminal:
            self.source.add("return", step.span, indent)

    def _step(self, step: StepIR) -> None:
        add = self.source.add
        self._bindings(step.lets, 1)
        for name, expr in step.requires:
            add(f"{py_name(name)} = {self.expr(expr.node)}", expr.span, 1)
            self._traced(name, expr.span, 1)
            add(f"if {py_name(name)} is None:", expr.span, 1)
            assert step.otherwise is not None
            self._outcome(step.otherwise, 2)
        if step.lets or step.requires:
            return
        if step.when is not None:
            add(f"if {self.expr(step.when.node)}:", step.when.span, 1)
            self._outcome(step, 2)
        else:
            self._outcome(step, 1)

    def record_rule(self, rule: RecordRuleIR) -> None:
        add = self.source.add
        self.rule_id = rule.id
        add("")
        add(f"def rule_{rule.id}({py_name(rule.var)}):", rule.span)
        summary = rule.description.strip().splitlines()[0] if rule.description else rule.id
        add(f'"""{summary} ({rule.span.file}:{rule.span.line})."""', rule.span, 1)
        for step in rule.steps:
            self._step(step)

    def group_rule(self, rule: GroupRuleIR) -> None:
        """`group_ID_add(record)` finds the record's group in GROUPS_ID and adds it in;
        `group_ID_emit(key, acc)` turns one finished group into records."""
        add = self.source.add
        self.rule_id = rule.id
        var = py_name(rule.var)
        inits = {"sum": "0", "count": "0", "collect": "[]", "first": "None", "min": "None",
                 "max": "None", "any": "False", "all": "True"}
        add("")
        add(f"GROUPS_{rule.id} = {{}}", rule.span)
        add("")
        add(f"def group_{rule.id}_add({var}):", rule.span)
        add("key = (" + "".join(f"{self.expr(e.node)}, " for _, e in rule.by) + ")",
            rule.span, 1)
        if self.trace:
            add(f"TRACE.member({rule.id!r}, key, {var})", rule.span, 1)
        add(f"acc = GROUPS_{rule.id}.get(key)", rule.span, 1)
        add("if acc is None:", rule.span, 1)
        add(f"acc = GROUPS_{rule.id}[key] = ["
            + ", ".join(inits[a.function] for a in rule.aggregates) + "]", rule.span, 2)
        for position, aggregate in enumerate(rule.aggregates):
            self._accumulate(position, aggregate.function,
                             self.expr(aggregate.argument.node) if aggregate.argument else "",
                             aggregate.span)
        add("")
        add(f"def group_{rule.id}_emit(key, acc):", rule.span)
        for position, (name, expr) in enumerate(rule.by):
            add(f"{py_name(name)} = key[{position}]", expr.span, 1)
        for position, aggregate in enumerate(rule.aggregates):
            add(f"{py_name(aggregate.name)} = acc[{position}]", aggregate.span, 1)
            self._traced(aggregate.name, aggregate.span, 1)
        self._bindings(rule.lets, 1)
        indent = 1
        if rule.each is not None:
            name, items = rule.each
            self.source.add(f"for {py_name(name)} in {self.expr(items.node)}:", items.span, 1)
            indent = 2
            if self.trace:
                add(f"TRACE.element({name!r}, {py_name(name)})", items.span, indent)
        for emit in rule.emits:
            self._emit(emit, indent)

    def _accumulate(self, position: int, function: str, value: str, span: Span) -> None:
        slot = f"acc[{position}]"
        statements = {
            "sum": [f"{slot} = {slot} + {value}"],
            "count": [f"{slot} += 1"],
            "collect": [f"{slot}.append({value})"],
            "first": [f"if {slot} is None:", f"    {slot} = {value}"],
            "min": [f"_v = {value}", f"if {slot} is None or _v < {slot}:", f"    {slot} = _v"],
            "max": [f"_v = {value}", f"if {slot} is None or _v > {slot}:", f"    {slot} = _v"],
            "any": [f"{slot} = {slot} or {value}"],
            "all": [f"{slot} = {slot} and {value}"],
        }[function]
        for statement in statements:
            self.source.add(statement, span, 1)

    def module(self) -> Source:
        body = ModuleGen(self.plan, self.trace)
        generate_validators(body.source, self.plan)
        for mapping in self.plan.mappings:
            body.mapping(mapping)
        for rule in self.plan.rules:
            if isinstance(rule, GroupRuleIR):
                body.group_rule(rule)
            else:
                body.record_rule(rule)
        head = Source()
        head.add(f'"""Compiled from spec {self.plan.name} {self.plan.version}, '
                 f'spec version {self.plan.spec_version}. Generated: do not edit."""')
        head.add("# Names reachable from here: rt (the runtime), IDX (lookup indexes), "
                 "POLICY, RUN, OUT (where results go), K* constants.")
        head.add("Decimal = rt.D")
        head.add(f"SPEC_VERSION = {self.plan.spec_version!r}")
        for name, literal in body.source.constants.items():
            head.add(f"{name} = rt.D({literal!r})")
        head.lines += body.source.lines
        head.spans += body.source.spans
        return head


def generate(plan: Plan, trace: bool = False) -> Source:
    return ModuleGen(plan, trace).module()
