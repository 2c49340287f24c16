"""The books an earlier run issued, continued by a later one (`billsync run --issued DIR`).

An output entity declared `issued: {period: ...}` holds issued documents (invoices, their
lines, revenue lines, journal entries, balances). A run given an earlier run's folder
treats that run's periods, through its close, as issued:

- its documents are carried into the new folder unchanged, byte for byte, merged in key
  order with the documents of the periods the new run opens (and its payload files ahead
  of the new payloads);
- rules read them through the `read_as` entity an output declares (kind `issued`), and
  `run.issued_through` is that run's close; a rule that emits a document into an issued
  period is refused record by record (ISSUED_PERIOD).

The folder is refused (E505) unless it is the output of a run of the same project whose
files still match the digests its run recorded; a different spec version is fine. The new
run must close after it (E506).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.compile.inputs import InvalidRecord
from engine.errors import Diagnostic, RunError, Severity, Span
from engine.plan.model import EntityIR, Plan
from engine.run.paths import SUMMARY
from engine.run.records import LineProblem, parse_line, raw_lines

Record = dict[str, Any]
Decode = Callable[[str, Any], Record]  # entity name, JSON value -> typed record
PAYLOADS = "payloads"


@dataclass(frozen=True)
class Document:
    """One issued record: its line exactly as written, and its typed values."""

    line: str
    record: Record


@dataclass
class IssuedRun:
    """What an earlier run issued: documents per output entity (in the order written, which
    is key order), payload lines per payload, and its close."""

    folder: Path
    through: str
    spec_version: str
    summary_digest: str  # of its run_summary.json, which holds the digests of its files
    documents: dict[str, list[Document]] = field(default_factory=dict)
    payloads: dict[str, list[str]] = field(default_factory=dict)

    def records(self, output: str) -> list[Record]:
        return [d.record for d in self.documents.get(output, ())]

    def summary(self) -> dict[str, Any]:
        """What a continuing run records of the books it continues: their close, spec
        version and summary digest (a chain of closes, each naming the one before; no path,
        so that outputs do not depend on where the folders are)."""
        return {"through": self.through, "spec_version": self.spec_version,
                "summary": self.summary_digest}


def digest(path: Path) -> str:
    """A file's SHA-256, as run summaries record it."""
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            hasher.update(chunk)
    return f"sha256:{hasher.hexdigest()}"


def _refused(folder: Path, message: str, hint: str | None = None, code: str = "E505"
             ) -> RunError:
    span = Span(str(folder), 0, 0, 0, 0)
    return RunError([Diagnostic(Severity.ERROR, code, message, span, hint)])


def _summary(folder: Path) -> dict[str, Any]:
    path = folder / SUMMARY
    if not folder.is_dir() or not path.is_file():
        raise _refused(folder, f"--issued {folder} is not the output folder of a run "
                       f"(no {SUMMARY})")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _refused(folder, f"{SUMMARY} of --issued {folder} cannot be read: {error}") \
            from None
    if not isinstance(summary, dict):
        raise _refused(folder, f"{SUMMARY} of --issued {folder} is not a run summary")
    return summary


def _verified_files(folder: Path, summary: dict[str, Any]) -> dict[str, str]:
    """The files the run wrote, each checked against the digest it recorded."""
    files = summary.get("files")
    if not isinstance(files, dict) or not files:
        raise _refused(folder, f"the run in {folder} recorded no digests of its files, so its "
                       "documents cannot be shown to be the ones it issued",
                       "run that period again with this version of billsync")
    edited = []
    for name, recorded in sorted(files.items()):
        path = folder / name
        if not _inside(folder, path) or not path.is_file():
            edited.append(f"{name} is missing")
        elif digest(path) != recorded:
            edited.append(f"{name} differs from what its run wrote")
    if edited:
        raise _refused(folder, f"the issued books in {folder} were edited: "
                       + "; ".join(edited), "issued documents never change: give the "
                       "folder as its run wrote it, and correct through a new run")
    return files


def _inside(folder: Path, path: Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Each line of a file the run wrote, exactly, without its newline; one longer than a
    record's bound, or not UTF-8, refuses the folder (a run never writes one)."""
    with path.open("rb") as handle:
        for number, raw in raw_lines(handle):
            try:
                if raw is None:
                    raise ValueError("a line longer than a record may be")
                yield number, raw.decode("utf-8").removesuffix("\n")
            except ValueError as error:
                raise _refused(path.parent, f"{path.name}:{number}: {error}") from None


def _documents(folder: Path, entity: EntityIR, through: str, decode: Decode
               ) -> list[Document]:
    """An output's issued records; refused when one no longer reads as the entity (a spec
    change that drops or retypes a field of an issued document), or lies after the close."""
    path = folder / f"{entity.name}.jsonl"
    if not path.is_file():
        return []
    found = []
    period_field = entity.issued_period
    assert period_field is not None
    for number, line in _lines(path):
        where = f"{entity.name}.jsonl:{number}"
        try:
            record = decode(entity.name, parse_line(line.encode("utf-8")))
        except (LineProblem, InvalidRecord) as error:
            reason = (f"field '{error.field}': {error.reason}"
                      if isinstance(error, InvalidRecord) else str(error))
            raise _refused(folder, f"{where} does not read as an issued {entity.name}: "
                           f"{reason}", "a spec version may change figures, never the "
                           "shape of an issued document") from None
        if not str(record[period_field]) <= through:
            raise _refused(folder, f"{where} is of period {record[period_field]}, after its "
                           f"run's close {through}")
        found.append(Document(line, record))
    return found


def load_issued(plan: Plan, folder: Path, decode: Decode) -> IssuedRun:
    """The issued books in folder, verified (E505), for a run of plan."""
    summary = _summary(folder)
    project, through = summary.get("project"), summary.get("through")
    if project != plan.name:
        raise _refused(folder, f"--issued {folder} holds the books of project {project!r}, "
                       f"not of {plan.name!r}")
    if not isinstance(through, str):
        raise _refused(folder, f"the run in {folder} records no close ('through')")
    files = _verified_files(folder, summary)
    issued = IssuedRun(folder, through, str(summary.get("spec_version")),
                       digest(folder / SUMMARY))
    for entity in plan.entities:
        if entity.issued_period is not None:
            issued.documents[entity.name] = _documents(folder, entity, through, decode)
    for name in sorted(files):
        parts = Path(name).parts
        if len(parts) == 2 and parts[0] == PAYLOADS and name.endswith(".jsonl"):
            issued.payloads[Path(name).stem] = [line for _, line in _lines(folder / name)]
    return issued


def check_close(issued: IssuedRun, through: str) -> None:
    """E506 unless the run closes after the issued run: it must open a period."""
    if through <= issued.through:
        raise _refused(issued.folder, f"the run closes through {through}, but the books in "
                       f"{issued.folder} are issued through {issued.through}: nothing is open",
                       "close a later period (--through)", code="E506")
