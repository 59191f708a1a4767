"""Suite-wide fixtures. Area-specific fixtures live in each area's own conftest."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

KUBERNETES = ("KUBERNETES_SERVICE_HOST",)


@pytest.fixture(scope="session", autouse=True)
def _children_temp_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The processes tests start get a ``TMPDIR`` of this session's, removed at its end.

    torch's launcher makes ``$TMPDIR/torchelastic_*`` for every job without
    ``--log-dir`` and never removes it: plain ``torchrun`` agents in the mixed
    tests, and agents killed with SIGKILL on purpose, left about twenty a run
    in the machine's /tmp. This process keeps its own temporary directory
    (pytest's included, fixed before the variable changes); a test that
    gives a process a ``TMPDIR`` of its own still does.
    """
    tmp_path_factory.getbasetemp()
    tempfile.gettempdir()
    children = Path(tempfile.mkdtemp(prefix="rdzv-children-"))
    before = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(children)
    try:
        yield children
    finally:
        if before is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = before
        shutil.rmtree(children, ignore_errors=True)


@pytest.fixture(autouse=True)
def _no_pet_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never inherit PET_* variables, nor a scheduler's (a suite run inside a Slurm
    job or a Kubeflow pod), from the shell that runs them."""
    for name in list(os.environ):
        if name.startswith(("PET_", "RENDEZVOUS_DI_", "SLURM_")) or name in KUBERNETES:
            monkeypatch.delenv(name)
    return


@pytest.fixture
def container() -> Iterator[Any]:
    """A RendezvousContainer that ignores the PET_* environment, shut down after the test."""
    from rendezvous_di import RendezvousContainer

    container = RendezvousContainer()
    container.environ.override({})
    yield container
    container.shutdown_resources()
