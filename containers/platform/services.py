"""What the platform has before it meets rendezvous-di: settings and a directory client.

Nothing here knows the container. ``create_platform_handler`` is the creator
of the platform's own backend: torch's c10d rendezvous, with the store
endpoint looked up in the platform's job directory, the run id namespaced by
cluster, and every completed round reported back to the directory.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rendezvous_di import builtin_creator

if TYPE_CHECKING:
    from torch.distributed.elastic.rendezvous import RendezvousHandler, RendezvousParameters


@dataclass(frozen=True)
class PlatformSettings:
    """The platform's own settings (from its ``config``, not the rendezvous keys)."""

    cluster: str = "local"
    nproc_per_node: int = 2
    max_restarts: int = 0
    log_dir: str | None = None


@dataclass(frozen=True)
class RoundReport:
    """One completed rendezvous round as a node reported it to the directory."""

    job: str
    backend: str
    rank: int
    world_size: int


class JobDirectory:
    """The platform's service-discovery client: where a job's rendezvous store lives.

    A real platform asks its scheduler; this one reads a mapping of job name
    to ``host:port`` and falls back to an embedded store on a free loopback port.
    """

    def __init__(self, endpoints: Mapping[str, str] | None = None) -> None:
        self.endpoints = dict(endpoints or {})
        self.reports: list[RoundReport] = []
        self._lock = threading.Lock()

    def rendezvous_endpoint(self, job: str) -> str:
        return self.endpoints.get(job, "localhost:0")

    def report(self, report: RoundReport) -> None:
        with self._lock:
            self.reports.append(report)


def create_platform_handler(
    params: RendezvousParameters, *, directory: JobDirectory, settings: PlatformSettings
) -> RendezvousHandler:
    """The ``platform`` backend's creator: c10d, placed and named by the platform.

    ``params`` come from the rendezvous container (or torch's launcher through
    the registry bridge); ``directory`` and ``settings`` from the platform's container.
    """
    from torch.distributed.elastic.rendezvous import RendezvousParameters

    from .handler import PlatformHandler

    # The container validated and converted params.config against the options the
    # platform declared with add_backend (c10d's own: builtin_options("c10d")).
    c10d = RendezvousParameters(
        backend="c10d",
        endpoint=params.endpoint or directory.rendezvous_endpoint(params.run_id),
        run_id=f"{settings.cluster}.{params.run_id}",
        min_nodes=params.min_nodes,
        max_nodes=params.max_nodes,
        local_addr=params.local_addr,
        **params.config,
    )
    return PlatformHandler(
        builtin_creator("c10d")(c10d),
        backend=params.backend,
        job=params.run_id,
        directory=directory,
    )
