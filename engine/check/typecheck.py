"""Static types of expressions, checked against the catalogue before anything runs.

The checker records the type of every node (codegen reads it), the fields each expression
reads (the graph and lineage are built from them) and the lookups it makes (the runtime
builds one index per lookup key).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from engine.check import functions as fn
from engine.check.catalog import Catalog
from engine.check.types import (
    ANY,
    BOOL,
    DATE,
    DATETIME,
    DECIMAL,
    INT,
    MONEY,
    NULL,
    STRING,
    EnumT,
    FuncT,
    ListT,
    OptionalT,
    Prim,
    RecordT,
    Type,
    assignable,
    base_kind,
    is_optional,
    join,
    optional,
    unwrap,
)
from engine.errors import Collector, did_you_mean
from engine.load import ast

ORDERED = (INT, DECIMAL, DATE, DATETIME, STRING, MONEY)


@dataclass(frozen=True)
class Lookup:
    """A lookup the runtime must index: entity, key fields, whether dated by `at`."""

    entity: str
    keys: tuple[str, ...]
    dated: bool


@dataclass
class Scope:
    names: dict[str, Type]
    aggregate: bool = False

    def bind(self, **more: Type) -> Scope:
        return Scope({**self.names, **more}, self.aggregate)


@dataclass
class Usage:
    """What one checked expression reads."""

    fields: set[tuple[str, str]] = field(default_factory=set)
    names: set[str] = field(default_factory=set)


class Checker:
    def __init__(self, catalog: Catalog, collector: Collector) -> None:
        self.catalog = catalog
        self.collector = collector
        self.types: dict[ast.Node, Type] = {}
        self.lookups: set[Lookup] = set()
        self.usage = Usage()

    # -- entry points -------------------------------------------------------------------

    def check(self, node: ast.Node, scope: Scope, expected: Type | None = None) -> Type:
        """Type an expression; with `expected`, also report a mismatch against it."""
        found = self._type(node, scope)
        if expected is not None and not assignable(found, expected):
            self._mismatch(node, found, expected)
        return found

    def take_usage(self) -> Usage:
        usage, self.usage = self.usage, Usage()
        return usage

    # -- helpers ------------------------------------------------------------------------

    def _err(self, code: str, message: str, node: ast.Node, hint: str | None = None) -> Type:
        self.collector.error(code, message, node.span, hint)
        return ANY

    def mismatch(self, node: ast.Node, found: Type, expected: Type, field: str) -> None:
        """Report that a record's field written at `node` does not fit the target's."""
        self._mismatch(node, found, expected, f"field '{field}': ")

    def _mismatch(self, node: ast.Node, found: Type, expected: Type, what: str = "") -> None:
        if is_optional(found) and assignable(unwrap(found), expected):
            self._err("E206", f"{what}value may be absent ({found.name}) where {expected.name} "
                      "is required", node,
                      hint="handle absence with '?? default' or assert with '!'")
        elif isinstance(enum := unwrap(expected), EnumT) and unwrap(found) == STRING and (
                leaves := string_leaves(node)):
            for leaf in leaves:
                self._enum_member(leaf, enum)
        else:
            self._err("E205", f"{what}expected {expected.name}, found {found.name}", node)

    def _enum_member(self, node: ast.Literal, enum: EnumT) -> bool:
        if node.value in enum.values:
            return True
        self._err("E207", f"'{node.value}' is not one of {', '.join(enum.values)}", node,
                  did_you_mean(str(node.value), enum.values))
        return False

    def _type(self, node: ast.Node, scope: Scope) -> Type:
        result = self._infer(node, scope)
        self.types[node] = result
        return result

    # -- inference ----------------------------------------------------------------------

    def _infer(self, node: ast.Node, scope: Scope) -> Type:
        match node:
            case ast.Literal(value=value):
                return _literal_type(value)
            case ast.Name(name=name):
                return self._name(node, name, scope)
            case ast.Field():
                return self._field(node, scope)
            case ast.Unwrap(target=target):
                inner = self._type(target, scope)
                if not is_optional(inner) and inner != ANY:
                    return self._err("E205", f"'!' applied to a value that is never absent "
                                     f"({inner.name})", node)
                return unwrap(inner)
            case ast.Index(target=target, index=index):
                seq = self._type(target, scope)
                self.check(index, scope, INT)
                item = fn.list_item(seq)
                return optional(item) if item else self._not_list(target, seq)
            case ast.Call():
                return self._call(node, scope)
            case ast.Unary(op=op, operand=operand):
                return self._unary(op, operand, scope)
            case ast.Binary():
                return self._binary(node, scope)
            case ast.Let(name=name, value=value, body=body):
                if name.startswith("__"):
                    return self._err("E209", f"'{name}' is not allowed: no dunder names", node)
                return self._type(body, scope.bind(**{name: self._type(value, scope)}))
            case ast.Cond(test=test, then=then, otherwise=otherwise):
                self.check(test, scope, BOOL)
                return self._join(node, self._type(then, scope), self._type(otherwise, scope))
            case ast.ListLit(items=items):
                return self._list(node, items, scope)
            case ast.RecordLit(fields=fields):
                self._unique_fields(fields)
                return RecordT("", tuple((k, self._literal_field(v, scope)) for k, v in fields))
            case ast.RecordUpdate():
                return self._update(node, scope)
            case ast.Template(parts=parts):
                for part in parts:
                    self._scalar(part, self._type(part, scope))
                return STRING
            case ast.Lambda():
                return self._err("E203", "a lambda (x => ...) is only allowed as a function "
                                 "argument", node)
        return self._err("E205", "unsupported expression", node)

    def _literal_field(self, node: ast.Node, scope: Scope) -> Type:
        """A record literal's field: text that can only be literals is an enum of them."""
        found = self._type(node, scope)
        leaves = string_leaves(node)
        if found == STRING and leaves:
            return EnumT(tuple(dict.fromkeys(str(leaf.value) for leaf in leaves)))
        return found

    def _update(self, node: ast.RecordUpdate, scope: Scope) -> Type:
        """A copy of a record with fields replaced or added (typed like a record literal's)."""
        base = self._type(node.target, scope)
        if base == ANY:
            return ANY
        if not isinstance(base, RecordT):
            hint = "bind it with `require:`, or use '!'" if is_optional(base) else None
            return self._err("E205", f"'with' needs a record, found {base.name}", node.target,
                             hint)
        fields = dict(base.fields)
        self._unique_fields(node.fields)
        for name, value in node.fields:
            fields[name] = self._literal_field(value, scope)
        return RecordT("", tuple(fields.items()))

    def _unique_fields(self, fields: tuple[tuple[str, ast.Node], ...]) -> None:
        """Rejects a field given twice in one record literal or `with`: one value would be
        typed and another one kept."""
        seen: set[str] = set()
        for name, value in fields:
            if name in seen:
                self._err("E208", f"field '{name}' is given twice in this record", value)
            seen.add(name)

    def _not_list(self, node: ast.Node, found: Type) -> Type:
        if found == ANY:
            return ANY
        return self._err("E205", f"expected a list, found {found.name}", node)

    def _scalar(self, node: ast.Node, found: Type) -> None:
        if isinstance(unwrap(found), (ListT, RecordT, FuncT)):
            self._err("E205", f"cannot turn {found.name} into text", node)
        elif is_optional(found):
            self._err("E206", f"value may be absent ({found.name})", node,
                      hint="handle absence with '?? default' or assert with '!'")

    def _join(self, node: ast.Node, a: Type, b: Type) -> Type:
        joined = join(a, b)
        if joined is None:
            return self._err("E205", f"branches have different types: {a.name} and {b.name}",
                             node)
        return joined

    def _list(self, node: ast.Node, items: tuple[ast.Node, ...], scope: Scope) -> Type:
        item: Type | None = None
        for element in items:
            found = self._type(element, scope)
            item = found if item is None else self._join(element, item, found)
        return ListT(item if item is not None else NULL)

    def _name(self, node: ast.Node, name: str, scope: Scope) -> Type:
        if name.startswith("__"):
            return self._err("E209", f"'{name}' is not allowed: no dunder names", node)
        if name in scope.names:
            self.usage.names.add(name)
            return scope.names[name]
        if name in fn.PYTHON_BUILTINS and name not in fn.FUNCTIONS:
            return self._err("E209", f"'{name}' is a Python builtin, not part of the expression "
                             "language", node)
        if self.catalog.get(name):
            return self._err("E201", f"'{name}' is an entity; read it with lookup({name}, ...)",
                             node)
        return self._err("E201", f"unknown name '{name}'", node,
                         did_you_mean(name, list(scope.names)))

    def _field(self, node: ast.Field, scope: Scope) -> Type:
        if node.name.startswith("__"):
            return self._err("E209", f"'.{node.name}' is not allowed: no dunder attribute access",
                             node)
        target = self._type(node.target, scope)
        if target == ANY:
            return ANY
        if isinstance(target, OptionalT):
            return self._err("E206", f"'{node.name}' read from a value that may be absent "
                             f"({target.name})", node,
                             hint="bind it with `require:`, or use '!' or '??'")
        if target == MONEY and node.name in ("amount", "currency"):
            return DECIMAL if node.name == "amount" else STRING
        if not isinstance(target, RecordT):
            return self._err("E204", f"{target.name} has no field '{node.name}'", node)
        found = target.field(node.name)
        if found is None:
            return self._err("E204", f"unknown field '{node.name}' of {target.name}", node,
                             did_you_mean(node.name, target.field_names))
        if target.label:
            self.usage.fields.add((target.label, node.name))
        return found

    def _unary(self, op: str, operand: ast.Node, scope: Scope) -> Type:
        if op == "not":
            self.check(operand, scope, BOOL)
            return BOOL
        found = self._type(operand, scope)
        if found not in (INT, DECIMAL, MONEY, ANY):
            return self._err("E205", f"cannot negate {found.name}", operand)
        return found

    def _binary(self, node: ast.Binary, scope: Scope) -> Type:
        op = node.op
        if op in ("and", "or"):
            self.check(node.left, scope, BOOL)
            self.check(node.right, scope, BOOL)
            return BOOL
        left = self._type(node.left, scope)
        right = self._type(node.right, scope)
        if op == "??":
            inner = unwrap(left)
            if isinstance(inner, EnumT) and isinstance(node.right, ast.Literal) and isinstance(
                    node.right.value, str):
                self._enum_member(node.right, inner)
                return inner
            if not is_optional(left) and left != ANY:
                self._err("E205", f"'??' applied to a value that is never absent ({left.name})",
                          node.left)
            return self._join(node, unwrap(left), right)
        if op == "in":
            return self._member(node, left, right)
        if op in ("==", "!="):
            return self._equality(node, left, right)
        if op in ("<", "<=", ">", ">="):
            return self._ordering(node, left, right)
        return self._arithmetic(node, left, right)

    def _member(self, node: ast.Binary, left: Type, right: Type) -> Type:
        item = fn.list_item(right)
        if item is None:
            self._not_list(node.right, right)
        elif isinstance(left, EnumT) and isinstance(node.right, ast.ListLit):
            for element in node.right.items:
                if isinstance(element, ast.Literal):
                    self._enum_member(element, left)
        elif join(left, item) is None:
            self._err("E205", f"cannot look for {left.name} in {right.name}", node)
        return BOOL

    def _equality(self, node: ast.Binary, left: Type, right: Type) -> Type:
        for enum, other in ((left, node.right), (right, node.left)):
            if isinstance(enum, EnumT) and isinstance(other, ast.Literal) and isinstance(
                other.value, str
            ):
                self._enum_member(other, enum)
                return BOOL
        if NULL in (left, right):
            return BOOL
        if join(base_kind(unwrap(left)), base_kind(unwrap(right))) is None and not (
            {unwrap(left), unwrap(right)} <= {INT, DECIMAL}
        ):
            self._err("E205", f"cannot compare {left.name} with {right.name}", node)
        return BOOL

    def _ordering(self, node: ast.Binary, left: Type, right: Type) -> Type:
        if ANY in (left, right):
            return BOOL
        if is_optional(left) or is_optional(right):
            return self._err("E206", "ordering compares a value that may be absent", node,
                             hint="handle absence with '?? default' or assert with '!'")
        both = {base_kind(left), base_kind(right)}
        if not (both <= {INT, DECIMAL} or (len(both) == 1 and both <= set(ORDERED))):
            self._err("E205", f"cannot order {left.name} and {right.name}", node)
        return BOOL

    def _arithmetic(self, node: ast.Binary, left: Type, right: Type) -> Type:
        op = node.op
        if ANY in (left, right):
            return ANY
        for side, found in ((node.left, left), (node.right, right)):
            if is_optional(found):
                return self._err("E206", f"arithmetic on a value that may be absent "
                                 f"({found.name})", side,
                                 hint="handle absence with '?? default' or assert with '!'")
        numbers = {INT, DECIMAL}
        if op == "+" and base_kind(left) == STRING and base_kind(right) == STRING:
            return STRING
        if left in numbers and right in numbers:
            return DECIMAL if op == "/" or DECIMAL in (left, right) else INT
        if left == MONEY and right == MONEY and op in ("+", "-"):
            return MONEY
        if left == MONEY and right in numbers and op in ("*", "/"):
            return MONEY
        if right == MONEY and left in numbers and op == "*":
            return MONEY
        return self._err("E205", f"cannot apply '{op}' to {left.name} and {right.name}", node)

    # -- calls --------------------------------------------------------------------------

    def _call(self, node: ast.Call, scope: Scope) -> Type:
        name = node.function
        if name.startswith("__") or (name in fn.PYTHON_BUILTINS and name not in fn.FUNCTIONS
                                     and name not in fn.LIST_FUNCTIONS + fn.AGGREGATES
                                     + fn.LOOKUP_FUNCTIONS):
            return self._err("E209", f"'{name}' is a Python builtin, not part of the expression "
                             "language", node)
        if scope.aggregate and name in fn.AGGREGATES:
            return self._aggregate(node, scope)
        if name in fn.LOOKUP_FUNCTIONS:
            return self._lookup(node, scope)
        if name in fn.LIST_FUNCTIONS:
            return self._list_call(node, scope)
        signature = fn.FUNCTIONS.get(name)
        if signature is None:
            known = [*fn.FUNCTIONS, *fn.LIST_FUNCTIONS, *fn.LOOKUP_FUNCTIONS]
            return self._err("E202", f"unknown function '{name}'", node, did_you_mean(name, known))
        return self._plain_call(node, signature, scope)

    def _arguments(self, node: ast.Call, params: list[str]) -> list[ast.Node] | None:
        """Positional and named arguments, in parameter order; None when they do not fit."""
        if len(node.args) > len(params):
            self._err("E203", f"{node.function}() takes {len(params)} argument(s), got "
                      f"{len(node.args) + len(node.named)}", node)
            return None
        placed: list[ast.Node | None] = [*node.args, *[None] * (len(params) - len(node.args))]
        for key, value in node.named:
            if key not in params:
                self._err("E203", f"{node.function}() has no parameter '{key}'", value,
                          did_you_mean(key, params))
                return None
            placed[params.index(key)] = value
        missing = [p for p, a in zip(params, placed, strict=True) if a is None]
        if missing:
            self._err("E203", f"{node.function}() is missing argument '{missing[0]}'", node)
            return None
        return [a for a in placed if a is not None]

    def _plain_call(self, node: ast.Call, signature: fn.Signature, scope: Scope) -> Type:
        if signature.variadic:
            if node.named or not node.args:
                return self._err("E203", f"{node.function}() takes one or more positional "
                                 "arguments", node)
            kind = signature.params[0][1]
            types = [self._type(arg, scope) for arg in node.args]
            for arg, found in zip(node.args, types, strict=True):
                if node.function != "coalesce":
                    self._expect_kind(arg, found, kind)
            return signature.result(types)
        args = self._arguments(node, [p for p, _ in signature.params])
        if args is None:
            return ANY
        types = []
        for (param, kind), arg in zip(signature.params, args, strict=True):
            found = self._type(arg, scope)
            types.append(found)
            if param == signature.mode_param:
                self._mode(arg, found, signature.modes)
            else:
                self._expect_kind(arg, found, kind)
        return signature.result(types)

    def _expect_kind(self, arg: ast.Node, found: Type, kind: str | Type) -> None:
        if not fn._accepts(kind, found):
            if is_optional(found) and fn._accepts(kind, unwrap(found)):
                self._err("E206", f"value may be absent ({found.name})", arg,
                          hint="handle absence with '?? default' or assert with '!'")
            else:
                self._err("E205", f"expected {fn.kind_name(kind)}, found {found.name}", arg)

    def _mode(self, arg: ast.Node, found: Type, modes: tuple[str, ...]) -> None:
        """A rounding mode is declared: a literal mode, or an enum field whose values are modes."""
        if isinstance(arg, ast.Literal) and isinstance(arg.value, str):
            if arg.value not in modes:
                self._err("E207", f"'{arg.value}' is not a rounding mode ({', '.join(modes)})",
                          arg, did_you_mean(arg.value, modes))
        elif isinstance(found, EnumT):
            bad = [v for v in found.values if v not in modes]
            if bad:
                self._err("E207", f"enum values {bad} are not rounding modes", arg)
        elif found != ANY:
            self._err("E205", "a rounding mode must be a literal like 'half_up' or an enum field",
                      arg)

    def _lambda(self, node: ast.Node, param: Type, scope: Scope) -> Type:
        if not isinstance(node, ast.Lambda):
            return self._err("E203", "expected a lambda like x => x.amount", node)
        if node.param in scope.names:
            return self._err("E208", f"lambda parameter '{node.param}' shadows a name", node)
        return self._type(node.body, scope.bind(**{node.param: param}))

    def _item_type(self, node: ast.Node, scope: Scope) -> Type | None:
        """The item type of a list argument; None, reported, when it is not a list."""
        seq = self._type(node, scope)
        item = fn.list_item(seq)
        if item is None:
            self._not_list(node, seq)
        return item

    def _positional(self, node: ast.Call, scope: Scope, count: int, usage: str) -> Type | None:
        """The item type of the first argument of a call taking `count` positional arguments;
        None, reported, when the call is malformed or that argument is not a list."""
        if node.named or len(node.args) != count:
            self._err("E203", usage, node)
            return None
        return self._item_type(node.args[0], scope)

    def _allocate(self, node: ast.Call, scope: Scope) -> Type:
        """allocate(items, x => weight, total, places): total split over the items in
        proportion to their weights by largest remainder; [{item, share}] in item order."""
        item = self._positional(node, scope, 4, "allocate() takes a list, a weight lambda "
                                "(x => ...), a total and the decimal places of the shares")
        if item is None:
            return ANY
        weight = self._lambda(node.args[1], item, scope)
        self._expect_kind(node.args[1], weight, fn.NUMBER)
        self._expect_kind(node.args[2], self._type(node.args[2], scope), fn.NUMBER)
        self.check(node.args[3], scope, INT)
        return ListT(RecordT("", (("item", item), ("share", DECIMAL))))

    def _fill(self, node: ast.Call, scope: Scope) -> Type:
        """fill(items, units: x => int, unit_value: x => number, bound: number or x => number,
        mode: literal [, batch: x => key] [, round_by: x => key, places: int] [, retry: x =>
        other terms or null] [, divisible: x => bool]): items taken in order against a bound;
        [{item, units, value, cost, retried, first_over}] in item order."""
        named = dict(node.named)
        required = ("units", "unit_value", "bound", "mode")
        optional_args = ("batch", "round_by", "places", "retry", "divisible")
        unknown = [k for k in named if k not in (*required, *optional_args)]
        missing = [k for k in required if k not in named]
        if len(node.args) != 1 or unknown or missing or (("round_by" in named) != (
                "places" in named)):
            return self._err("E203", "fill(items, units: x => ..., unit_value: x => ..., "
                             "bound: ..., mode: '...' [, batch: x => ...] [, round_by: x => ..., "
                             "places: ...] [, retry: x => ...] [, divisible: x => ...])", node)
        item = self._item_type(node.args[0], scope)
        if item is None:
            return ANY
        self._expect_kind(named["units"], self._lambda(named["units"], item, scope), INT)
        self._expect_kind(named["unit_value"], self._lambda(named["unit_value"], item, scope),
                          fn.NUMBER)
        bound = named["bound"]
        self._expect_kind(bound, self._lambda(bound, item, scope) if isinstance(
            bound, ast.Lambda) else self._type(bound, scope), fn.NUMBER)
        if "retry" in named:
            self._fill_retry(named["retry"], item, scope)
        self._fill_mode(named["mode"], self._type(named["mode"], scope))
        for key in ("batch", "round_by"):
            if key in named:
                self._scalar(named[key], self._lambda(named[key], item, scope))
        if "places" in named:
            self.check(named["places"], scope, INT)
        if "divisible" in named:
            self._expect_kind(named["divisible"],
                              self._lambda(named["divisible"], item, scope), BOOL)
        return ListT(RecordT("", (("item", item), ("units", INT), ("value", DECIMAL),
                                  ("cost", DECIMAL), ("retried", INT), ("first_over", BOOL))))

    def _fill_retry(self, node: ast.Node, item: Type, scope: Scope) -> None:
        """retry: x => {units, unit_value, bound, group} or null: other terms for an item
        (a null bound: none)."""
        found = unwrap(self._lambda(node, item, scope))
        wanted = (("units", INT), ("unit_value", fn.NUMBER), ("bound", fn.NUMBER))
        if found in (ANY, NULL):
            return
        if not isinstance(found, RecordT) or found.field("group") is None or any(
                found.field(name) is None or not fn._accepts(
                    kind, unwrap(found.field(name) or ANY) if name == "bound"
                    else found.field(name) or ANY)
                for name, kind in wanted):
            self._err("E205", "retry: gives {units: int, unit_value: number, bound: number "
                      f"or null, group: key}} or null, found {found.name}", node)

    def _scan(self, node: ast.Call, scope: Scope) -> Type:
        """scan(items, init, s => next): a fold; `s` is {acc, item}; the result lists the
        accumulator after each item."""
        item = self._positional(node, scope, 3, "scan() takes a list, an initial value and a "
                                "lambda s => ... over s.acc and s.item")
        if item is None:
            return ANY
        acc = self._type(node.args[1], scope)
        state = RecordT("", (("acc", acc), ("item", item)))
        result = self._lambda(node.args[2], state, scope)
        if not assignable(result, acc):
            self._err("E205", f"the lambda of scan() must give {acc.name} (like its initial "
                      f"value), gives {result.name}", node.args[2])
        return ListT(acc)

    def _zip(self, node: ast.Call, scope: Scope) -> Type:
        """zip(a, b): [{left, right}] pairing the items of two lists of the same length."""
        left = self._positional(node, scope, 2, "zip() takes two lists")
        if node.named or len(node.args) != 2:
            return ANY
        right = self._item_type(node.args[1], scope)  # reported too when the first is not a list
        if left is None or right is None:
            return ANY
        return ListT(RecordT("", (("left", left), ("right", right))))

    def _fill_mode(self, mode: ast.Node, found: Type) -> None:
        leaves = string_leaves(mode)
        if leaves is None and unwrap(found) not in (STRING, ANY):
            self._err("E205", "the mode of fill() is text: one of "
                      f"{', '.join(fn.FILL_MODES)}", mode)
        for leaf in leaves or []:
            if leaf.value not in fn.FILL_MODES:
                self._err("E207", f"'{leaf.value}' is not a fill mode ({', '.join(fn.FILL_MODES)})",
                          leaf, did_you_mean(str(leaf.value), fn.FILL_MODES))

    def _list_call(self, node: ast.Call, scope: Scope) -> Type:
        name = node.function
        if name == "allocate":
            return self._allocate(node, scope)
        if name == "fill":
            return self._fill(node, scope)
        if name == "scan":
            return self._scan(node, scope)
        if name == "zip":
            return self._zip(node, scope)
        takes_lambda = name in ("map", "filter", "any", "all", "sort_by")
        if node.named or len(node.args) != (2 if takes_lambda else 1):
            wants = "a list and a lambda" if takes_lambda else "one list"
            return self._err("E203", f"{name}() takes {wants}", node)
        seq = self._type(node.args[0], scope)
        item = fn.list_item(seq)
        if item is None:
            return self._not_list(node.args[0], seq)
        if takes_lambda:
            body = self._lambda(node.args[1], item, scope)
            if name == "map":
                return ListT(body)
            if name == "sort_by":
                if not isinstance(unwrap(body), (Prim, EnumT, ListT)) or body == MONEY:
                    self._err("E205", f"sort_by() needs a value to order by, found {body.name}",
                              node.args[1])
                return seq
            if not assignable(body, BOOL):
                self._err("E205", f"the lambda of {name}() must give bool, gives {body.name}",
                          node.args[1])
            return seq if name == "filter" else BOOL
        if name == "count":
            return INT
        if name in ("first", "last"):
            return optional(item)
        if name == "compact":
            return ListT(unwrap(item))
        if name == "sort":
            return seq
        if item not in (INT, DECIMAL, MONEY, NULL, ANY):
            return self._err("E205", f"sum() needs numbers, found {seq.name}", node.args[0])
        return DECIMAL if item == NULL else item

    def _aggregate(self, node: ast.Call, scope: Scope) -> Type:
        name = node.function
        inner = Scope(scope.names, aggregate=False)
        if name == "count":
            if node.args or node.named:
                return self._err("E203", "count() takes no arguments in an aggregate", node)
            return INT
        if len(node.args) != 1 or node.named:
            return self._err("E203", f"{name}() takes one argument in an aggregate", node)
        found = self._type(node.args[0], inner)
        if name == "collect":
            return ListT(found)
        if name == "first":
            return found
        if name in ("any", "all"):
            self._expect_kind(node.args[0], found, BOOL)
            return BOOL
        if name == "sum" and found not in (INT, DECIMAL, MONEY, ANY):
            return self._err("E205", f"sum() needs a number, found {found.name}", node.args[0])
        if found in (INT, DECIMAL, MONEY, DATE, DATETIME, STRING, ANY):
            return found
        return self._err("E205", f"{name}() needs an ordered value, found {found.name}",
                         node.args[0])

    def _lookup(self, node: ast.Call, scope: Scope) -> Type:
        if len(node.args) != 1 or not isinstance(node.args[0], ast.Name):
            return self._err("E203", f"{node.function}() takes an entity name, then key: value "
                             "pairs", node)
        entity_name = node.args[0].name
        entity = self.catalog.get(entity_name)
        if entity is None or entity.kind == "vendor":
            return self._err("E210", f"unknown entity '{entity_name}'", node.args[0],
                             did_you_mean(entity_name, list(self.catalog.entities)))
        keys: list[str] = []
        dated = False
        for key, value in node.named:
            found = self._type(value, scope)
            if key == "at":
                dated = True
                if entity.effective is None:
                    self._err("E203", f"{entity_name} is not effective-dated; drop 'at:'", value)
                self._expect_kind(value, found, DATE)
                continue
            expected = entity.record.field(key)
            if expected is None:
                self._err("E204", f"unknown field '{key}' of {entity_name}", value,
                          did_you_mean(key, entity.record.field_names))
                continue
            keys.append(key)
            self.usage.fields.add((entity_name, key))
            wanted = unwrap(expected)
            if isinstance(wanted, ListT) and assignable(found, wanted.item):
                continue  # a list field matches the rows whose list holds the value
            if not assignable(found, wanted):
                self._mismatch(value, found, wanted)
        if not keys:
            return self._err("E203", f"{node.function}() needs at least one key: value", node)
        if (entity.effective is not None and entity.effective.version and not dated
                and node.function == "lookup"):
            self._err("E203", f"{entity_name} has versions: give 'at:' to pick the one in force "
                      "(lookup_all without it lists every version)", node)
        self.lookups.add(Lookup(entity_name, tuple(keys), dated))
        self.usage.fields.add((entity_name, "*"))
        if node.function == "lookup_all":
            return ListT(entity.record)
        return optional(entity.record)


def string_leaves(node: ast.Node) -> list[ast.Literal] | None:
    """The string literals an expression can result in, if it only results in literals."""
    match node:
        case ast.Literal(value=str()):
            return [node]
        case ast.Cond(then=then, otherwise=otherwise):
            a, b = string_leaves(then), string_leaves(otherwise)
            return a + b if a is not None and b is not None else None
    return None


def _literal_type(value: object) -> Type:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, Decimal):
        return DECIMAL
    return STRING
