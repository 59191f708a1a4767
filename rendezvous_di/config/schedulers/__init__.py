"""Scheduler environments as a settings source: the values a job scheduler already gave the node.

- `detection`: the ``scheduler`` choice, the `Detector` the container offers as
  its ``scheduler`` provider, and where the detected layer sits (under the file).
- `slurm`: an allocation's first node, node count and job id.
- `kubeflow`: a PyTorchJob's or TrainJob's pod (its non-PET master variables).
- `hostlist`: Slurm's hostlist syntax, as ``scontrol show hostnames`` reads it.
"""

from .detection import (
    CHOICES,
    NO_SCHEDULER,
    SCHEDULER_ENV,
    Choice,
    Detection,
    Detector,
    SchedulerDetector,
    fixed_scheduler,
    stack,
)

__all__ = [
    "CHOICES",
    "NO_SCHEDULER",
    "SCHEDULER_ENV",
    "Choice",
    "Detection",
    "Detector",
    "SchedulerDetector",
    "fixed_scheduler",
    "stack",
]
