"""Real plugin distributions for probing out-of-tree backends (built once per session)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.plugin_dists import build_and_install


@pytest.fixture(scope="session")
def check_plugin_sites() -> Iterator[dict[str, Path]]:
    with tempfile.TemporaryDirectory(prefix="rdzv-check-plugins-") as root:
        yield build_and_install(Path(root))


@pytest.fixture(params=[True, False], ids=["libuv", "classic"])
def tcp_store(request: pytest.FixtureRequest) -> Iterator[int]:
    """A real torch TCPStore hosted on loopback (both server implementations); its port."""
    from datetime import timedelta

    from torch.distributed import TCPStore

    store = TCPStore(
        "127.0.0.1",
        0,
        is_master=True,
        wait_for_workers=False,
        timeout=timedelta(seconds=30),
        use_libuv=request.param,
    )
    yield int(store.port)
    del store
