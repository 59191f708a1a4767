"""``python -m benchmarks [--runs N] [--only NAME] [--out DIR] [--agents 2,8,16] [--render]``.

Writes JSON, a markdown table and a PNG to DIR. With ``--only`` and the
published DIR, the cases run replace their own rows in the published results
and every other row is kept, so one case can be re-measured alone.

``--render`` measures nothing: it writes the table, the plot (and, for the published
results, the README block and the docs' plot) again from the JSON in ``--out``, for
when the report's presentation changes but the figures do not.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from . import cases, report
from .measure import compile_our_bytecode

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results"
README = ROOT / "README.md"
DOCS_PLOT = ROOT / "docs" / "assets" / "benchmarks.png"

CASES = {
    "cold_start": cases.cold_start,
    "memory": cases.peak_memory,
    "resolution": cases.resolution,
    "plugin_scaling": cases.plugin_scaling,
    "broken_plugin": cases.broken_plugin,
    "end_to_end": cases.end_to_end,
    "bad_input": cases.bad_input,
    "admission_network": cases.admission_network,
}
# Cases that also write a detailed table of their own to DIR (and take the agent counts).
DETAILED = {"rendezvous_scale": cases.rendezvous_scale}


def _count(text: str) -> int:
    """A count of at least 1 (runs, agents): 0 would measure nothing and divide by it."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _counts(text: str) -> list[int]:
    """Comma-separated counts (``2,8,16``)."""
    return [_count(part) for part in text.split(",")]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--runs", type=_count, default=7, help="runs per measurement (median)")
    parser.add_argument("--only", choices=sorted({**CASES, **DETAILED}), action="append")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--agents",
        type=_counts,
        default=[2, 8, 16],
        help="agent counts for rendezvous_scale (default 2,8,16)",
    )
    parser.add_argument(
        "--render", action="store_true", help="re-render from --out's results.json, no runs"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.render:
        results = report.read_json(args.out / "results.json")
    else:
        compile_our_bytecode()
        results = []
        for name in args.only or [*CASES, *DETAILED]:
            sys.stderr.write(f"benchmark {name}...\n")
            if name in DETAILED:
                results.extend(DETAILED[name](args.runs, args.out, args.agents))
            else:
                results.extend(CASES[name](args.runs))
        published = args.out / "results.json"
        if args.only and args.out == DEFAULT_OUT and published.exists():
            results = report.merge(report.read_json(published), results)
        if not results:  # every case failed, each said why above
            sys.stderr.write("error: no benchmark produced a result\n")
            return 1
        meta = {**report.machine(), "runs": args.runs}
        report.write_json(results, args.out / "results.json", meta)
    table = report.markdown(results)
    (args.out / "results.md").write_text(table)
    report.plot(results, args.out / "results.png")
    if args.out == DEFAULT_OUT:  # the published results: README and docs show them
        report.update_readme(README, table)
        shutil.copyfile(args.out / "results.png", DOCS_PLOT)
    sys.stdout.write(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
