"""The platform's launcher service: torch's elastic agent with an injected rendezvous handler.

``TrainingPlatformContainer`` wires this module, so ``launch`` receives the
rendezvous container's handler and the platform's settings. The handler is
the container's Resource: the platform creates it, and shuts it down with
``shutdown_resources()``, not the agent.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dependency_injector.wiring import Provide, inject

from .services import PlatformSettings

if TYPE_CHECKING:
    from torch.distributed.elastic.rendezvous import RendezvousHandler


class JobFailedError(RuntimeError):
    """At least one worker failed; ``failures`` maps global rank to torch's ProcessFailure."""

    def __init__(self, failures: dict[int, Any]) -> None:
        self.failures = failures
        ranks = ", ".join(str(rank) for rank in sorted(failures))
        super().__init__(f"workers failed (global ranks {ranks}): {failures}")


@inject
def launch(
    script: str,
    args: Sequence[str] = (),
    *,
    handler: RendezvousHandler = Provide["rendezvous.handler"],
    settings: PlatformSettings = Provide["settings"],
) -> dict[int, Any]:
    """Run ``script`` on ``settings.nproc_per_node`` local workers; return values by rank.

    Raises:
        JobFailedError: a worker exited with an error.
    """
    from torch.distributed.elastic.agent.server.api import WorkerSpec
    from torch.distributed.elastic.agent.server.local_elastic_agent import LocalElasticAgent
    from torch.distributed.elastic.multiprocessing import DefaultLogsSpecs

    spec = WorkerSpec(
        role="trainer",
        local_world_size=settings.nproc_per_node,
        rdzv_handler=handler,
        entrypoint=sys.executable,
        args=(script, *args),
        max_restarts=settings.max_restarts,
        monitor_interval=0.1,
    )
    agent = LocalElasticAgent(spec, logs_specs=DefaultLogsSpecs(log_dir=settings.log_dir))
    result = agent.run()
    if result.is_failed():
        raise JobFailedError(dict(result.failures))
    return dict(result.return_values)
