"""Real elastic jobs for tests: the report worker and reading what each rank reported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

WORKER = Path(__file__).with_name("report_worker.py")


def read_reports(out: Path) -> list[dict[str, Any]]:
    """Every rank's report, sorted by rank."""
    reports = [json.loads(p.read_text()) for p in out.glob("rank*.json")]
    return sorted(reports, key=lambda r: int(r["rank"]))


def expected_sum(world_size: int) -> int:
    """What the all_reduce of rank+1 over ``world_size`` ranks yields."""
    return world_size * (world_size + 1) // 2
