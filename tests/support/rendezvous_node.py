"""One rendezvous node in its own process: ``python -m tests.support.rendezvous_node JSON``.

Builds a :class:`rendezvous_di.RendezvousContainer` from the JSON settings on
the command line, joins one rendezvous through the container's handler and
prints ``{"rank", "world_size", "heard", "backend"}`` as JSON as its last line.
A real process per node, because torch's rendezvous is process-wide state.
`run_nodes` is the test's side: it starts the nodes and collects their results.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from rendezvous_di import RendezvousContainer
from tests.support.procs import REPO, clean_environ, communicate_all


def start_node(settings: dict[str, Any]) -> subprocess.Popen[str]:
    """One real process joining the rendezvous ``settings`` describe (this module's ``main``)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.rendezvous_node", json.dumps(settings)],
        env=clean_environ(),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_nodes(settings: dict[str, Any], count: int, timeout: float = 120) -> list[dict[str, Any]]:
    """``count`` real processes joining one rendezvous with ``settings``; results by rank."""
    nodes = [start_node(settings) for _ in range(count)]
    outputs = communicate_all(nodes, timeout=timeout)
    for node, (_, err) in zip(nodes, outputs, strict=True):
        assert node.returncode == 0, err[-3000:]
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    return sorted(results, key=lambda r: r["rank"])


def main() -> None:
    container = RendezvousContainer()
    container.environ.override({})
    container.config.from_dict(json.loads(sys.argv[1]))
    handler = container.handler()
    try:
        info = handler.next_rendezvous()
        # Prove the rendezvous store is shared: every node reads every other node's key.
        info.store.set(f"hello/{info.rank}", str(info.rank))
        heard = sorted(
            int(info.store.get(f"hello/{other}").decode())
            for other in range(info.world_size)
            if other != info.rank
        )
        result = {
            "rank": info.rank,
            "world_size": info.world_size,
            "heard": heard,
            "backend": handler.get_backend(),
        }
        print(json.dumps(result), flush=True)
    finally:
        container.shutdown_resources()


if __name__ == "__main__":
    main()
