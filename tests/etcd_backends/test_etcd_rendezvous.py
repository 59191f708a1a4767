"""2- and 3-process rendezvous through the container on a real etcd server, both etcd backends."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from typing import Any

import pytest

from tests.support.etcd_server import EtcdServer
from tests.support.procs import REPO, clean_environ, communicate_all

pytestmark = pytest.mark.slow


# Small timeouts keep a broken run short; a healthy one never waits for them.
CONF = {
    "etcd-v2": {"join_timeout": 60, "last_call_timeout": 1, "keep_alive_interval": 1},
    "etcd": {"timeout": 60, "last_call_timeout": 1},
}


def run_nodes(settings: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """Start ``count`` real processes with the same settings; return their results by rank."""
    nodes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.rendezvous_node", json.dumps(settings)],
            env=clean_environ(),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    outputs = communicate_all(nodes)
    for node, (_, err) in zip(nodes, outputs, strict=True):
        assert node.returncode == 0, err[-3000:]
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    return sorted(results, key=lambda r: r["rank"])


@pytest.mark.parametrize("backend", ["etcd-v2", "etcd"])
@pytest.mark.parametrize("count", [2, 3])
def test_processes_meet_through_real_etcd(
    etcd_server: EtcdServer, backend: str, count: int
) -> None:
    settings = {
        "backend": backend,
        "endpoint": etcd_server.endpoint,
        "run_id": f"{backend}-{count}-{uuid.uuid4().hex[:8]}",
        "nnodes": count,
        "conf": CONF[backend],
    }
    results = run_nodes(settings, count)
    assert [r["rank"] for r in results] == list(range(count))
    assert {r["world_size"] for r in results} == {count}
    assert {r["backend"] for r in results} == {backend}
    for result in results:
        assert result["heard"] == [r for r in range(count) if r != result["rank"]]
