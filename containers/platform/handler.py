"""The platform backend's handler: torch's c10d handler under the platform's name.

Imported only when a platform handler is created, since it imports torch.
"""

from __future__ import annotations

from typing import Any

from rendezvous_di._torch import rendezvous_module

from .services import JobDirectory, RoundReport

_rdzv = rendezvous_module()


class PlatformHandler(_rdzv.RendezvousHandler):  # type: ignore[misc]
    """Delegates to ``inner`` and reports each completed round to the job directory."""

    def __init__(self, inner: Any, *, backend: str, job: str, directory: JobDirectory) -> None:
        self.inner = inner
        self.backend = backend
        self.job = job
        self.directory = directory

    def get_backend(self) -> str:
        return self.backend

    @property
    def use_agent_store(self) -> bool:
        return bool(self.inner.use_agent_store)

    def next_rendezvous(self) -> Any:
        info = self.inner.next_rendezvous()
        self.directory.report(RoundReport(self.job, self.backend, info.rank, info.world_size))
        return info

    def is_closed(self) -> bool:
        return bool(self.inner.is_closed())

    def set_closed(self) -> None:
        self.inner.set_closed()

    def num_nodes_waiting(self) -> int:
        return int(self.inner.num_nodes_waiting())

    def get_run_id(self) -> str:
        return str(self.inner.get_run_id())

    def shutdown(self) -> bool:
        return bool(self.inner.shutdown())
