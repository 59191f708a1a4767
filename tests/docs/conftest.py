"""The documentation site, built once per session for every test that reads it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.procs import run_process


@pytest.fixture(scope="session")
def site_build(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``mkdocs build --strict`` of this checkout: the finished process and the site directory."""
    site = tmp_path_factory.mktemp("site")
    done = run_process(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        env={"NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    return done, site


@pytest.fixture(scope="session")
def built_site(site_build: tuple[subprocess.CompletedProcess[str], Path]) -> Path:
    """The built site's directory; fails (rather than skips) a test when the build failed."""
    done, site = site_build
    if done.returncode != 0:
        pytest.fail(f"mkdocs build --strict failed:\n{done.stderr}")
    return site
