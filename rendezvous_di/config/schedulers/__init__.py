"""Scheduler environments as a settings source: the values a job scheduler already gave the node.

- `table`: every scheduler by name (``SCHEDULERS``) and the ``scheduler`` choices.
- `detection`: the ``scheduler`` choice, the `Detector` the container offers as
  its ``scheduler`` provider, and where the detected layer sits (under the file).
- `slurm`: an allocation's first node, node count and job id.
- `kubeflow`: a PyTorchJob's or TrainJob's pod (its non-PET master variables).
- `hostlist`: Slurm's hostlist syntax, as ``scontrol show hostnames`` reads it.
"""

from .detection import (
    NO_SCHEDULER,
    Choice,
    Detection,
    Detector,
    SchedulerDetector,
    fixed_scheduler,
    stack,
)
from .table import SCHEDULER_ENV, SCHEDULERS, choices

__all__ = [
    "NO_SCHEDULER",
    "SCHEDULERS",
    "SCHEDULER_ENV",
    "Choice",
    "Detection",
    "Detector",
    "SchedulerDetector",
    "choices",
    "fixed_scheduler",
    "stack",
]
