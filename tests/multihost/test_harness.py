"""The multi-host harness leaves nothing behind, also when the test using it fails."""

from __future__ import annotations

import sys

import pytest

from tests.support.netns import TestNetwork, namespaces, netns_supported
from tests.support.procs import require


class Boom(Exception):
    pass


def test_a_failing_test_leaves_no_namespace_process_or_temp_dir() -> None:
    supported, reason = netns_supported()
    require(supported, reason)
    net = TestNetwork(count=2)
    with pytest.raises(Boom), net:
        sleeper = net.hosts[1].start(
            [sys.executable, "-c", "import time; time.sleep(600)"], log_name="sleeper"
        )
        reply = net.hosts[0].python(
            f"import socket; socket.create_connection(('{net.hosts[1].address}', 9), timeout=5)"
        )
        # Host 2 is reachable from host 1 (the port is closed: refused, not timed out).
        assert "ConnectionRefusedError" in reply.stderr
        raise Boom
    assert sleeper.process.poll() is not None
    assert [name for name in namespaces() if name.startswith(net.prefix)] == []
    assert not net.workdir.exists()
