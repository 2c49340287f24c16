"""billsync: a YAML spec compiled into a program that turns delivery into billing.

The five stages, each a sub-package, each usable on its own:

    load -> check -> plan -> compile -> run

    >>> import engine
    >>> plan = engine.plan("examples/standard")          # load + check + plan
    >>> program = engine.compile(plan)
    >>> result = engine.run(program, "data/", through="2025-03")
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.check import check_project
from engine.compile import Program, compile_plan
from engine.errors import CheckError, Collector, Diagnostic, LoadError, PlanError
from engine.load.project import Project, load_project
from engine.plan.build import build_plan
from engine.plan.model import Plan
from engine.run.runner import Runner, RunResult, write_outputs

__version__ = "0.1.0"


def load(project_dir: str | Path) -> tuple[Project | None, list[Diagnostic]]:
    """Stage 1: read the manifest and every spec file it uses, with spans."""
    collector = Collector()
    project = load_project(Path(project_dir), collector)
    return project, collector.diagnostics


@dataclass(frozen=True)
class Build:
    """Stages 1-3 of a project: what was loaded, the Plan (None on errors), diagnostics."""

    project: Project | None
    plan: Plan | None
    diagnostics: list[Diagnostic]


def build(project_dir: str | Path) -> Build:
    """Stages 1-3: load, check and plan, collecting every diagnostic."""
    collector = Collector()
    project = load_project(Path(project_dir), collector)
    if project is None:
        return Build(None, None, collector.diagnostics)
    ctx = check_project(project, collector)
    if collector.has_errors:
        return Build(project, None, collector.diagnostics)
    result = build_plan(ctx, collector)
    return Build(project, None if collector.has_errors else result, collector.diagnostics)


def check(project_dir: str | Path) -> tuple[Plan | None, list[Diagnostic]]:
    """Stages 1-3: all diagnostics, and the Plan when there is no error."""
    result = build(project_dir)
    return result.plan, result.diagnostics


def plan(project_dir: str | Path) -> Plan:
    """The Plan of a project; raises CheckError with every diagnostic when it has errors."""
    result, diagnostics = check(project_dir)
    if result is None:
        errors = [d for d in diagnostics if d.is_error]
        stage = LoadError if any(d.code.startswith("E1") for d in errors) else \
            PlanError if any(d.code.startswith("E3") for d in errors) else CheckError
        raise stage(errors)
    return result


def compile(plan: Plan) -> Program:
    """Stage 4: generate and compile the Python program of a Plan."""
    return compile_plan(plan)


def run(program: Program, data_dir: str | Path, out_dir: str | Path | None = None,
        through: str | None = None, issued: str | Path | None = None) -> RunResult:
    """Stage 5: run a compiled program over a data folder; write outputs when out_dir given.
    With `issued` (an earlier run's output folder), that run's periods are issued: the run
    continues its books (engine/run/issued.py)."""
    result = Runner(program, Path(data_dir), through,
                    issued=None if issued is None else Path(issued)).run()
    if out_dir is not None:
        result.files = write_outputs(result, Path(out_dir))
    return result


__all__ = ["Build", "Plan", "Program", "RunResult", "build", "check", "compile", "load", "plan",
           "run"]
