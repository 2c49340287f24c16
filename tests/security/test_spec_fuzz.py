"""Fuzzing the spec: hostile text in every name, key, id, description and file-name position
of a small project ends in a diagnostic, or in a program that reaches only the closed table;
no hostile text ever runs."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine.testing import run_tests
from tests.security.allowlist import assert_closed
from tests.security.project import TIME_ENTRY

COSTED_ENTRY = TIME_ENTRY.replace('"status"', '"cost_amount": 10, "status"')

EXAMPLES = int(os.environ.get("BILLSYNC_FUZZ_EXAMPLES", "25"))
CANARY = Path(tempfile.gettempdir()) / "billsync-spec-fuzz-canary"
SHELL = f"__import__('os').system('touch {CANARY}')"
PAYLOADS = (
    f'x"""; {SHELL}; """', f"x'; {SHELL}; '", f"x\n{SHELL}\n", f"x)\n{SHELL}\n#",
    f"{{{SHELL}}}", f"__builtins__['__import__']('os').system('touch {CANARY}')",
    "__builtins__", "__class__", "rt", "rt.__builtins__", "POLICY", "RUN", "OUT", "IDX",
    "SPEC_VERSION", "out_emit", "v_x", "raw", "acc", "key", "value", "emitted", "K0",
    "check_time_entry", "rule_x", "rt_div", "f0", "ｘ", "x\u202e", "é", "a\x00b", "\x1b[31m",
    "a b", "a-b", "1a", "_x", "__x", "if", "let", "in", "None", "True", "lambda", "import",
    "{x}", "{{", "}", "${x}", "%s", "\\", "'", '"', "#", "&a", "*a", "!!python/object:os",
    "<<", "~", "-", "?", "@", "o:errorDetails", "x@odata.bind", "pse__Proj__c", "a" * 300,
    "9" * 5000, "", " ", "\t", "\r\n", "\ud800", "a\x00b", "\x85", "\u2028", "\ufeff",
)
HOSTILE = st.one_of(st.sampled_from(PAYLOADS), st.text(max_size=30),
                    st.sampled_from(PAYLOADS).flatmap(lambda p: st.text(max_size=5).map(
                        lambda t: p + t)))
DEFAULTS = {
    "manifest_name": "fuzz", "manifest_version": "1.0", "manifest_description": "d",
    "file_name": "rules", "pack": "probe", "pack_description": "d", "code": "PROBE_CODE",
    "code_description": "d", "rule_id": "probe", "rule_description": "d", "as": "entry",
    "let_key": "doubled", "require_key": "cost", "message": "no cost for {entry.id}",
    "stream": "probe_item", "stream_field": "worth", "exclude": "rejected",
    "group_id": "probe_group", "by_key": "line", "aggregate_key": "total",
    "vendor_entity": "probe_row", "vendor_field": "o:minutes", "mapping_id": "probe_in",
    "mapping_let": "mins", "test_name": "a case", "given_entity": "time_entry",
}


ESCAPED = [False]  # True: non-ASCII text written as \\uXXXX escapes (lone surrogates too)


def _expr(text: str) -> str:
    """text as a YAML double-quoted scalar (JSON strings are YAML): control characters
    always as escapes, other characters raw or, with ESCAPED, as escapes too."""
    return json.dumps(text, ensure_ascii=ESCAPED[0])


def _quoted_field(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _files(v: dict[str, str]) -> dict[str, str]:
    """The project's files, each hostile value quoted as YAML (JSON strings are YAML)."""
    q = _expr
    rules = f"""pack: {q(v['pack'])}
description: {q(v['pack_description'])}
exception_codes:
  {q(v['code'])}: {{owner: finance, description: {q(v['code_description'])}}}
rules:
  - id: {q(v['rule_id'])}
    description: {q(v['rule_description'])}
    for: time_entry
    as: {q(v['as'])}
    steps:
      - when: {q(v['as'] + ".status == 'rejected'")}
        exclude: {q(v['exclude'])}
      - let:
          {q(v['let_key'])}: {q(v['as'] + '.minutes * 2')}
      - require:
          {q(v['require_key'])}: {q(v['as'] + '.cost_amount')}
        else:
          exception: {{code: {q(v['code'])}, message: {q(v['message'])}}}
      - emit:
          {q(v['stream'])}:
            {q(v['stream_field'])}: {q(v['let_key'])}
            id: {q(v['as'] + '.id')}
        stop: true
  - id: {q(v['group_id'])}
    group: {q(v['stream'])}
    as: s
    by:
      {q(v['by_key'])}: "s.id"
    aggregate:
      {q(v['aggregate_key'])}: {q('sum(s.' + v['stream_field'] + ')')}
    emit:
      unbilled_item:
        id: {q(v['by_key'])}
        source_id: {q(v['by_key'])}
        source_entity: "'time_entry'"
        contract_line_id: "'none'"
        period: "'2025-01'"
        status: "'held'"
        minutes: {q(v['aggregate_key'])}
        reason: {q(repr(v['rule_description'])[:40])}
"""
    vendor = f"""entity: {q(v['vendor_entity'])}
kind: vendor
key: [id]
fields:
  id: string
  {q(v['vendor_field'])}: int
"""
    mapping = f"""mapping: {q(v['mapping_id'])}
vendor: probe
direction: inbound
source: {q(v['vendor_entity'])}
target: time_entry
let:
  {q(v['mapping_let'])}: {q('src.' + _quoted_field(v['vendor_field']))}
fields:
  id: src.id
  project_id: "'P1'"
  role: "'r'"
  work_date: date('2025-01-02')
  minutes: {q(v['mapping_let'])}
  billable: "true"
  status: "'approved'"
"""
    tests = f"""tests:
  - name: {q(v['test_name'])}
    given:
      {q(v['given_entity'])}: [{COSTED_ENTRY.strip()}]
    expect:
      unbilled_item: [{{id: "T1"}}]
"""
    return {f"{v['file_name']}.yaml": rules, "vendor.yaml": vendor, "mapping.yaml": mapping,
            "tests/cases.yaml": tests}


def _write(root: Path, values: dict[str, str]) -> Path | None:
    """The project in root; None when the file system refuses a name or the text (a raw
    lone surrogate cannot be written as UTF-8): nothing to check then."""
    manifest = (f"name: {_expr(values['manifest_name'])}\n"
                f"version: {_expr(values['manifest_version'])}\n"
                f"description: {_expr(values['manifest_description'])}\n"
                "spec_format: 1\npacks: [schemas/entities, ./spec]\ntests: [tests]\n")
    files = {Path("billsync.yaml"): manifest} | {
        Path("tests" if name.startswith("tests/") else "spec") / Path(name).name: text
        for name, text in _files(values).items()}
    for relative, text in files.items():
        path = root / relative
        try:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except (OSError, ValueError):
            return None
        if path.resolve().parent != path.parent.resolve():
            return None  # a name with a separator or '..': the test writes nothing there
    return root


def _exercise(project: Path) -> None:
    """check; and when the spec is clean: compile, allow-list walk, emitted source, a run
    and the spec tests."""
    build = engine.build(project)
    if build.plan is None:
        assert any(d.is_error for d in build.diagnostics)
        return
    program = engine.compile(build.plan)
    assert_closed(program)
    program.annotated_source()
    data = project / "data"
    data.mkdir()
    second = COSTED_ENTRY.replace('"T1"', '"T2"')
    (data / "time_entry.jsonl").write_text(TIME_ENTRY + second, encoding="utf-8")
    assert engine.run(program, data).reconciles
    assert build.project is not None
    run_tests(program, build.project.test_files)


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.dictionaries(st.sampled_from(sorted(DEFAULTS)), HOSTILE, min_size=1, max_size=3),
       st.booleans())
def test_hostile_text_anywhere_in_a_spec_never_runs(hostile: dict[str, str],
                                                    escaped: bool) -> None:
    """Hostile text in any name, key, id, description or file-name position, written raw or
    as YAML escapes: check reports a diagnostic or the generated module passes the
    allow-list, within a time bound, and the canary never appears."""
    ESCAPED[0] = escaped
    CANARY.unlink(missing_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="billsync-fuzz-") as folder:
        project = _write(Path(folder), {**DEFAULTS, **hostile})
        if project is not None:
            _exercise(project)
    assert time.monotonic() - started < 30
    assert not CANARY.exists()


def test_the_fuzzed_project_is_clean_without_hostile_text(tmp_path: Path) -> None:
    """The fuzzer's base project checks, compiles, runs and passes its spec test, so every
    hostile value is tried against a spec that would otherwise work."""
    project = _write(tmp_path, DEFAULTS)
    assert project is not None
    build = engine.build(project)
    assert build.plan is not None, [str(d) for d in build.diagnostics]
    program = engine.compile(build.plan)
    assert build.project is not None
    [case] = run_tests(program, build.project.test_files)
    assert case.failures == []
