"""The closed surface of generated code: the only names it may reach, and the check that a
generated tree reaches nothing else.

Generated code sees a fixed table of plain functions and constants (`TABLE`), the per-run
names the program binds before a run (`PER_RUN`), and what the module itself defines
(its functions, group tables and decimal constants). It has no builtins, no module object
and no attribute access: `verify` walks every generated tree and refuses any other node
kind or name, so a compiler bug cannot open a way out either.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Set
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from engine.compile import inputs, runtime
from engine.compile.pyast import CompileBug, nodes

PREFIX = "rt_"  # runtime functions are reached as rt_<name>
# The runtime functions generated code may call: the language's library, null handling,
# division, lookups, and the checks of input records.
RUNTIME_FUNCTIONS: tuple[Callable[..., Any], ...] = (
    runtime.round, runtime.round_minor, runtime.round_to, runtime.minor_units,
    runtime.minor_unit, runtime.money, runtime.abs, runtime.min, runtime.max,
    runtime.to_decimal, runtime.to_int, runtime.text, runtime.date, runtime.datetime,
    runtime.date_of, runtime.epoch_seconds, runtime.period, runtime.period_start,
    runtime.period_end, runtime.add_days, runtime.periods, runtime.days_between,
    runtime.concat, runtime.key, runtime.join, runtime.upper, runtime.lower, runtime.trim,
    runtime.length,
    runtime.replace, runtime.starts_with, runtime.coalesce, runtime.count, runtime.first,
    runtime.last, runtime.sum_list, runtime.sort, runtime.compact, runtime.zip_,
    runtime.sort_by, runtime.allocate, runtime.fill, runtime.scan, runtime.index,
    runtime.unwrap, runtime.absent, runtime.mul, runtime.div, runtime.lookup_one,
    runtime.lookup_all,
    inputs.invalid, inputs.as_string, inputs.as_int, inputs.as_decimal, inputs.as_bool,
    inputs.as_date, inputs.as_datetime, inputs.as_money, inputs.as_enum, inputs.as_list,
    inputs.at_least,
)
# Language function names that differ from their runtime function's name.
RENAMED = {"str": "text", "sum": "sum_list", "zip": "zip_"}
# Types the generated record checks test against, and three plain functions.
PLAIN: dict[str, Any] = {
    "type": type, "str": str, "int": int, "bool": bool, "dict": dict, "Decimal": Decimal,
    "len": len, "any": any, "all": all, "dict_get": dict.get,
}
TABLE: MappingProxyType[str, Any] = MappingProxyType({
    **{PREFIX + f.__name__: f for f in RUNTIME_FUNCTIONS}, **PLAIN})
# Bound by the program for each run: lookup indexes, policies, run parameters, the spec
# version, where results go (the sink) and, in trace mode, the tracer.
PER_RUN = frozenset({
    "IDX", "POLICY", "RUN", "SPEC_VERSION", "out_emit", "out_exception", "out_exclude",
    "trace_bind", "trace_member", "trace_element",
})


def runtime_function(language_name: str) -> str:
    """The table name of the runtime function implementing a language function."""
    found = PREFIX + RENAMED.get(language_name, language_name)
    if found not in TABLE:
        raise CompileBug(f"no runtime function for '{language_name}'")
    return found


# The node kinds a generated module is made of. No attribute access, import, class, global,
# try, with, yield, f-string or walrus can appear.
ALLOWED_NODES: frozenset[type[ast.AST]] = frozenset({
    ast.Module, ast.FunctionDef, ast.arguments, ast.arg, ast.Return, ast.Assign, ast.AugAssign,
    ast.If, ast.For, ast.Expr, ast.Pass, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Lambda,
    ast.IfExp, ast.Dict, ast.List, ast.Tuple, ast.ListComp, ast.GeneratorExp,
    ast.comprehension, ast.Compare, ast.Call, ast.keyword, ast.Constant, ast.Subscript,
    ast.Name, ast.Load, ast.Store, ast.And, ast.Or, ast.Add, ast.Sub, ast.USub,
    ast.Not, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.Is, ast.IsNot,
})
CONSTANT_TYPES = (str, int, bool, type(None))


def verify(module: ast.Module) -> None:
    """Refuse a generated tree that holds any node kind outside ALLOWED_NODES, a constant
    that is not text, a whole number, a truth value or None, a call of anything but a
    name or a `let` lambda, or a name that is neither in the table, nor bound per run,
    nor defined by the module, nor a local of the function that reads it."""
    defined: set[str] = set()
    functions: list[ast.FunctionDef] = []
    for statement in module.body:
        if isinstance(statement, ast.FunctionDef):
            defined.add(statement.name)
            functions.append(statement)
            continue
        if isinstance(statement, ast.Assign):
            defined |= {t.id for t in statement.targets if isinstance(t, ast.Name)}
        stray = _scope(statement, TABLE.keys())  # module level: reads only table names
        if stray:
            raise CompileBug(f"module-level code reads {sorted(stray)}")
    reachable = TABLE.keys() | PER_RUN | defined
    for name in defined:
        _bindable(name)
    for function in functions:
        loads = _scope(function, reachable)
        for name in loads - reachable:
            raise CompileBug(f"generated code reads '{name}', which is not reachable")


def _scope(root: ast.AST, reachable: Set[str]) -> set[str]:
    """Check every node under root; the names it reads that it does not bind itself."""
    loads: set[str] = set()
    bound: set[str] = set()
    for node in nodes(root):
        kind = type(node)
        if kind not in ALLOWED_NODES:
            raise CompileBug(f"generated code holds a {kind.__name__} node")
        if kind is ast.Name:
            assert isinstance(node, ast.Name)
            if isinstance(node.ctx, ast.Store):
                bound.add(_bindable(node.id))
            elif node.id not in reachable:
                loads.add(node.id)
        elif kind is ast.arg:
            assert isinstance(node, ast.arg)
            bound.add(_bindable(node.arg))
        elif kind is ast.Constant:
            assert isinstance(node, ast.Constant)
            if not isinstance(node.value, CONSTANT_TYPES):
                raise CompileBug(f"generated code holds a constant of type "
                                 f"{type(node.value).__name__}")
        elif kind is ast.Call:
            assert isinstance(node, ast.Call)
            if not isinstance(node.func, (ast.Name, ast.Lambda)):
                raise CompileBug("generated code calls something that is not a named function")
    return loads - bound


def _bindable(name: str) -> str:
    if name.startswith("__") or name in TABLE or name in PER_RUN:
        raise CompileBug(f"generated code binds '{name}', a reserved name")
    return name
