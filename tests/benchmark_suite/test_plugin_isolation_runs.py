"""The plugin isolation benchmark keeps working: a short run writes its JSON and table.

No figure is asserted: speed is what the benchmark reports, not what tests decide.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.support.procs import run_process

pytestmark = pytest.mark.slow


def test_a_short_run_measures_every_side(tmp_path: Path) -> None:
    done = run_process(
        [
            *(sys.executable, "-m", "benchmarks.plugin_isolation"),
            *("--runs", "1", "--counts", "2", "--out", str(tmp_path)),
        ],
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    (row,) = json.loads((tmp_path / "plugin_isolation.json").read_text())["results"]
    assert row["plugins"] == 2
    for key in ("ours_backends_load_s", "ours_with_one_killer_s", "torch_import_and_listing_s"):
        assert row[key] > 0, key
    table = (tmp_path / "plugin_isolation.md").read_text()
    assert table == done.stdout
    assert table.splitlines()[2].startswith("| 2 |")
