"""A real etcd server per test module, on free loopback ports with the v2 API enabled.

This directory is not named `etcd`: as a test package on sys.path it would shadow python-etcd.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.etcd_server import EtcdServer, etcd_available
from tests.support.procs import require


@pytest.fixture(scope="module")
def etcd_server() -> Iterator[EtcdServer]:
    """An etcd 3.4 server started for this module and stopped (data dir removed) after it."""
    require(etcd_available(), "etcd is not installed (scripts/setup.sh installs etcd-server)")
    server = EtcdServer().start()
    try:
        yield server
    finally:
        server.stop()
