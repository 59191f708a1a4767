"""Suite-wide fixtures. Area-specific fixtures live in each area's own conftest."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

KUBERNETES = ("KUBERNETES_SERVICE_HOST",)


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
