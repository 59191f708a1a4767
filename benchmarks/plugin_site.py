"""Installed plugin distributions for benchmarks: ``.dist-info`` directories in a temp site dir.

The metadata is written directly (not built with pip): benchmarks measure
discovery and resolution, and a thousand pip builds would dwarf both. The
functional tests build their plugins with pip (``tests/support/plugin_dists.py``).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from .measure import compile_our_bytecode

TRIVIAL = textwrap.dedent(
    """
    from torch.distributed.elastic.rendezvous import RendezvousClosedError, RendezvousHandler


    class TrivialHandler(RendezvousHandler):
        def __init__(self, params):
            self._run_id = params.run_id

        def get_backend(self):
            return "trivial"

        def next_rendezvous(self):
            raise RendezvousClosedError("trivial")

        def is_closed(self):
            return False

        def set_closed(self):
            pass

        def num_nodes_waiting(self):
            return 0

        def get_run_id(self):
            return self._run_id

        def shutdown(self):
            return True


    def get_handler():
        return TrivialHandler
    """
)
BROKEN = textwrap.dedent(
    """
    def get_handler():
        raise RuntimeError("broken on purpose")
    """
)
UNUSED = textwrap.dedent(
    """
    def create(params):
        raise NotImplementedError


    def get_handler():
        return create
    """
)


def install(site: Path, backend: str, module: str, source: str) -> None:
    """One distribution with one ``torchrun.handlers`` entry point ``backend``."""
    site.mkdir(parents=True, exist_ok=True)
    info = site / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[torchrun.handlers]\n{backend} = {module}:get_handler\n"
    )
    (info / "RECORD").write_text("")
    (site / f"{module}.py").write_text(source)


def install_many(site: Path, count: int) -> Path:
    """``count`` distributions, each with one unused backend ``bench<i>``."""
    for index in range(count):
        install(site, f"bench{index}", f"rdzvbench_{index}", UNUSED)
    site.mkdir(parents=True, exist_ok=True)
    return site


def counts_main(
    name: str,
    doc: str | None,
    default_counts: str,
    measure: Callable[[int, int], dict[str, float | int]],
    markdown: Callable[[list[dict[str, float | int]]], str],
) -> int:
    """The command line both plugin-count benchmarks share: one row per installed-plugin
    count, written as ``results/<name>.json`` and ``.md`` and printed."""
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{name}", description=doc)
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--counts", default=default_counts, help="installed plugin counts")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    compile_our_bytecode()
    rows = []
    for count in (int(c) for c in args.counts.split(",")):
        sys.stderr.write(f"{name.replace('_', ' ')}: {count} plugins...\n")
        rows.append(measure(count, args.runs))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{name}.json").write_text(
        json.dumps({"runs": args.runs, "results": rows}, indent=2) + "\n"
    )
    table = markdown(rows)
    (args.out / f"{name}.md").write_text(table)
    sys.stdout.write(table)
    return 0
