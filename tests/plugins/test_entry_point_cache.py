"""Entry points are read once per process while no ``sys.path`` directory changes.

A container per test (the pytest kit) or per job (a platform) would otherwise
read every installed distribution's metadata each time. What must never
happen is a stale answer: a distribution installed or removed while the
process runs is seen by the next read, however soon after.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from pytest_mock import MockerFixture

from rendezvous_di.plugins import entry_points as installed

GROUP = "torchrun.handlers"


def _dist(site: Path, name: str, backend: str) -> Path:
    """A minimal installed distribution: what pip leaves in site-packages."""
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{GROUP}]\n{backend} = {name}_mod:handler\n")
    return info


def _settle(site: Path) -> None:
    """Date the directory's last change a minute back, as for one installed long ago."""
    old = os.stat(site).st_mtime_ns - 60 * 10**9
    os.utime(site, ns=(old, old))


def _names() -> set[str]:
    return {ep.name for ep in installed.entry_points(GROUP)}


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The only ``sys.path`` entry, so that no other directory's change decides the cache."""
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    return tmp_path


def test_a_settled_path_is_read_once(site: Path, mocker: MockerFixture) -> None:
    _dist(site, "rdzv-cached", "cached")
    _settle(site)
    assert "cached" in _names()
    reads = mocker.spy(installed, "_read_entry_points")
    assert "cached" in _names()
    assert "cached" in _names()
    assert reads.call_count == 0


def test_a_distribution_installed_after_a_read_is_seen_by_the_next(site: Path) -> None:
    _settle(site)
    assert "late" not in _names()
    _dist(site, "rdzv-late", "late")
    assert "late" in _names()
    _settle(site)  # even once the change is old news, the kept answer is the new one
    assert "late" in _names()


def test_a_removed_distribution_is_gone_from_the_next_read(site: Path) -> None:
    info = _dist(site, "rdzv-gone", "gone")
    _settle(site)
    assert "gone" in _names()
    shutil.rmtree(info)
    assert "gone" not in _names()


def test_a_change_just_now_is_read_afresh_every_time(site: Path, mocker: MockerFixture) -> None:
    """Two changes in one clock tick leave one mtime: a fresh directory is never trusted."""
    _dist(site, "rdzv-fresh", "fresh")
    reads = mocker.spy(installed, "_read_entry_points")
    _names()
    first = reads.call_count
    _names()
    assert first > 0
    assert reads.call_count == 2 * first
