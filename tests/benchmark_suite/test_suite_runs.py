"""The benchmark suite keeps working: a short run writes JSON, the table and the plot.

No figure is asserted: speed is what the suite reports, not what tests decide.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.support.procs import REPO, run_process


def test_a_short_run_writes_every_output_and_leaves_the_published_results_alone(
    tmp_path: Path,
) -> None:
    readme, published = REPO / "README.md", REPO / "benchmarks" / "results" / "results.md"
    readme_before, published_before = readme.read_text(), published.read_text()
    cases = ["cold_start", "memory", "resolution", "broken_plugin", "bad_input"]
    done = run_process(
        [sys.executable, "-m", "benchmarks", "--runs", "1", "--out", str(tmp_path)]
        + [arg for case in cases for arg in ("--only", case)],
        timeout=600,
    )
    assert done.returncode == 0, done.stderr

    report = json.loads((tmp_path / "results.json").read_text())
    names = [r["name"] for r in report["results"]]
    assert names[0] == "cold start: import, container, listing"
    assert "resolution on c10d defaults vs torch creating the c10d handler" in names
    assert "resolution: container.handler(), trivial plugin" in names
    assert "bad input: run --nproc-per-node 0 vs torchrun" in names
    assert all(r["ours"] > 0 and r["torch"] > 0 for r in report["results"])
    assert report["meta"]["runs"] == 1
    table = (tmp_path / "results.md").read_text()
    assert table.startswith("| benchmark |")
    assert table == done.stdout
    assert (tmp_path / "results.png").read_bytes().startswith(b"\x89PNG")
    assert readme.read_text() == readme_before
    assert published.read_text() == published_before
