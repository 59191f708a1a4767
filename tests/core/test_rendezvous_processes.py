"""Real rendezvous between separate processes, each taking its handler from a container."""

from __future__ import annotations

import multiprocessing as mp
from typing import Any

import pytest

from tests.support.procs import free_port

pytestmark = pytest.mark.slow


def join(settings: dict[str, Any], peer_count: int, results: Any) -> None:
    """One node: rendezvous, then prove the store is shared by exchanging keys."""
    from rendezvous_di import RendezvousContainer

    container = RendezvousContainer()
    container.environ.override({})
    container.config.from_dict(settings)
    try:
        info = container.handler().next_rendezvous()
        store = info.store
        store.set(f"hello/{info.rank}", f"from rank {info.rank}")
        heard = {
            store.get(f"hello/{other}").decode()
            for other in range(info.world_size)
            if other != info.rank
        }
        results.put((info.rank, info.world_size, sorted(heard), container.handler().get_run_id()))
        # The node hosting the store leaves last, so nobody loses it mid-read.
        if settings["conf"].get("is_host") or settings["conf"].get("rank") == 0:
            store.wait([f"bye/{r}" for r in range(1, peer_count)])
        else:
            store.set(f"bye/{info.rank}", "1")
    finally:
        container.shutdown_resources()


def run_nodes(node_settings: list[dict[str, Any]]) -> list[tuple[int, int, list[str], str]]:
    context = mp.get_context("spawn")
    results = context.Queue()
    nodes = [
        context.Process(target=join, args=(s, len(node_settings), results)) for s in node_settings
    ]
    for node in nodes:
        node.start()
    try:
        collected = [results.get(timeout=120) for _ in nodes]
        for node in nodes:
            node.join(timeout=60)
        assert [node.exitcode for node in nodes] == [0] * len(nodes)
    finally:
        for node in nodes:
            if node.is_alive():
                node.kill()
                node.join()
    return sorted(collected)


def test_two_processes_meet_through_c10d() -> None:
    endpoint = f"127.0.0.1:{free_port()}"
    common = {"backend": "c10d", "endpoint": endpoint, "run_id": "c10d-pair", "nnodes": 2}
    conf = {"join_timeout": 60, "last_call_timeout": 1}
    results = run_nodes(
        [
            {**common, "conf": {**conf, "is_host": True}},
            {**common, "conf": {**conf, "is_host": False}},
        ]
    )
    assert results == [
        (0, 2, ["from rank 1"], "c10d-pair"),
        (1, 2, ["from rank 0"], "c10d-pair"),
    ]


def test_two_processes_meet_through_static() -> None:
    endpoint = f"127.0.0.1:{free_port()}"
    common = {"backend": "static", "endpoint": endpoint, "run_id": "static-pair", "nnodes": 2}
    results = run_nodes(
        [{**common, "conf": {"rank": 0, "timeout": 60}}, {**common, "conf": {"rank": "1"}}]
    )
    assert results == [
        (0, 2, ["from rank 1"], "static-pair"),
        (1, 2, ["from rank 0"], "static-pair"),
    ]
