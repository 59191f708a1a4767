"""The schedulers we read, by name: the one table the choices, detection, schema and completion use.

A scheduler is a module with `WHAT` (what a job of it is, for errors), `found`
(why this environment is one of its jobs, or None), `missing` (what is missing
for `found`) and `read` (its values as a `Layer`). Adding one is that module
plus its line in `SCHEDULERS`; ``--scheduler``'s choices, detection's order,
the settings file's JSON Schema and shell completion follow from here
(tests/scheduler/test_table.py fails when a copy disagrees).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from ..layers import Layer
from . import kubeflow, slurm


class Scheduler(Protocol):
    """What detection asks of a scheduler's module."""

    WHAT: str

    def found(self, environ: Mapping[str, str]) -> str | None: ...

    def missing(self, environ: Mapping[str, str]) -> str: ...

    def read(self, environ: Mapping[str, str], port: int | None = None) -> Layer: ...


SCHEDULERS: dict[str, Scheduler] = {"slurm": slurm, "kubeflow": kubeflow}
"""Every scheduler by name, in the order ``auto`` looks for them."""

AUTO, NONE = "auto", "none"
SCHEDULER_ENV = "RENDEZVOUS_DI_SCHEDULER"


def choices() -> tuple[str, ...]:
    """The ``scheduler`` setting's values: ``auto``, ``none``, then every scheduler's name."""
    return (AUTO, NONE, *SCHEDULERS)
