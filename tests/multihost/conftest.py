"""Test hosts in network namespaces, and elastic agents started on them.

``network``: three hosts; ``network4``: four (three training hosts and one
for the etcd server); ``network6``: six (three more for an etcd cluster).
The hosts exist only for one test; the fixture's finalizer kills every
process on them and deletes the namespaces and temp dir, also when the test
fails. Namespaces left by an earlier run killed with
-9 are swept first.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.netns import TestNetwork, netns_supported, sweep_stale
from tests.support.procs import require


def _network(count: int) -> Iterator[TestNetwork]:
    supported, reason = netns_supported()
    require(supported, reason)
    sweep_stale()
    net = TestNetwork(count=count).create()
    try:
        yield net
    finally:
        net.destroy()
        assert net.leftovers() == [], "namespaces left behind"
        assert [p.process.poll() for p in net.processes].count(None) == 0, "processes left"
        assert not net.workdir.exists(), "temp dir left behind"


@pytest.fixture
def network() -> Iterator[TestNetwork]:
    yield from _network(3)


@pytest.fixture
def network4() -> Iterator[TestNetwork]:
    yield from _network(4)


@pytest.fixture
def network6() -> Iterator[TestNetwork]:
    yield from _network(6)
