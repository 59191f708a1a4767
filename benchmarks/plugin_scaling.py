"""Plugin scaling: container creation and ``rendezvous-di backends`` with 0, 100, 1000 plugins.

``python -m benchmarks.plugin_scaling [--runs N] [--counts 0,100,1000] [--out DIR]``

Each plugin is its own installed distribution (a ``.dist-info`` directory with
METADATA and an ``entry_points.txt`` declaring one ``torchrun.handlers`` entry
point, plus its module) in a temporary directory put on ``PYTHONPATH``. The
metadata is written directly rather than built with pip: what is measured is
how discovery scales with installed entry points, and a thousand pip builds
would take longer than the benchmark. The functional tests build theirs with pip.

Compared, each in a fresh interpreter, median of ``--runs``:

- ours, creation: ``import rendezvous_di`` + ``RendezvousContainer()`` (discovery
  included); the creation alone is also timed inside the process;
- ours, listing: ``rendezvous-di backends --json`` (process wall time);
- torch, listing: ``import torch.distributed.elastic.rendezvous`` and the sorted
  registry names, which is how torch lists backends: it imports every plugin.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from .measure import run_command, run_interleaved
from .plugin_site import counts_main, install_many

OURS_CREATE = textwrap.dedent(
    """
    import time
    start = time.perf_counter()
    import rendezvous_di
    from rendezvous_di.container import RendezvousContainer
    imported = time.perf_counter()
    container = RendezvousContainer()
    created = time.perf_counter()
    print(imported - start, created - imported, len(container.backends.providers))
    """
)
TORCH_LISTING = textwrap.dedent(
    """
    import torch.distributed.elastic.rendezvous as rendezvous
    print(len(sorted(rendezvous.rendezvous_handler_registry._registry)))
    """
)


def install_plugins(root: Path, count: int) -> Path:
    """``count`` single-entry-point distributions in ``root/site``; returns that directory."""
    return install_many(root / "site", count)


def _medians_of_create(env: dict[str, str], runs: int) -> tuple[float, float, int]:
    imports, creations, entries = [], [], 0
    for index in range(runs + 1):
        done = subprocess.run(
            [sys.executable, "-c", OURS_CREATE],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        imported, created, count = done.stdout.split()
        entries = int(count)
        if index:  # the first run warms the page cache
            imports.append(float(imported))
            creations.append(float(created))
    return statistics.median(imports), statistics.median(creations), entries


def measure(count: int, runs: int) -> dict[str, float | int]:
    with tempfile.TemporaryDirectory(prefix="rdzv-bench-") as root:
        site = install_plugins(Path(root), count)
        env = {**os.environ, "PYTHONPATH": str(site)}
        env.pop("RENDEZVOUS_DI_DISABLE_PLUGIN_AUTOLOAD", None)
        import_s, create_s, entries = _medians_of_create(env, runs)
        create_process = run_command(
            [sys.executable, "-c", OURS_CREATE], runs=runs, env={"PYTHONPATH": str(site)}
        )
        listing, torch = run_interleaved(
            [
                [sys.executable, "-m", "rendezvous_di", "backends", "--json"],
                [sys.executable, "-c", TORCH_LISTING],
            ],
            runs=runs,
            env={"PYTHONPATH": str(site)},
        )
    return {
        "plugins": count,
        "selector_entries": entries,
        "ours_create_in_process_ms": create_s * 1e3,
        "ours_import_ms": import_s * 1e3,
        "ours_create_process_s": create_process.seconds,
        "ours_backends_cli_s": listing.seconds,
        "torch_listing_s": torch.seconds,
        "ratio_cli_vs_torch": listing.seconds / torch.seconds,
        "ratio_create_vs_torch": create_process.seconds / torch.seconds,
    }


def markdown(rows: list[dict[str, float | int]]) -> str:
    lines = [
        "| plugins | container creation (in process) | import + creation (process) "
        "| `rendezvous-di backends --json` | torch import + listing | backends / torch "
        "| creation / torch |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['plugins']} | {r['ours_create_in_process_ms']:.1f} ms "
            f"| {r['ours_create_process_s'] * 1e3:.0f} ms "
            f"| {r['ours_backends_cli_s'] * 1e3:.0f} ms | {r['torch_listing_s'] * 1e3:.0f} ms "
            f"| {r['ratio_cli_vs_torch']:.3f} | {r['ratio_create_vs_torch']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    return counts_main("plugin_scaling", __doc__, "0,100,1000", measure, markdown)


if __name__ == "__main__":
    raise SystemExit(main())
