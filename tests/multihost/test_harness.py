"""The multi-host harness leaves nothing behind, also when the test using it fails."""

from __future__ import annotations

import sys

import pytest

from tests.support.netns import HostProcess, TestNetwork, namespaces, netns_supported
from tests.support.procs import require


class Boom(Exception):
    pass


def fail_midway(net: TestNetwork, started: list[HostProcess]) -> None:
    """A test body that starts a long process on a host, checks the link, then fails."""
    with net:
        sleep = [sys.executable, "-c", "import time; time.sleep(600)"]
        started.append(net.hosts[1].start(sleep, log_name="sleeper"))
        code = f"import socket; socket.create_connection(('{net.hosts[1].address}', 9), timeout=5)"
        # Host 2 is reachable from host 1: the closed port refuses instead of timing out.
        assert "ConnectionRefusedError" in net.hosts[0].python(code).stderr
        raise Boom


def test_a_failing_test_leaves_no_namespace_process_or_temp_dir() -> None:
    supported, reason = netns_supported()
    require(supported, reason)
    net = TestNetwork(count=2)
    started: list[HostProcess] = []
    with pytest.raises(Boom):
        fail_midway(net, started)
    assert started[0].process.poll() is not None
    assert [name for name in namespaces() if name.startswith(net.prefix)] == []
    assert not net.workdir.exists()
