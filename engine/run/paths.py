"""Where a run reads and writes, confined.

Every file a run reads from its data folder is found by one resolver, `locate`: a relative
name, inside the data folder once symbolic links are resolved, a regular file that can be
opened. It may be absent only when it is optional: an entity's canonical `<entity>.jsonl`
always is, a manifest input only when it says `optional: true`. `input_files` resolves them
all before a record is read, so a run stops with every problem listed (E502).

A run's outputs go to a fresh staging folder inside `--out`, whose files then replace the
folder's contents, `run_summary.json` last: no file of an earlier run survives beside the
new ones. The folder must be absent, empty, or an earlier run's output (it holds
`run_summary.json`); any other folder is refused (E503) and left untouched, so a user's
files are never deleted.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from engine.errors import Collector, Diagnostic, RunError, Span
from engine.plan.model import Plan

SUMMARY = "run_summary.json"  # marks a folder as the output of a run
STAGING = ".billsync-staging-"  # a run's outputs before they replace the folder's contents


@dataclass(frozen=True)
class InputFile:
    """A file a run may read: its name in the data folder, whether it may be absent, and
    where the manifest declares it (None for an entity's canonical file)."""

    name: str
    optional: bool = True
    span: Span | None = None


class Refused(Exception):
    """A path a run must not use; the message says why, the hint what to do."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


Problem = tuple[str, Span, str | None]  # message, where, hint


# -- inputs ----------------------------------------------------------------------------------

def run_inputs(plan: Plan) -> list[InputFile]:
    """Every file a run may read: each read entity's canonical file, optional by nature, and
    each manifest input, required unless it says optional (the first declaration counts)."""
    declared: dict[str, InputFile] = {}
    for item in plan.inputs:
        declared.setdefault(item.file, InputFile(item.file, item.optional, item.span))
    canonical = [InputFile(f"{e.name}.jsonl") for e in plan.entities
                 if e.kind in ("reference", "event") and f"{e.name}.jsonl" not in declared]
    return [*canonical, *declared.values()]


def _relative(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if not name or "\x00" in name or path.is_absolute() or ".." in path.parts:
        raise Refused(f"{name!r} is not a path inside the data folder (absolute, or with '..')")
    return path


def _opened(path: Path) -> os.stat_result:
    """The status of the file at path, as opened for reading (without waiting on a pipe)."""
    handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        return os.fstat(handle)
    finally:
        os.close(handle)


def locate(root: Path, item: InputFile) -> Path | None:
    """The real path of one input inside root (a resolved folder); None when it is absent
    and optional. Refused when it is outside root, not a regular file, unreadable, or
    missing and required."""
    real = Path(os.path.realpath(root / _relative(item.name)))
    if not real.is_relative_to(root):
        raise Refused(f"{item.name!r} leads outside the data folder (a symbolic link)")
    try:
        mode = _opened(real).st_mode
    except FileNotFoundError:
        if item.optional:
            return None
        raise Refused(f"input file {item.name!r} is missing from the data folder",
                      "add it, or declare the input `optional: true` if it may be absent") \
            from None
    except OSError as error:
        raise Refused(f"{item.name!r} cannot be read: {error.strerror}") from None
    if stat.S_ISDIR(mode):
        raise Refused(f"{item.name!r} is a folder, not a file")
    if not stat.S_ISREG(mode):
        raise Refused(f"{item.name!r} is not a regular file (a pipe, socket or device)")
    return real


def _root(data_dir: Path) -> Path:
    root = Path(os.path.realpath(data_dir))
    if not root.is_dir():
        raise RunError(_diagnostics([("the data folder is missing or not a folder",
                                      _file_span(data_dir), None)]))
    return root


def _file_span(path: Path) -> Span:
    """A span naming a data file as a whole (line 0: no excerpt is read from it)."""
    return Span(str(path), 0, 0, 0, 0)


def _diagnostics(problems: list[Problem], code: str = "E502") -> list[Diagnostic]:
    collector = Collector()
    for message, span, hint in problems:
        collector.error(code, message, span, hint)
    return collector.diagnostics


def _problem(data_dir: Path, item: InputFile, refused: Refused) -> Problem:
    """A declared input's problem is shown at its manifest line, naming the data folder; a
    canonical file's at the file itself."""
    if item.span is not None:
        return f"{refused} ({data_dir})", item.span, refused.hint
    return str(refused), _file_span(data_dir / item.name), refused.hint


def input_files(plan: Plan, data_dir: Path) -> dict[str, Path | None]:
    """The real path of every file a run may read (None: optional and absent). A RunError
    (E502) lists every problem at once."""
    root = _root(data_dir)
    found: dict[str, Path | None] = {}
    problems: list[Problem] = []
    for item in run_inputs(plan):
        try:
            found[item.name] = locate(root, item)
        except Refused as refused:
            problems.append(_problem(data_dir, item, refused))
    if problems:
        raise RunError(_diagnostics(problems))
    return found


def data_file(data_dir: Path, name: str) -> Path | None:
    """One optional file of a data folder (reference data for a report), through the same
    resolver; None when absent, RunError (E502) when unsafe."""
    item = InputFile(name)
    try:
        return locate(_root(data_dir), item)
    except Refused as refused:
        raise RunError(_diagnostics([_problem(data_dir, item, refused)])) from None


# -- outputs ---------------------------------------------------------------------------------

def out_dir_problem(out_dir: Path, data_dir: Path | None = None) -> str | None:
    """Why out_dir cannot take a run's outputs, or None: it must be absent, empty, or an
    earlier run's output, and must not hold the data folder."""
    target = Path(os.path.realpath(out_dir))
    if data_dir is not None and Path(os.path.realpath(data_dir)).is_relative_to(target):
        return f"--out {out_dir} holds the data folder {data_dir}; choose another folder"
    if not target.exists():
        return None
    if not target.is_dir():
        return f"--out {out_dir} is not a folder"
    held = [p for p in target.iterdir() if not p.name.startswith(STAGING)]
    if held and not (target / SUMMARY).is_file():
        return (f"--out {out_dir} holds files but no {SUMMARY}: it is not the output of a "
                "run, and billsync replaces only that; choose a new or empty folder")
    return None


def check_out_dir(out_dir: Path, data_dir: Path | None = None) -> None:
    """RunError (E503) when out_dir cannot take a run's outputs (out_dir_problem)."""
    problem = out_dir_problem(out_dir, data_dir)
    if problem is not None:
        raise RunError(_diagnostics([(problem, _file_span(out_dir), None)], "E503"))


@contextlib.contextmanager
def replacing(out_dir: Path) -> Iterator[Path]:
    """A new, empty staging folder inside out_dir to write a run's outputs into. When the
    block ends without error, its files replace out_dir's contents; otherwise out_dir is
    left as it was. RunError (E503) before anything is written when out_dir is not to be
    replaced."""
    check_out_dir(out_dir)
    target = Path(os.path.realpath(out_dir))
    target.mkdir(parents=True, exist_ok=True)
    staging = target / f"{STAGING}{secrets.token_hex(6)}"
    staging.mkdir()
    try:
        yield staging
        _replace_contents(target, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _replace_contents(target: Path, staging: Path) -> None:
    """Remove everything of target but the staging folder and the run summary, move the
    staged files in, then the new summary over the old: the folder holds a run summary
    throughout, so an interrupted swap is still recognised as a run's output."""
    for entry in list(target.iterdir()):
        if entry != staging and entry.name != SUMMARY:
            _remove(entry)
    for entry in list(staging.iterdir()):
        if entry.name != SUMMARY:
            os.replace(entry, target / entry.name)
    if (staging / SUMMARY).exists():
        os.replace(staging / SUMMARY, target / SUMMARY)


def _remove(entry: Path) -> None:
    """A file, a symbolic link (never what it points to) or a folder with its contents."""
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry)
    else:
        entry.unlink()


def write_text(path: Path, text: str) -> None:
    """Write a file whole: a new file beside it, renamed over it. A symbolic link at that
    name is replaced, not followed; a reader never sees half a file."""
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
