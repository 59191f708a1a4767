"""The platform backend's handler: torch's c10d handler under the platform's name.

Imported only when a platform handler is created, since it imports torch.
"""

from __future__ import annotations

from typing import Any

from rendezvous_di import NamedHandler

from .services import JobDirectory, RoundReport


class PlatformHandler(NamedHandler):
    """Reports each completed round to the platform's job directory."""

    def __init__(self, inner: Any, *, backend: str, job: str, directory: JobDirectory) -> None:
        super().__init__(inner, backend)
        self.job = job
        self.directory = directory

    def next_rendezvous(self) -> Any:
        info = self.inner.next_rendezvous()
        self.directory.report(RoundReport(self.job, self.backend, info.rank, info.world_size))
        return info
