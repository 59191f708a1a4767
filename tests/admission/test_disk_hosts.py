"""The ``disk`` node check on network-namespace hosts: a nearly full tmpfs keeps a host out.

Host 3's TMPDIR is a real tmpfs of 8 MiB, filled to all but about half a
MiB; its agent exits 1 with one ``error:`` line naming the check and the free
space, before joining, while hosts 1 and 2 form the job and train.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.agents import finish, start_agent
from tests.support.netns import Host, TestNetwork

pytestmark = pytest.mark.slow

FAST = "last_call_timeout=1,keep_alive_interval=1,keep_alive_max_attempt=3"


@contextlib.contextmanager
def nearly_full_tmpfs(directory: Path) -> Iterator[Path]:
    """A tmpfs of 8 MiB at ``directory`` with a 7.5 MiB file in it; unmounted afterwards."""
    directory.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(directory)], check=True)
    try:
        (directory / "ballast").write_bytes(b"\0" * (15 << 19))
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False)


def test_a_host_with_a_full_tmpdir_does_not_join(network: TestNetwork) -> None:
    host1 = network.hosts[0]

    def flags(host: Host) -> list[str]:
        conf = f"{FAST},join_timeout=90,is_host={str(host is host1).lower()}"
        return [
            "--rdzv-backend",
            "c10d",
            "--rdzv-endpoint",
            f"{host1.address}:29400",
            "--rdzv-id",
            "disk",
            "--rdzv-conf",
            conf,
            "--admission",
            "disk,disk.min_free_mb=4,disk.write_mb=1,disk.min_write_mb_s=0",
        ]

    with nearly_full_tmpfs(network.workdir / "tmpfs") as full:
        agents = [
            start_agent(
                host,
                rdzv=flags(host),
                worker_args=["2"],
                env={"TMPDIR": str(full)} if host is network.hosts[2] else None,
            )
            for host in network.hosts
        ]
        sick = agents[2]
        assert finish(sick, 90, agents) == 1
        output = sick.output()
        errors = [line for line in output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, output[-3000:]
        assert errors[0].startswith("error: admission check 'disk' failed: ")
        assert f"{full}: 0.5 MiB free, below min_free_mb 4" in errors[0]
        assert "rendezvous-di: admission: disk failed" in output  # the progress line
        assert "WORKER" not in output  # it never joined
        for agent in agents[:2]:
            assert finish(agent, 90, agents) == 0, agent.output()[-3000:]
            assert "world=2 steps=2" in agent.output()
            assert "rendezvous-di: admission: disk passed" in agent.output()
