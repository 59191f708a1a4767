"""Shared fixtures of the event-driven tests: a real TCPStore server, and the etcd servers
of the etcd-v3 tests (for the mixed etcd-v3 job)."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
import torch.distributed as dist

from tests.etcd_v3.conftest import etcd_v3_server

__all__ = ["etcd_v3_server", "store_server"]


@pytest.fixture
def store_server() -> Iterator[dist.TCPStore]:  # type: ignore[name-defined]
    server = dist.TCPStore(  # type: ignore[attr-defined]
        "127.0.0.1", 0, is_master=True, wait_for_workers=False, timeout=timedelta(seconds=60)
    )
    yield server
    del server
