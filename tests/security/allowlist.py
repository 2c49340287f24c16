"""An allow-list walk of a generated module, written apart from the compiler's own check
(engine.compile.surface.verify), so that a bug in one is caught by the other."""

from __future__ import annotations

import ast
import re
import types

import engine
from engine.compile.surface import PER_RUN, TABLE

GENERATED_LOCALS = re.compile(r"(v_[A-Za-z][A-Za-z0-9_]*|f\d+|raw|value|item|key|acc|emitted)\Z")
FORBIDDEN = (ast.Attribute, ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal, ast.ClassDef,
             ast.Starred, ast.JoinedStr, ast.NamedExpr, ast.Try, ast.With, ast.Raise,
             ast.Yield, ast.Await, ast.Delete)


def assert_closed(program: engine.Program) -> None:
    """Every name the generated module reads is in the runtime table, bound per run, defined
    at module level, or a generated local; nothing reaches an attribute, an import, a module
    object or a builtin."""
    assert program.namespace["__builtins__"] == {}
    assert not any(isinstance(v, types.ModuleType) for v in program.namespace.values())
    tree = ast.parse(program.source.text)
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)} | {
        t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
        if isinstance(t, ast.Name)}
    reachable = set(TABLE) | PER_RUN | defined
    for node in ast.walk(tree):
        assert not isinstance(node, FORBIDDEN), ast.dump(node)[:200]
        if isinstance(node, ast.Name):
            assert node.id in reachable or GENERATED_LOCALS.match(node.id), node.id
            assert not node.id.startswith("__"), node.id
        if isinstance(node, ast.Call):
            assert isinstance(node.func, (ast.Name, ast.Lambda)), ast.dump(node)[:200]
        if isinstance(node, ast.Constant):
            assert isinstance(node.value, (str, int, bool, type(None))), repr(node.value)
