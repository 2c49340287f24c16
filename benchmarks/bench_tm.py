"""Benchmark: Harvest NDJSON bytes -> mapping -> time-and-materials pricing -> outputs.

    python benchmarks/bench_tm.py --entries 1000000

Generates deterministic Harvest data, then runs the compiled spec and the hand-written
baseline (benchmarks/handwritten.py) on it, each in its own process, and prints records
per second, peak RSS, and the engine/baseline throughput ratio measured in this same run
(absolute times mean little on a shared machine; the ratio is the figure to watch). Both
produce invoices; the benchmark checks that their totals agree.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_RSS_MB = 300
TARGET_RATIO = 0.8


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_engine(data: Path, out: Path) -> dict[str, float]:
    import engine

    program = engine.compile(engine.plan(ROOT / "benchmarks" / "project"))
    start = time.perf_counter()
    result = engine.run(program, data, out, through="2025-03")
    seconds = time.perf_counter() - start
    assert result.reconciles
    return {"seconds": seconds, "peak_rss_mb": _peak_rss_mb()}


def child_handwritten(data: Path, out: Path) -> dict[str, float]:
    from benchmarks import handwritten

    start = time.perf_counter()
    handwritten.run(data, out, "2025-03")
    return {"seconds": time.perf_counter() - start, "peak_rss_mb": _peak_rss_mb()}


def measure(which: str, data: Path, out: Path) -> dict[str, float]:
    output = subprocess.run([sys.executable, __file__, "--child", which, str(data), str(out)],
                            check=True, capture_output=True, text=True).stdout
    figures: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return figures


def invoice_totals(out: Path) -> dict[str, Decimal]:
    lines = (out / "invoice.jsonl").read_text().splitlines()
    return {r["id"]: Decimal(r["total"]) for r in map(json.loads, lines)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--child", nargs=3, metavar=("WHICH", "DATA", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        which, data, out = args.child
        run = child_engine if which == "engine" else child_handwritten
        print(json.dumps(run(Path(data), Path(out))))
        return
    from benchmarks.datagen import reference_data, write_harvest

    with tempfile.TemporaryDirectory(prefix="billsync-bench-") as folder:
        data = Path(folder) / "data"
        data.mkdir()
        for entity, rows in reference_data().items():
            (data / f"{entity}.jsonl").write_text("".join(
                json.dumps({k: v for k, v in r.items() if v is not None}) + "\n" for r in rows))
        start = time.perf_counter()
        write_harvest(data / "harvest_time_entries.jsonl", args.entries, args.seed)
        size = (data / "harvest_time_entries.jsonl").stat().st_size
        print(f"generated {args.entries:,} Harvest entries ({size / 1e6:,.0f} MB) in "
              f"{time.perf_counter() - start:.1f} s")
        baseline = measure("handwritten", data, Path(folder) / "out-hand")
        compiled = measure("engine", data, Path(folder) / "out-engine")
        agree = invoice_totals(Path(folder) / "out-hand") == invoice_totals(
            Path(folder) / "out-engine")
    ratio = baseline["seconds"] / compiled["seconds"]
    print(f"{'':<22}{'records/s':>12}{'seconds':>10}{'peak RSS MB':>14}")
    for name, figures in (("hand-written loop", baseline), ("billsync (compiled)", compiled)):
        rate = args.entries / figures["seconds"]
        print(f"{name:<22}{rate:>12,.0f}{figures['seconds']:>10.1f}{figures['peak_rss_mb']:>14.0f}")
    print(f"throughput ratio billsync / hand-written: {ratio:.2f} (target >= {TARGET_RATIO})")
    print(f"billsync peak RSS: {compiled['peak_rss_mb']:.0f} MB (target < {TARGET_RSS_MB} MB)")
    print(f"invoice totals agree with the baseline: {'yes' if agree else 'NO'}")
    if not agree:
        sys.exit(1)


if __name__ == "__main__":
    main()
