"""Loading plugins in a child process: ``rendezvous-di backends --load`` with 1 and 20 plugins.

``python -m benchmarks.plugin_isolation [--runs N] [--counts 1,20] [--out DIR]``

``backends --load`` (and ``check`` on a plugin) load plugins in one child
process that imports torch's rendezvous package once and then each plugin,
started again past a plugin that kills it (``rendezvous_di.plugins.isolation``).
The cost to compare is torch's own way of loading them: importing
``torch.distributed.elastic.rendezvous`` imports every installed plugin in
the importing process. Each plugin is its own installed distribution
(``benchmarks/plugin_site.py``: a ``.dist-info`` with one ``torchrun.handlers``
entry point and a module that imports torch's ``RendezvousHandler``).

Measured, median of ``--runs`` fresh processes, commands interleaved:

- ours: ``python -m rendezvous_di backends --load --json`` (wall time, child included);
- ours, one killer: the same with one more plugin whose import calls
  ``os._exit(3)``, loaded halfway (a second child loads the rest; with 1 plugin
  it loads last, so no second child is needed);
- torch: ``import torch.distributed.elastic.rendezvous`` and its sorted registry names.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from .measure import run_interleaved
from .plugin_site import TRIVIAL, counts_main, install

REPO = Path(__file__).resolve().parents[1]
KILLER = "import os\nos._exit(3)\n"
TORCH_LISTING = (
    "import torch.distributed.elastic.rendezvous as r; "
    "print(len(sorted(r.rendezvous_handler_registry._registry)))"
)


def _site(root: Path, count: int, killer: bool) -> Path:
    site = root / "site"
    for index in range(count):
        install(site, f"trivial{index:02d}", f"rdzv_trivial_{index}", TRIVIAL)
    if killer:  # named to sort halfway: plugins load in name order
        install(site, f"trivial{count // 2:02d}k", "rdzv_killer", KILLER)
    return site


def measure(count: int, runs: int) -> dict[str, float | int]:
    listing = [sys.executable, "-m", "rendezvous_di", "backends", "--load", "--json"]
    with (
        tempfile.TemporaryDirectory(prefix="rdzv-bench-") as plain,
        tempfile.TemporaryDirectory(prefix="rdzv-bench-") as hostile,
    ):
        site = _site(Path(plain), count, killer=False)
        killer_site = _site(Path(hostile), count, killer=True)
        # All three interleaved (each with its own site through env), so a busy spell of the
        # machine lands on every side alike.
        ours, with_killer, torch = run_interleaved(
            [
                ["env", f"PYTHONPATH={site}", *listing],
                ["env", f"PYTHONPATH={killer_site}", *listing],
                ["env", f"PYTHONPATH={site}", sys.executable, "-c", TORCH_LISTING],
            ],
            runs=runs,
            cwd=str(REPO),
        )
    return {
        "plugins": count,
        "ours_backends_load_s": ours.seconds,
        "ours_with_one_killer_s": with_killer.seconds,
        "torch_import_and_listing_s": torch.seconds,
        "ratio_vs_torch": ours.seconds / torch.seconds,
        "ratio_killer_vs_torch": with_killer.seconds / torch.seconds,
    }


def markdown(rows: list[dict[str, float | int]]) -> str:
    lines = [
        "| plugins | `backends --load --json` | + one plugin calling `os._exit(3)` "
        "| torch import (loads them all) | ours / torch | with killer / torch |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['plugins']} | {r['ours_backends_load_s'] * 1e3:.0f} ms "
            f"| {r['ours_with_one_killer_s'] * 1e3:.0f} ms "
            f"| {r['torch_import_and_listing_s'] * 1e3:.0f} ms "
            f"| {r['ratio_vs_torch']:.2f} | {r['ratio_killer_vs_torch']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    return counts_main("plugin_isolation", __doc__, "1,20", measure, markdown)


if __name__ == "__main__":
    raise SystemExit(main())
