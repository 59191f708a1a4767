"""A container whose Slurm c10d port is ``TEST_SLURM_PORT``: a real job on a free port.

Slurm's endpoint is the first node at port 29400, torchrun's convention;
tests run side by side on one machine, so a test moves the port the way a
platform would, by overriding the container's ``scheduler`` provider
(``rendezvous-di run --container tests.support.slurm_port_container:container``).
"""

from __future__ import annotations

import os

from dependency_injector import providers

from rendezvous_di import RendezvousContainer
from rendezvous_di.config.schedulers import SchedulerDetector


def container() -> RendezvousContainer:
    made = RendezvousContainer()
    port = int(os.environ["TEST_SLURM_PORT"])
    made.scheduler.override(providers.Object(SchedulerDetector(slurm_port=port)))
    return made
