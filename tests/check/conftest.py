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
