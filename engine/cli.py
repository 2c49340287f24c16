"""The `billsync` command line. Verbs: check, plan, compile, run, explain, ledger, wip, test,
lineage, graph, schemas. Exit codes: 0 success, 1 problems found (errors, failed tests),
2 bad usage."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

import engine
from engine import explain as explain_view
from engine import ledger as ledger_export
from engine import lineage as lineage_view
from engine import wip as wip_report
from engine.errors import BillsyncError, Diagnostic, RunError
from engine.escape import printable
from engine.render import counts, render
from engine.report import add_row, amount, cell, print_summary
from engine.run import paths
from engine.spec import jsonschema
from engine.testing import run_tests

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="billsync: delivery to billing, from a YAML spec.")
out = Console(highlight=False, emoji=False, soft_wrap=True,
              width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)

ProjectArg = Annotated[Path, typer.Argument(help="The project folder (holds billsync.yaml).")]
PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
RUN_INPUTS = "run_inputs.json"


def _version(shown: bool) -> None:
    """--version: the installed distribution's version, then exit."""
    if shown:
        try:
            version = importlib.metadata.version("billsync")
        except importlib.metadata.PackageNotFoundError:  # run from a checkout, uninstalled
            version = "unknown (not installed)"
        out.print(f"billsync {version}", markup=False)
        raise typer.Exit()


@app.callback()
def _options(version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True,
        help="Print the version and exit.")] = False) -> None:
    """billsync: delivery to billing, from a YAML spec."""


class Format(StrEnum):
    text = "text"
    json = "json"
    github = "github"


class GraphFormat(StrEnum):
    dot = "dot"
    mermaid = "mermaid"


def _print_diagnostics(diagnostics: list[Diagnostic], fmt: Format = Format.text) -> None:
    if not diagnostics:
        return
    target = out if fmt is not Format.text else err
    target.print(render(diagnostics, fmt.value), markup=False)


def _stopped(error: RunError) -> NoReturn:
    """Print why a run (or a report over one) cannot go on; exit 2 for an --out folder
    that is not to be replaced (bad usage), 1 for inputs that are missing or unsafe."""
    _print_diagnostics(error.diagnostics)
    err.print(f"stopped: {counts(error.diagnostics)}", markup=False)
    raise typer.Exit(2 if any(d.code == "E503" for d in error.diagnostics) else 1)


def _plan(project: Path) -> engine.Plan:
    """The Plan, or print every diagnostic and exit 1."""
    result = engine.build(project)
    if result.plan is None:
        _print_diagnostics(result.diagnostics)
        err.print(counts(result.diagnostics), markup=False)
        raise typer.Exit(1)
    return result.plan


@app.command()
def check(project: ProjectArg,
          format: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.text,
          ) -> None:
    """Load and check the spec; print every diagnostic; exit 1 on errors."""
    result = engine.build(project)
    _print_diagnostics(result.diagnostics, format)
    if format is Format.text:
        verdict = "ok" if result.plan is not None else "failed"
        version = f", spec version {result.plan.spec_version}" if result.plan else ""
        err.print(f"check {verdict}: {counts(result.diagnostics)}{version}", markup=False)
    if result.plan is None:
        raise typer.Exit(1)


@app.command()
def plan(project: ProjectArg,
         as_json: Annotated[bool, typer.Option("--json", help="Print the whole Plan.")] = False,
         ) -> None:
    """Show the Plan: its spec version, entities, mappings and rules in order."""
    result = _plan(project)
    if as_json:
        out.print(json.dumps(result.to_json(), indent=2, default=str), markup=False)
        return
    out.print(f"{result.name} {result.version}  spec version {result.spec_version}", markup=False)
    out.print(f"entities: {len(result.entities)}  mappings: {len(result.mappings)}  "
              f"rules: {len(result.rules)}  lookups: {len(result.lookups)}", markup=False)
    for rule in result.rules:
        out.print(f"  rule {rule.id:<28} {rule.input} -> {', '.join(rule.emits_to)}", markup=False)


@app.command(name="compile")
def compile_(project: ProjectArg,
             emit_python: Annotated[bool, typer.Option("--emit-python",
                                                       help="Print the generated Python.")] = False,
             ) -> None:
    """Compile the Plan to Python; with --emit-python, print it with its YAML origins."""
    program = engine.compile(_plan(project))
    if emit_python:
        out.print(program.annotated_source(), markup=False, end="")
    else:
        out.print(f"compiled {len(program.source.lines)} lines, spec version "
                  f"{program.plan.spec_version}", markup=False)


@app.command()
def run(project: ProjectArg,
        data: Annotated[Path, typer.Option(help="Folder of input JSONL files.")],
        out_dir: Annotated[Path, typer.Option("--out", help="Folder for output files.")],
        through: Annotated[str | None, typer.Option(help="Last period to close, YYYY-MM.")] = None,
        issued: Annotated[Path | None, typer.Option(
            help="An earlier run's --out folder: its periods are issued. Its documents are "
            "carried unchanged; what changed since becomes corrections.")] = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
        ) -> None:
    """Run the compiled spec over input files and write one JSONL file per output. The
    outputs replace those of an earlier run in --out; a folder that holds anything else is
    refused. Every input is checked before a record is read. With --issued, the run
    continues that run's books: it writes them complete, through --through."""
    if through is not None and not PERIOD.match(through):
        err.print(f"--through must be a period YYYY-MM, got {through!r}", markup=False)
        raise typer.Exit(2)
    if not data.is_dir():
        err.print(f"--data {data}: no such folder", markup=False)
        raise typer.Exit(2)
    if issued is not None and issued.resolve() == out_dir.resolve():
        err.print("--out must be a new folder, not the --issued one: issued books are kept "
                  "as they are", markup=False)
        raise typer.Exit(2)
    try:
        paths.check_out_dir(out_dir, data)
        plan = _plan(project)
        result = engine.run(engine.compile(plan), data, out_dir, through, issued)
    except RunError as stopped:
        _stopped(stopped)
    # Where this run's inputs were, for `billsync explain OUT_DIR` (machine-specific paths).
    paths.write_text(out_dir / RUN_INPUTS, json.dumps(
        {"project": str(project.resolve()), "data": str(data.resolve()),
         "through": result.through, "issued": str(issued.resolve()) if issued else None},
        indent=2) + "\n")
    if not quiet:
        if result.derived_through:
            out.print(f"no --through: closing through {result.through}, the period of the "
                      "latest dated input record", markup=False)
        print_summary(result, out)
        out.print(f"wrote {len(result.files)} files to {out_dir}", markup=False)
    if not result.reconciles:
        raise typer.Exit(1)


@app.command()
def explain(out_dir: Annotated[Path, typer.Argument(help="The output folder of a run.")],
            entity: Annotated[str, typer.Argument(help="An output entity, e.g. invoice_line.")],
            record_id: Annotated[str, typer.Argument(metavar="ID", help="The record's id.")],
            project: Annotated[Path | None, typer.Option(
                help="The project (default: the run's).")] = None,
            data: Annotated[Path | None, typer.Option(
                help="The input folder (default: the run's).")] = None,
            as_json: Annotated[bool, typer.Option("--json", help="The derivation as JSON.")]
            = False) -> None:
    """How an output record was derived: the input records it came from, every rule applied,
    and each intermediate value with the YAML line that computed it."""
    summary, inputs = _run_inputs(out_dir)
    project = project or (Path(inputs["project"]) if "project" in inputs else None)
    data = data or (Path(inputs["data"]) if "data" in inputs else None)
    if project is None or data is None:
        err.print("give --project and --data: this run did not record them", markup=False)
        raise typer.Exit(2)
    plan = _plan(project)
    if plan.spec_version != summary.get("spec_version"):
        err.print(f"the spec changed since this run ({summary.get('spec_version')}, now "
                  f"{plan.spec_version}); run it again, then explain", markup=False)
        raise typer.Exit(1)
    try:
        issued = inputs.get("issued")
        step = explain_view.explain(plan, data, summary.get("through"), entity, record_id,
                                    Path(issued) if isinstance(issued, str) else None)
    except explain_view.ExplainError as problem:
        err.print(str(problem), markup=False)
        raise typer.Exit(1) from None
    except RunError as stopped:
        _stopped(stopped)
    out.print(explain_view.to_json(step) if as_json else explain_view.render(step),
              markup=False, end="")


@app.command()
def ledger(out_dir: Annotated[Path, typer.Argument(help="The output folder of a run.")],
           target: Annotated[Path | None, typer.Option(
               "--out", help="Where to write (default: OUT_DIR/ledger.beancount).")] = None,
           check: Annotated[bool, typer.Option(
               help="Load it with Beancount and report any error it finds.")] = False) -> None:
    """Export the run's journal entries to a Beancount ledger, with the period-end balances
    as balance assertions."""
    if not (out_dir / "journal_entry.jsonl").exists():
        err.print(f"{out_dir}: no journal_entry.jsonl (not the output folder of a run)",
                  markup=False)
        raise typer.Exit(2)
    try:
        path = ledger_export.export(out_dir, target)
    except ledger_export.LedgerError as problem:
        err.print(str(problem), markup=False)
        raise typer.Exit(1) from None
    out.print(f"wrote {path}", markup=False)
    if check:
        try:
            found = ledger_export.check(path)
        except ledger_export.LedgerError as missing:
            err.print(str(missing), markup=False)
            raise typer.Exit(2) from None
        for line in found:
            out.print(line, markup=False)
        out.print(f"beancount: {len(found)} error(s)", markup=False)
        if found:
            raise typer.Exit(1)


def _run_inputs(out_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The run summary and recorded inputs of an output folder, or exit 2."""
    try:
        summary = json.loads((out_dir / "run_summary.json").read_text(encoding="utf-8"))
        inputs = json.loads((out_dir / RUN_INPUTS).read_text(encoding="utf-8")) \
            if (out_dir / RUN_INPUTS).exists() else {}
    except (OSError, ValueError) as problem:  # ValueError: not JSON, not UTF-8
        err.print(f"{out_dir}: not the output folder of a run ({problem})", markup=False)
        raise typer.Exit(2) from None
    if not _fits(summary, inputs):
        err.print(f"{out_dir}: not the output folder of a run (its run_summary.json or "
                  f"{RUN_INPUTS} is not what a run writes)", markup=False)
        raise typer.Exit(2)
    return summary, inputs


def _fits(summary: Any, inputs: Any) -> bool:
    """A run summary and recorded inputs as a run writes them: objects, a period or none
    for through, text or none for the project and data folders."""
    if not isinstance(summary, dict) or not isinstance(inputs, dict):
        return False
    through = summary.get("through")
    period = through is None or (isinstance(through, str) and PERIOD.match(through) is not None)
    return period and all(isinstance(inputs.get(key), str | None) for key in ("project", "data"))


@app.command()
def wip(out_dir: Annotated[Path, typer.Argument(help="The output folder of a run.")],
        by: Annotated[str, typer.Option(
            help=f"Dimensions, comma-separated, from: {', '.join(wip_report.DIMENSIONS)}.")]
        = "status,customer,currency",
        csv_path: Annotated[Path | None, typer.Option(
            "--csv", help="Where to write every item as CSV (default: OUT_DIR/wip.csv).")] = None,
        data: Annotated[Path | None, typer.Option(
            help="The input folder, for customers and projects (default: the run's).")] = None,
        ) -> None:
    """Unbilled work in progress: items, hours and amount at rate by status, reason, age,
    contract line, customer, practice, region or legal entity; every item as CSV."""
    dimensions = tuple(d.strip() for d in by.split(",") if d.strip())
    unknown = [d for d in dimensions if d not in wip_report.DIMENSIONS]
    if unknown or not dimensions:
        err.print(f"--by: unknown dimension(s) {', '.join(unknown) or '(none given)'}; "
                  f"choose from {', '.join(wip_report.DIMENSIONS)}", markup=False)
        raise typer.Exit(2)
    if "currency" not in dimensions:  # amounts of different currencies never add up
        dimensions = (*dimensions, "currency")
    summary, inputs = _run_inputs(out_dir)
    data = data or (Path(inputs["data"]) if inputs.get("data") else None)
    try:
        rows = wip_report.items(out_dir, data, summary.get("through"))
    except RunError as stopped:
        _stopped(stopped)
    table = Table(title=cell(f"Unbilled work in progress at the close of "
                             f"{summary.get('through')}"))
    for column in (*dimensions, "items", "hours", "amount at rate"):
        table.add_column(column, justify="right" if column in ("items", "hours", "amount at rate")
                         else "left")
    for group in wip_report.summarise(rows, dimensions):
        add_row(table, *group.key, group.items, amount(group.hours), amount(group.amount))
    out.print(table)
    target = csv_path or out_dir / "wip.csv"
    try:
        paths.write_text(target, wip_report.to_csv(rows))
    except OSError as problem:
        err.print(f"cannot write {target}: {problem.strerror}", markup=False)
        raise typer.Exit(2) from None
    out.print(f"wrote {len(rows)} items to {target}", markup=False)


@app.command()
def test(project: ProjectArg) -> None:
    """Run the spec's given/expect cases; print a field-level diff for each failure."""
    result = engine.build(project)
    if result.plan is None or result.project is None:
        _print_diagnostics(result.diagnostics)
        raise typer.Exit(1)
    program = engine.compile(result.plan)
    cases = run_tests(program, result.project.test_files)
    for case in cases:
        mark = "PASS" if case.passed else "FAIL"
        out.print(f"{mark} {printable(f'{case.file}:{case.line} {case.name}')}", markup=False)
        for failure in case.failures:
            out.print("  " + "\n  ".join(printable(line) for line in failure.splitlines()),
                      markup=False)
    failed = sum(1 for c in cases if not c.passed)
    out.print(f"{len(cases) - failed} passed, {failed} failed", markup=False)
    if failed or not cases:
        if not cases:
            err.print("no spec test cases found", markup=False)
        raise typer.Exit(1)


@app.command()
def lineage(project: ProjectArg,
            field: Annotated[str, typer.Argument(help="An output field, e.g. invoice_line.amount")],
            ) -> None:
    """Print the source fields and rules that feed a field."""
    text = lineage_view.lineage(_plan(project), field)
    if text is None:
        err.print(f"no field '{field}' in the graph (use entity.field)", markup=False)
        raise typer.Exit(1)
    out.print(text, markup=False)


@app.command()
def graph(project: ProjectArg,
          format: Annotated[GraphFormat, typer.Option("--format")] = GraphFormat.dot,
          fields: Annotated[bool, typer.Option("--fields", help="Field-level graph.")] = False,
          ) -> None:
    """Write the dependency graph as DOT or Mermaid."""
    result = _plan(project)
    render_graph = lineage_view.to_dot if format is GraphFormat.dot else lineage_view.to_mermaid
    out.print(render_graph(result, fields), markup=False, end="")


@app.command()
def schemas(project: Annotated[Path, typer.Argument(help="A project using the shipped packs.")
                               ] = Path("examples/standard"),
            write: Annotated[Path | None, typer.Option(help="Write the schemas here.")] = None,
            check: Annotated[Path | None, typer.Option(help="Exit 1 if these are stale.")] = None,
            ) -> None:
    """Generate the JSON Schemas of spec files and canonical records."""
    entities = _plan(project).entities
    if write is not None:
        for path in jsonschema.write_all(entities, write):
            out.print(f"wrote {path}", markup=False)
    if check is not None:
        stale = jsonschema.stale(entities, check)
        for name in stale:
            err.print(f"stale: {check / name} (run make schemas)", markup=False)
        if stale:
            raise typer.Exit(1)


def main() -> None:
    try:
        app()
    except BillsyncError as error:
        _print_diagnostics(error.diagnostics)
        sys.exit(1)
    except Exception as error:  # a fault of billsync itself, never of the input
        if os.environ.get("BILLSYNC_DEBUG"):
            raise
        err.print(f"billsync: internal error ({printable(str(error))[:200]}). "
                  "This is a bug of billsync, not of your "
                  "spec or records: please report it (see SECURITY.md); set BILLSYNC_DEBUG=1 "
                  "to see where it happened.", markup=False)
        sys.exit(70)


if __name__ == "__main__":
    main()
